"""Tables as files: every web table downloads as CSV and Parquet with ISO 8601 times, the same
masking as its page, and an audited export; the encoder's rules on their own."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from reachwatch.errors import UsageError
from reachwatch.service import audit, downloads
from reachwatch.service.store_access import Store
from reachwatch.web.app import create_app
from tests.web_fixtures import log_in


class Row(msgspec.Struct, kw_only=True):
    id: str
    created_at_us: int | None
    until_us: int
    kinds: list[str]
    score: float | None


ROWS = [
    Row(id="=cmd()", created_at_us=1_760_000_000_123_456, until_us=2**62, kinds=["like", "quote"], score=0.5),
    Row(id="b", created_at_us=None, until_us=1_760_000_000_000_000, kinds=[], score=None),
]


def test_csv_times_are_iso_and_nothing_is_a_sentinel_or_a_formula() -> None:
    found = downloads.encode(ROWS, "csv", "t")
    assert (found.filename, found.media_type) == ("t.csv", "text/csv; charset=utf-8")
    header, first, second = list(csv.reader(io.StringIO(found.body.decode())))
    assert header == ["id", "created_at", "until", "kinds", "score"]
    assert first == ["'=cmd()", "2025-10-09T08:53:20.123456Z", "", '["like","quote"]', "0.5"]
    assert second == ["b", "", "2025-10-09T08:53:20.000000Z", "[]", ""]


def test_parquet_has_utc_timestamps_and_the_same_cells() -> None:
    found = downloads.encode(ROWS, "parquet", "t")
    table = pq.read_table(io.BytesIO(found.body))
    assert table.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("until").to_pylist()[0] is None  # the open end: empty, not 2**62
    assert table.column("created_at").cast(pa.int64()).to_pylist() == [1_760_000_000_123_456, None]
    assert table.column("id").to_pylist() == ["=cmd()", "b"]  # Parquet is not a spreadsheet
    assert table.column("kinds").to_pylist() == ['["like","quote"]', "[]"]


def test_columns_can_be_chosen_and_formats_are_checked() -> None:
    chosen = downloads.encode(ROWS, "csv", "t", only=["score", "id"]).body.decode().splitlines()
    assert chosen[0] == "score,id"
    with pytest.raises(UsageError, match="csv, parquet"):
        downloads.encode(ROWS, "xlsx", "t")


@pytest.fixture(scope="module")
def client(demo_web: tuple[Store, str, str]) -> TestClient:
    logged = TestClient(create_app(demo_web[0]))
    log_in(logged, "analyst")
    return logged


def _csv(response: object) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(response.text)))  # type: ignore[attr-defined]


def _parquet(response: object) -> pa.Table:
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/vnd.apache.parquet"  # type: ignore[attr-defined]
    return pq.read_table(io.BytesIO(response.content))  # type: ignore[attr-defined]


ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
DID = re.compile(r"did:plc:[a-z2-7]+")


def test_engagers_search_and_alerts_download_as_their_pages_show_them(
    client: TestClient, demo_web: tuple[Store, str, str]
) -> None:
    from sqlalchemy import text

    from reachwatch.service import alerts

    store, trigger, _ = demo_web
    with store.connect() as conn:
        public = set(
            conn.execute(text("SELECT id FROM accounts WHERE watched OR followers >= 100000")).scalars()
        )
    q = quote(trigger, safe="")
    page = client.get(f"/post/engagers?id={q}&sort=followers").text
    assert "format=csv" in page  # the table offers its download
    rows = _csv(client.get(f"/post/engagers?id={q}&sort=followers&format=csv"))
    total = int(client.get(f"/api/v1/post/engagers?id={q}").json()["total"])
    assert len(rows) == total > 25  # every engager, not one page
    assert all(ISO.match(row["first_at"]) for row in rows)
    followers = [int(row["followers"] or 0) for row in rows]
    assert followers == sorted(followers, reverse=True)  # in the order asked for
    # Masked as on the page: ordinary engagers by pseudonym only, no DID anywhere in the file.
    body = client.get(f"/post/engagers?id={q}&format=csv").text
    assert "anon-" in body
    assert {f"bluesky:{did}" for did in DID.findall(body)} <= public  # only public accounts named
    table = _parquet(client.get(f"/post/engagers?id={q}&format=parquet"))
    assert table.num_rows == total
    assert table.schema.field("first_at").type == pa.timestamp("us", tz="UTC")

    hits = _csv(client.get("/search?q=Dana&format=csv"))
    assert len(hits) > 25
    assert all(ISO.match(hit["created_at"]) for hit in hits)
    assert {hit["text"] for hit in hits} >= {
        "Dana Whitfield is speaking at the committee hearing this afternoon"
    }
    assert _parquet(client.get("/search?q=Dana&format=parquet")).num_rows == len(hits)
    assert client.get("/search?format=csv").status_code == 400  # nothing searched for

    if not alerts.rules_text(store):
        alerts.save_rules(store, alerts.demo_rules_text(), "demo")
        alerts.evaluate_stored(store)
    listed = _csv(client.get("/alerts?status=&format=csv"))
    assert len(listed) == alerts.inbox(store, limit=500).total >= 1
    assert list(listed[0])[:4] == ["id", "severity", "status", "title"]
    assert listed[0]["reason"].startswith("by a watched account")
    assert ISO.match(listed[0]["raised_at"])
    # Each download is audited as an export of that table.
    exports = [e for e in audit.entries(store, 50, action="export") if e.actor == "analyst"]
    assert {e.detail["table"] for e in exports} >= {"engagers", "search", "alerts"}
    assert {e.detail["format"] for e in exports} == {"csv", "parquet"}

"""Tables of posts (CrowdTangle CSV exports, JSONL dumps) through declared column mappings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from reachwatch.connectors.files.mapping import load_mapping, parse_time
from reachwatch.errors import ConfigError, PayloadError
from reachwatch.model import micros_from_iso
from reachwatch.service.ingest import IngestOptions, ingest_table
from reachwatch.store.database import Store
from tests.conftest import FIXTURES

SAMPLE = FIXTURES / "crowdtangle_facebook_sample.csv"


def rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    with store.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def test_crowdtangle_facebook_export(store: Store) -> None:
    report = ingest_table(store, SAMPLE, load_mapping("crowdtangle-facebook"), IngestOptions())
    assert report.events == 2
    assert report.quarantined == 2  # the broken count and the row with no id, kept with their bytes
    posts = dict(rows(store, "SELECT id, text FROM posts ORDER BY id"))
    assert posts["facebook:1234567890"] == "Dana Whitfield should be jailed"
    assert posts["facebook:1234567891"] == "<script>alert(1)</script> read this"  # kept as text, verbatim
    counts = rows(
        store, "SELECT reposts, replies, likes FROM metric_snapshots WHERE post_id = 'facebook:1234567890'"
    )
    assert counts == [(1245, 2100, 9000)]  # "1,245" read as a number
    created = rows(store, "SELECT created_at_us FROM posts WHERE id = 'facebook:1234567890'")[0][0]
    assert created == micros_from_iso("2024-03-04T15:00:00+00:00")  # 10:00 EST
    followers = rows(store, "SELECT followers FROM accounts WHERE id = 'facebook:100044000000001'")
    assert followers == [(1_450_000,)]
    reasons = sorted(reason.split(":")[0] for (reason,) in rows(store, "SELECT reason FROM quarantine"))
    assert reasons == ["invalid-value", "missing-field"]


def test_a_table_resumes_after_its_last_committed_row(sqlite_store: Store) -> None:
    mapping = load_mapping("crowdtangle-facebook")
    ingest_table(sqlite_store, SAMPLE, mapping, IngestOptions(batch_size=1))
    again = ingest_table(sqlite_store, SAMPLE, mapping, IngestOptions())
    assert again.resumed_from == 4
    assert again.lines == 0


def test_a_custom_mapping_reads_nested_jsonl(sqlite_store: Store, tmp_path: Path) -> None:
    mapping_file = tmp_path / "mapping.toml"
    mapping_file.write_text(
        'name = "dump"\nplatform = "telegram"\nid = "msg.id"\nauthor_id = "channel.id"\n'
        'author_handle = "channel.username"\ncreated_at = "date"\ntext = ["msg.text"]\n'
        'views = "stats.views"\nreposts = "stats.forwards"\n'
    )
    table = tmp_path / "dump.jsonl"
    table.write_text(
        '{"msg": {"id": 7, "text": "hello"}, "channel": {"id": "c1", "username": "news"}, '
        '"date": "2024-05-01T12:00:00Z", "stats": {"views": 1500, "forwards": 12}}\n'
        '{"msg": {"id": 8}, "channel": {"id": "c1"}, "date": "yesterday"}\n'
    )
    report = ingest_table(sqlite_store, table, load_mapping(str(mapping_file)), IngestOptions())
    assert report.events == 1
    assert report.quarantined == 1
    assert rows(sqlite_store, "SELECT views, reposts FROM metric_snapshots") == [(1500, 12)]
    assert rows(sqlite_store, "SELECT handle FROM accounts WHERE id = 'telegram:c1'") == [("news",)]


def test_mapping_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="preset"):
        load_mapping("no-such-mapping")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nid = "a"\nauthor_id = "b"\ncreated_at = "c"\nfollowerz = "d"\n')
    with pytest.raises(ConfigError, match="followerz"):
        load_mapping(str(bad))


def test_times_in_the_forms_exports_use() -> None:
    assert parse_time("2024-03-04 10:00:00 EST", None) == micros_from_iso("2024-03-04T15:00:00Z")
    assert parse_time("2024-03-04T10:00:00Z", None) == micros_from_iso("2024-03-04T10:00:00Z")
    assert parse_time("04/03/2024 10:00", "%d/%m/%Y %H:%M") == micros_from_iso("2024-03-04T10:00:00Z")
    with pytest.raises(PayloadError):
        parse_time("last Tuesday", None)

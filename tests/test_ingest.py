"""The ingest pipeline end to end: bad input quarantined with its bytes, duplicates absorbed, resume."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import store_fingerprint
from reachwatch.errors import StoreDataError, UsageError
from reachwatch.model import WriteBatch
from reachwatch.service import quarantine
from reachwatch.service.ingest import IngestOptions, IngestProgress, ingest_file, ingest_stream
from reachwatch.store import queries
from reachwatch.store.database import Store, WriteResult

POST_URI = "at://did:plc:author/app.bsky.feed.post/3aaa"


def commit(did: str, time_us: int, collection: str, rkey: str, record: dict[str, object] | None) -> bytes:
    body: dict[str, object] = {
        "rev": f"3r{rkey}",
        "operation": "create" if record else "delete",
        "collection": collection,
        "rkey": rkey,
    }
    if record is not None:
        body["record"] = {"$type": collection, **record}
        body["cid"] = "bafyreiexample"
    return json.dumps({"did": did, "time_us": time_us, "kind": "commit", "commit": body}).encode()


def post_line(
    text: str = "Minister Whitfield should be jailed", time_us: int = 1_700_000_000_000_000
) -> bytes:
    return commit(
        "did:plc:author",
        time_us,
        "app.bsky.feed.post",
        "3aaa",
        {"text": text, "createdAt": "2023-11-14T22:13:00.000Z"},
    )


def like_line(n: int) -> bytes:
    return commit(
        f"did:plc:fan{n}",
        1_700_000_100_000_000 + n,
        "app.bsky.feed.like",
        f"3l{n}",
        {"createdAt": "2023-11-14T22:15:00.000Z", "subject": {"uri": POST_URI, "cid": "bafy"}},
    )


BAD_LINES = {
    "invalid-json": b"{this is not json",
    "wrong-type": b'{"did": "did:plc:a", "time_us": "yesterday", "kind": "commit"}',
    "unknown-kind": b'{"did": "did:plc:a", "time_us": 1, "kind": "telepathy"}',
    "too-large": commit(
        "did:plc:big",
        1,
        "app.bsky.feed.post",
        "3big",
        {"text": "x" * 1_100_000, "createdAt": "2023-11-14T22:13:00.000Z"},
    ),
    "invalid-utf8": b'{"did": "did:plc:\xc3\x28", "time_us": 1, "kind": "identity"}',
    "truncated": b'{"did": "did:plc:a", "time_us": 1, "kind": "comm',
}


def write_file(path: Path, lines: list[bytes], final_newline: bool = True) -> Path:
    path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline else b""))
    return path


def test_full_pipeline_on_both_backends(store: Store, tmp_path: Path, golden_lines: list[bytes]) -> None:
    path = write_file(tmp_path / "golden.jsonl", golden_lines)
    report = ingest_file(store, path, IngestOptions(batch_size=3))
    assert (report.lines, report.events, report.quarantined, report.duplicates) == (10, 10, 0, 0)
    stats = queries.stats(store)
    assert stats.raw_events == 10
    assert stats.posts == 1
    assert stats.engagements == {"like": 1, "repost": 1, "reply": 1}
    assert stats.follows == 1
    again = ingest_file(store, path, IngestOptions(resume=False))
    assert (again.events, again.duplicates) == (0, 10)
    assert queries.stats(store).raw_events == 10


def test_every_kind_of_bad_line_is_quarantined_with_its_bytes_and_ingest_goes_on(
    sqlite_store: Store, tmp_path: Path
) -> None:
    good = [post_line(), like_line(1), like_line(2)]
    lines = [good[0], *BAD_LINES.values(), b"", b"   ", good[1], good[2]]
    # the truncated line is last, without its newline, as when a writer died mid-line
    lines.append(lines.pop(lines.index(BAD_LINES["truncated"])))
    path = write_file(tmp_path / "mixed.jsonl", lines, final_newline=False)
    report = ingest_file(sqlite_store, path, IngestOptions(batch_size=4))
    assert report.events == 3
    assert report.quarantined == len(BAD_LINES)
    items = quarantine.list_items(sqlite_store, "open", limit=50)
    assert {item.reason.split(":")[0] for item in items} == set(BAD_LINES)
    by_code = {item.reason.split(":")[0]: item for item in items}
    for code, raw in BAD_LINES.items():
        assert by_code[code].payload == raw, code
        assert by_code[code].position
        assert by_code[code].position.startswith("line ")
    assert queries.post_counts(sqlite_store, "bluesky:" + POST_URI).likes == 2


def test_duplicates_and_out_of_order_events(sqlite_store: Store, tmp_path: Path) -> None:
    delete = commit("did:plc:fan1", 1_700_000_300_000_000, "app.bsky.feed.like", "3l1", None)
    # like before its post, the same like twice, a delete before... and after its like
    lines = [like_line(1), like_line(2), like_line(1), post_line(), delete, like_line(2)]
    report = ingest_file(sqlite_store, write_file(tmp_path / "dup.jsonl", lines), IngestOptions(batch_size=2))
    assert report.duplicates == 2
    assert report.events == 4
    counts = queries.post_counts(sqlite_store, "bluesky:" + POST_URI)
    assert counts.likes == 1  # fan1's like was deleted
    assert queries.stats(sqlite_store).raw_events == 4


def test_resume_continues_after_the_last_committed_line(sqlite_store: Store, tmp_path: Path) -> None:
    path = write_file(tmp_path / "grow.jsonl", [post_line(), like_line(1)])
    first = ingest_file(sqlite_store, path, IngestOptions())
    assert (first.resumed_from, first.lines) == (0, 2)
    with path.open("ab") as handle:
        handle.write(like_line(2) + b"\n" + like_line(3) + b"\n")
    second = ingest_file(sqlite_store, path, IngestOptions())
    assert second.resumed_from == first.resumed_from + len(post_line()) + len(like_line(1)) + 2
    assert (second.lines, second.events, second.duplicates) == (2, 2, 0)
    # a different file at the same path starts from the beginning again
    write_file(path, [like_line(4), post_line()])
    third = ingest_file(sqlite_store, path, IngestOptions())
    assert (third.resumed_from, third.lines, third.events, third.duplicates) == (0, 2, 1, 1)


def test_progress_reports_each_committed_batch(sqlite_store: Store, tmp_path: Path) -> None:
    path = write_file(tmp_path / "p.jsonl", [post_line(), *(like_line(n) for n in range(5))])
    updates: list[IngestProgress] = []
    ingest_file(sqlite_store, path, IngestOptions(batch_size=2), updates.append)
    assert [update.lines for update in updates] == [2, 4, 6]
    assert updates[-1].position == path.stat().st_size == updates[-1].total


def test_stdin_stream_ingest(sqlite_store: Store) -> None:
    stream = io.BytesIO(post_line() + b"\n" + like_line(7) + b"\nnot json\n")
    report = ingest_stream(sqlite_store, stream, "stdin", IngestOptions())
    assert (report.events, report.quarantined) == (2, 1)


def test_missing_file_is_a_usage_error(sqlite_store: Store, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        ingest_file(sqlite_store, tmp_path / "absent.jsonl", IngestOptions())


def test_retry_resolves_what_now_passes_and_keeps_what_does_not(sqlite_store: Store, tmp_path: Path) -> None:
    big = post_line("y" * 3_000)
    path = write_file(tmp_path / "q.jsonl", [big, b"{broken"])
    report = ingest_file(sqlite_store, path, IngestOptions(max_payload_bytes=2_048))
    assert report.quarantined == 2
    result = quarantine.retry(sqlite_store, None, max_payload_bytes=1_048_576)
    assert len(result.resolved) == 1
    assert len(result.failed) == 1
    (failed_id,) = result.failed
    assert quarantine.show(sqlite_store, failed_id).attempts == 1
    assert queries.stats(sqlite_store).posts == 1
    assert queries.stats(sqlite_store).quarantine_resolved == 1
    again = quarantine.retry(sqlite_store, [*result.resolved, failed_id])
    assert again.skipped == result.resolved
    assert list(again.failed) == [failed_id]


class RefusingStore(Store):
    """A store whose database refuses any batch holding a poisoned payload (like a constraint would)."""

    def write_batch(self, batch: WriteBatch) -> WriteResult:
        if any(b"POISON" in event.raw.payload for event in batch.events):
            raise StoreDataError("value refused by the database")
        return super().write_batch(batch)


def test_a_row_the_database_refuses_is_quarantined_and_its_batch_still_lands(tmp_path: Path) -> None:
    base = Store.open(str(tmp_path / "r.db"))
    store = RefusingStore(base.engine)
    lines = [like_line(1), post_line("POISON pill"), like_line(2)]
    path = write_file(tmp_path / "poison.jsonl", lines)
    report = ingest_file(store, path, IngestOptions(batch_size=10))
    assert (report.events, report.quarantined) == (2, 1)
    (item,) = quarantine.list_items(store)
    assert item.reason.startswith("store-refused")
    assert item.payload == lines[1]
    assert store.get_cursor(report.source) is not None


SCENARIO_LINES: list[bytes] = []


def _scenario_sample() -> list[bytes]:
    """Every 40th line of a small scenario: posts, likes, reposts, deletions, captures, canonical records."""
    if not SCENARIO_LINES:
        from reachwatch.scenario.generator import ScenarioConfig, build_scenario

        lines, _ = build_scenario(
            ScenarioConfig(seed=2, baseline_days=4, population=300, coordinated=10, observe_hours=12)
        )
        SCENARIO_LINES.extend(lines[:2] + lines[2::40])
    return SCENARIO_LINES


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_order_and_any_repetition_give_the_same_store(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    lines = _scenario_sample()
    folder = tmp_path_factory.mktemp("order")
    reference = Store.open(str(folder / "in-order.db"))
    ingest_file(
        reference,
        write_file(folder / "in-order.jsonl", lines),
        IngestOptions(batch_size=50, trusted_records=True),
    )
    expected = store_fingerprint(reference)
    reference.close()

    shuffled = data.draw(st.permutations(lines))
    repeats = data.draw(st.lists(st.sampled_from(lines), max_size=40))
    batch_size = data.draw(st.integers(min_value=1, max_value=120))
    store = Store.open(str(folder / "shuffled.db"))
    report = ingest_file(
        store,
        write_file(folder / "shuffled.jsonl", [*shuffled, *repeats]),
        IngestOptions(batch_size=batch_size, trusted_records=True),
    )
    assert report.duplicates == len(repeats)
    assert store_fingerprint(store) == expected
    store.close()


def test_a_pretty_printed_json_file_is_read_as_its_payloads(tmp_path: Path) -> None:
    """One JSON document over many lines (an array of payloads, or one object) is read whole, not
    quarantined line by line."""
    import json

    from reachwatch.service.ingest import IngestOptions, ingest_file
    from reachwatch.store.database import Store

    fixtures = Path(__file__).parent / "fixtures"
    golden = [json.loads(line) for line in (fixtures / "jetstream_golden_v1.jsonl").read_text().splitlines()]
    array = tmp_path / "events.json"
    array.write_text(json.dumps(golden, indent=2))
    single = tmp_path / "one.json"
    single.write_text(json.dumps(golden[0], indent=2))
    store = Store.open(str(tmp_path / "s.db"))
    try:
        found = ingest_file(store, array, IngestOptions())
        assert (found.events + found.duplicates, found.quarantined) == (len(golden), 0)
        again = ingest_file(store, single, IngestOptions())
        assert (again.events, again.duplicates, again.quarantined) == (0, 1, 0)
    finally:
        store.close()


def test_records_that_rewrite_the_configuration_need_trusted_records(tmp_path: Path) -> None:
    """A file's canonical person, enrichment or watched-account records would rewrite the registry,
    harm results and who is watched: quarantined with the reason unless --trusted-records."""
    import io

    import msgspec

    from reachwatch.model import Account, Enrichment, Person
    from reachwatch.service import people
    from reachwatch.service.ingest import IngestOptions, ingest_stream
    from reachwatch.store.database import Store

    records = [
        (Person(id="fake-person", name="Someone Else"), "person"),
        (
            Enrichment(
                post_id="bluesky:at://did:plc:a/app.bsky.feed.post/1",
                enricher="harm",
                version="x",
                enriched_at_us=1,
                result={"flagged": []},
            ),
            "enrichment",
        ),
        (Account(id="bluesky:did:plc:sneaky", platform="bluesky", watched=True), "account"),
    ]
    data = b"".join(
        msgspec.json.encode(msgspec.structs.asdict(r) | {"type": kind}) + b"\n" for r, kind in records
    )
    store = Store.open(str(tmp_path / "s.db"))
    try:
        refused = ingest_stream(store, io.BytesIO(data), "file", IngestOptions())
        assert (refused.events, refused.quarantined) == (0, 3)
        assert people.list_people(store) == []
        trusted = ingest_stream(store, io.BytesIO(data), "file", IngestOptions(trusted_records=True))
        assert trusted.events == 3
        assert [p.id for p in people.list_people(store)] == ["fake-person"]
    finally:
        store.close()

"""Bare API responses (saved without an envelope) ingested with `--as ENDPOINT`: wrapped with
provenance by the tool, the body kept byte for byte, on both stores; wrong input refused with
what to type; a broken line quarantined with its bytes."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from reachwatch.cli.main import app as cli
from reachwatch.errors import UsageError
from reachwatch.service import quarantine
from reachwatch.service.ingest import BareOptions, IngestOptions, bare_endpoints, ingest_bare, wrap_bare
from reachwatch.store import queries
from reachwatch.store.database import Store

THREAD = Path(__file__).parent / "fixtures" / "bare" / "app.bsky.feed.getPostThread.json"
POST = "bluesky:at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kaheyt6vpc22"
MASTODON = Path(__file__).resolve().parents[2] / "shared" / "data" / "payloads" / "mastodon" / "docs_examples"


def test_the_endpoints_every_platform_reads() -> None:
    known = bare_endpoints()
    some = {"app.bsky.feed.getPostThread", "app.bsky.feed.getLikes", "mastodon:statuses", "x:tweets"}
    assert some <= set(known)
    assert known["mastodon:context"] == ("mastodon.rest", "context")


def test_a_bare_thread_is_wrapped_and_ingested(store: Store, tmp_path: Path) -> None:
    body = THREAD.read_bytes()
    wrapped = wrap_bare(body, BareOptions(endpoint="app.bsky.feed.getPostThread"), 1_790_000_000_000_000)
    (one,) = wrapped
    line = msgspec.json.decode(one)
    assert line["__reachwatch"]["nsid"] == "app.bsky.feed.getPostThread"
    assert line["__reachwatch"]["retrieved_at"].startswith("2026-09-21")
    assert body.strip() in one  # the response's bytes as saved, pretty-printing and all
    report = ingest_bare(store, THREAD, BareOptions(endpoint="app.bsky.feed.getPostThread"), IngestOptions())
    assert (report.events, report.quarantined) == (1, 0)
    assert report.records >= 2  # the post and its author at least
    (hit,) = queries.search(store, "from:bluesky:did:plc:kvwvcn5iqfooopmyzvb4qzba")
    assert hit.id == POST
    again = ingest_bare(store, THREAD, BareOptions(endpoint="app.bsky.feed.getPostThread"), IngestOptions())
    assert again.events == 0  # the same response again adds nothing


def test_wrong_input_is_refused_saying_what_to_type(store: Store, tmp_path: Path) -> None:
    with pytest.raises(
        UsageError, match=r"not an endpoint reachwatch reads: use one of .*app\.bsky\.feed\.getLikes"
    ):
        wrap_bare(b"{}", BareOptions(endpoint="app.bsky.feed.getTimelineX"), 0)
    with pytest.raises(UsageError, match="needs --instance HOST"):
        wrap_bare(b"{}", BareOptions(endpoint="mastodon:statuses"), 0)
    with pytest.raises(UsageError, match="needs --param status=ID"):
        wrap_bare(b"[]", BareOptions(endpoint="mastodon:favourited_by", instance="mastodon.social"), 0)
    with pytest.raises(UsageError, match="needs --param tweet=ID"):
        wrap_bare(b"{}", BareOptions(endpoint="x:liking_users"), 0)
    with pytest.raises(UsageError, match="is not a file"):
        ingest_bare(store, tmp_path / "nope.json", BareOptions(endpoint="x:tweets"), IngestOptions())


def test_responses_one_per_line_and_a_broken_one_kept(store: Store, tmp_path: Path) -> None:
    compact = msgspec.json.encode(msgspec.json.decode(THREAD.read_bytes()))
    saved = tmp_path / "threads.jsonl"
    saved.write_bytes(compact + b"\n" + b'{"thread": {"post": trunc\n')
    os.utime(saved, (1_790_000_000, 1_790_000_000))
    report = ingest_bare(store, saved, BareOptions(endpoint="app.bsky.feed.getPostThread"), IngestOptions())
    assert (report.events, report.quarantined) == (1, 1)
    (kept,) = quarantine.list_items(store)
    assert b'{"thread": {"post": trunc' in kept.payload  # the bytes as saved, inside their envelope
    assert kept.source == f"file:{saved}"


@pytest.mark.skipif(not MASTODON.is_dir(), reason="../shared/data/payloads/mastodon is not on this machine")
def test_a_bare_mastodon_status_from_the_docs(store: Store) -> None:
    bare = BareOptions(endpoint="mastodon:status", instance="mastodon.social")
    report = ingest_bare(store, MASTODON / "entity_Status.json", bare, IngestOptions())
    assert (report.events, report.quarantined) == (1, 0)
    assert queries.search(store, "platform:mastodon")


def test_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "bare.db"
    runner = CliRunner()
    done = runner.invoke(
        cli, ["ingest", str(THREAD), "--as", "app.bsky.feed.getPostThread", "--db", str(db), "--create",
              "--no-enrich", "--retrieved-at", "2026-10-13T18:00:00Z"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "1 new events" in done.output.replace(",", "")
    wrong = runner.invoke(cli, ["ingest", str(THREAD), "--as", "mastodon:status", "--db", str(db)])
    assert isinstance(wrong.exception, UsageError)  # `reachwatch` (cli.main.run) exits 2 with its message
    assert "needs --instance HOST" in str(wrong.exception)
    bad_param = runner.invoke(
        cli, ["ingest", str(THREAD), "--as", "x:liking_users", "--param", "tweet", "--db", str(db)]
    )
    assert "write KEY=VALUE" in str(bad_param.exception)

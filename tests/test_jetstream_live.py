"""The Jetstream live client against a local replay server that disconnects, garbles and skips."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import msgspec
import pytest
import zstandard
from sqlalchemy import text

from reachwatch.connectors.base import Backoff, Stopper
from reachwatch.connectors.bluesky.stream import JetstreamOptions, JetstreamSource
from reachwatch.enrich.mentions import MentionMatcher
from reachwatch.errors import ConfigError
from reachwatch.scenario.filler import iter_filler
from reachwatch.scenario.generator import ScenarioConfig, build_scenario
from reachwatch.service.pipeline import Pipeline, PipelineOptions
from reachwatch.service.tracking import MENTIONS_PERSON, KeepPolicy
from reachwatch.store import queries
from reachwatch.store.database import Store
from tests.fakes.jetstream import FakeJetstream, Faults

START_US = 1_780_000_000_000_000


def filler(count: int) -> list[bytes]:
    return [line for _, line in iter_filler(3, START_US, START_US + count * 50_000, count)]


def raw_count(store: Store) -> int:
    return queries.stats(store).raw_events


def run_until(
    store: Store,
    source: JetstreamSource,
    done: int,
    *,
    policies: dict[str, KeepPolicy] | None = None,
    timeout_s: float = 30.0,
) -> dict[str, object]:
    """Run the pipeline until the store holds `done` raw events (or the timeout), then stop."""
    stopper = Stopper()
    pipeline = Pipeline(store, PipelineOptions(batch_size=200, flush_interval_s=0.05), policies=policies)

    def watch() -> None:
        ends = time.monotonic() + timeout_s
        while time.monotonic() < ends and not stopper.stopped:
            if raw_count(store) >= done:
                break
            time.sleep(0.05)
        stopper.stop()

    reports = pipeline.run([source], stopper, workers=[watch])
    return {name: msgspec.structs.asdict(report) for name, report in reports.items()}


def fast_source(url: str, **options: object) -> JetstreamSource:
    return JetstreamSource(
        JetstreamOptions(url=url, rewind_s=1.0, **options),  # type: ignore[arg-type]
        backoff=Backoff(base=0.02, cap=0.1),
    )


def test_disconnects_and_malformed_frames_lose_and_duplicate_nothing(store: Store) -> None:
    events = filler(2_000)
    fake = FakeJetstream(events, Faults(disconnect_after=[300, 700], malformed_every=250))
    with fake.running() as url:
        source = fast_source(url)
        reports = run_until(store, source, 2_000)
    assert raw_count(store) == 2_000  # every event once, none twice
    assert source.stats.connects == 3
    assert source.stats.disconnects == 2
    report = reports["bluesky.jetstream"]
    assert report["duplicates"] > 0  # the rewind replayed events, and they were absorbed
    assert fake.malformed_sent >= 5
    # every garbage frame was kept (replayed ones too: a quarantine is per frame received)
    assert queries.stats(store).quarantine_open == fake.malformed_sent
    assert all("cursor=" in path for path in fake.connections[1:])


def test_restart_resumes_from_the_stored_cursor(sqlite_store: Store) -> None:
    events = filler(1_500)
    # Paced, so the first run is stopped well before the end even on a loaded machine.
    fake = FakeJetstream(events, Faults(slow_s=0.001))
    with fake.running() as url:
        run_until(sqlite_store, fast_source(url), 600)
        first = raw_count(sqlite_store)
        stored_cursor = sqlite_store.get_cursor("bluesky.jetstream")
        assert stored_cursor is not None
        run_until(sqlite_store, fast_source(url), 1_500)
    assert first >= 600
    assert raw_count(sqlite_store) == 1_500
    resumed = fake.connections[1]
    assert f"cursor={int(stored_cursor) - 1_000_000}" in resumed  # the stored cursor less the rewind


def test_a_cursor_gap_is_noticed_and_reported(sqlite_store: Store) -> None:
    events = filler(1_000)
    fake = FakeJetstream(events, Faults(disconnect_after=[400], gap_on_reconnect_us=10_000_000))
    with fake.running() as url:
        source = fast_source(url)
        run_until(sqlite_store, source, 1_000, timeout_s=4)
    assert source.stats.gaps == 1
    assert 400 <= raw_count(sqlite_store) < 1_000  # what the server no longer had is not invented


def test_zstd_frames_with_the_servers_dictionary(sqlite_store: Store, tmp_path: Path) -> None:
    events = filler(800)
    dictionary = zstandard.train_dictionary(8_192, events).as_bytes()
    path = tmp_path / "zstd_dictionary"
    path.write_bytes(dictionary)
    fake = FakeJetstream(events, dictionary=dictionary)
    with fake.running() as url:
        source = fast_source(url, compress=True, zstd_dictionary=str(path))
        run_until(sqlite_store, source, 800)
    assert "compress=true" in fake.connections[0]
    assert raw_count(sqlite_store) == 800
    assert queries.stats(sqlite_store).quarantine_open == 0


def test_compression_without_its_dictionary_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="zstd dictionary"):
        JetstreamSource(JetstreamOptions(compress=True))


def test_filters_are_sent_to_the_server() -> None:
    source = JetstreamSource(JetstreamOptions(url="ws://x/subscribe", dids=["did:plc:a"]))
    url = source.subscribe_url(123)
    assert "wantedCollections=app.bsky.feed.post" in url
    assert "wantedDids=did%3Aplc%3Aa" in url
    assert "cursor=123" in url


def test_unfiltered_stream_keeps_watched_posts_their_engagers_and_mentions(sqlite_store: Store) -> None:
    lines, truth = build_scenario(ScenarioConfig(population=400, baseline_days=3, observe_hours=6))
    jetstream = [line for line in lines if line.startswith(b'{"did"')]
    noise = filler(1_500)
    merged = sorted(jetstream + noise, key=lambda line: msgspec.json.decode(line)["time_us"])
    policy = KeepPolicy({truth.watched_account_id}, MentionMatcher([truth.person]))
    fake = FakeJetstream(merged)
    with fake.running() as url:
        source = fast_source(url)
        thread_result: dict[str, object] = {}

        def run() -> None:
            thread_result.update(
                run_until(sqlite_store, source, len(merged), policies={source.name: policy}, timeout_s=8)
            )

        worker = threading.Thread(target=run)
        worker.start()
        worker.join(20)
    report = thread_result["bluesky.jetstream"]
    assert isinstance(report, dict)
    assert report["dropped"] >= 1_500  # the unrelated chatter is not stored
    with sqlite_store.connect() as conn:
        post_ids = {row[0] for row in conn.execute(text("SELECT id FROM posts WHERE created_at_us > 0"))}
        kept_rows = conn.execute(
            text("SELECT record_id, detail FROM kept WHERE reason = :r"), {"r": MENTIONS_PERSON}
        )
        kept = {(row[0], row[1]) for row in kept_rows}
        trigger_engagements = conn.execute(
            text("SELECT count(*) FROM engagements WHERE post_id = :p"), {"p": truth.trigger_post_id}
        ).scalar_one()
    assert truth.trigger_post_id in post_ids
    assert all(post in post_ids for post in truth.baseline_post_ids)
    mention_ids = {mention.id for mention in truth.mentions}
    assert mention_ids <= post_ids  # posts naming the protected person, by anyone, were kept
    assert {(mention, truth.person.id) for mention in mention_ids} <= kept
    assert trigger_engagements >= sum(truth.trigger_counts.values()) * 0.9

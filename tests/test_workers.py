"""Collectors, enrich workers and writers over a real NATS JetStream (started here if down): what
they write equals what the single process writes; killed at random instants they lose and double
nothing; a poison message becomes a dead letter in the quarantine; NATS away at start or mid-run
costs nothing once it returns."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import pytest
from sqlalchemy import text

from reachwatch.config import BusSettings
from reachwatch.connectors.base import Fetched, Stopper
from reachwatch.enrich.mentions import MentionMatcher
from reachwatch.model import Account, CanonicalRecord, Person, WriteBatch
from reachwatch.scenario.generator import ScenarioConfig
from reachwatch.service import bus, cluster, quarantine, workers
from reachwatch.service.ingest import IngestOptions, ingest_file
from reachwatch.service.pipeline import Pipeline, PipelineOptions, SourceReport
from reachwatch.service.scenario import write_generated
from reachwatch.service.tracking import KeepPolicy
from reachwatch.service.worker_metrics import serve_metrics
from reachwatch.store.database import Store
from tests.conftest import postgres_or_skip

NATS_URL = os.environ.get("REACHWATCH_TEST_NATS", "nats://127.0.0.1:4222")
NATS_SERVER = "/usr/sbin/nats-server"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_nats(port: int, store_dir: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [NATS_SERVER, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        if _reachable("127.0.0.1", port):
            return server
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"nats-server did not start on {port}")


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's NATS (JetStream) on 4222, started here if it is down; a clean skip only where
    no nats-server exists to start."""
    host, port = "127.0.0.1", int(NATS_URL.rsplit(":", 1)[1])
    started = None
    if not _reachable(host, port):
        if not Path(NATS_SERVER).exists():
            pytest.skip(f"NATS is not reachable at {NATS_URL} and {NATS_SERVER} is not installed")
        started = _start_nats(port, tmp_path_factory.mktemp("nats"))
    yield NATS_URL
    if started is not None:
        started.terminate()


def _settings(url: str, prefix: str, **more: Any) -> BusSettings:
    return BusSettings(url=url, prefix=prefix, batch_size=200, **more)


async def _drop(url: str, prefix: str) -> None:
    client = await nats.connect(url)
    js = client.jetstream()
    names = bus.Names(prefix)
    for name in [*names.streams(), f"KV_{cluster.heartbeat_bucket(names)}"]:
        with contextlib.suppress(Exception):  # never created
            await js.delete_stream(name)
    await client.close()


@pytest.fixture
def prefix(nats_url: str) -> Iterator[str]:
    """A prefix of its own, so that tests share the server but never a stream; dropped after."""
    name = f"rwt{uuid.uuid4().hex[:10]}"
    yield name
    asyncio.run(_drop(nats_url, name))


@pytest.fixture(scope="session")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,500 Jetstream lines of the demo scenario (posts, likes, reposts, quotes, replies,
    deletions), without its canonical header (people and watched accounts come from the CLI)."""
    folder = tmp_path_factory.mktemp("capture")
    full = folder / "scenario.jsonl"
    write_generated(ScenarioConfig(), 3_000, full)
    lines = [line for line in full.read_bytes().splitlines() if line.startswith(b'{"did"')][:2_500]
    out = folder / "jetstream.jsonl"
    out.write_bytes(b"\n".join(lines) + b"\n")
    return out


def _reference(capture: Path, url: str) -> dict[str, Any]:
    """The single process's result on the same capture: ingest, not enriched, into a store of its own."""
    store = Store.open(url)
    ingest_file(store, capture, IngestOptions(enrich=False, batch_size=500))
    found = _contents(store)
    store.close()
    return found


def _contents(store: Store) -> dict[str, Any]:
    with store.connect() as conn:
        return {
            "raw": sorted(r[0] for r in conn.execute(text("SELECT event_key FROM raw_events"))),
            "posts": sorted(r[0] for r in conn.execute(text("SELECT id FROM posts"))),
            "engagements": sorted(r[0] for r in conn.execute(text("SELECT id FROM engagements"))),
            "deletions": sorted(r[0] for r in conn.execute(text("SELECT id FROM deletions"))),
        }


async def _until(check: Any, timeout_s: float, every_s: float = 0.2) -> bool:
    ends = time.monotonic() + timeout_s
    while time.monotonic() < ends:
        if await check():
            return True
        await asyncio.sleep(every_s)
    return False


def test_workers_write_what_the_single_process_writes(
    nats_url: str, prefix: str, capture: Path, tmp_path: Path
) -> None:
    """Collector → two enrich workers → writer: the store holds the same raw events, posts,
    engagements and deletions as `ingest` of the same capture; metrics and health are served;
    `cluster status` sees the streams, the drained consumers and the workers."""
    expected = _reference(capture, str(tmp_path / "reference.db"))
    store = Store.open(str(tmp_path / "bus.db"))
    settings = _settings(nats_url, prefix)

    async def run() -> cluster.ClusterStatus:
        published = await workers.Collector(settings).replay(capture, "replay")
        assert published == len(expected["raw"])
        enrichers = [workers.EnrichWorker(settings, None) for _ in range(2)]
        writer = workers.WriteWorker(settings, store)
        server = serve_metrics(writer.metrics, "127.0.0.1", 0)
        tasks = [asyncio.create_task(w.run()) for w in (*enrichers, writer)]

        async def done() -> bool:
            return writer.metrics.events_in._value.get() >= published

        assert await _until(done, 60), "the writer did not see every event"
        await asyncio.sleep(2.5)  # a heartbeat round
        found = await cluster.status(settings)
        async with httpx.AsyncClient() as http:
            health = await http.get(f"http://127.0.0.1:{server.server_port}/healthz")
            metrics = await http.get(f"http://127.0.0.1:{server.server_port}/metrics")
        assert health.status_code == 200
        assert health.json()["nats"] == "connected"
        assert "reachwatch_end_to_end_seconds_count" in metrics.text
        assert "reachwatch_events_out_total" in metrics.text
        server.shutdown()
        for w in (*enrichers, writer):
            w.stop()
        await asyncio.gather(*tasks)
        return found

    found = asyncio.run(run())
    assert _contents(store) == expected
    consumers = {c.name: c for c in found.consumers}
    assert consumers[bus.ENRICH].pending == 0
    assert consumers[bus.WRITE].pending == 0
    assert {s.name for s in found.streams} == set(bus.Names(prefix).streams())
    assert sorted(w.kind for w in found.workers) == ["enrich", "enrich", "write"]
    assert all(s.discard.endswith("new") for s in found.streams)  # full: refuse, never drop
    store.close()


class Poisoned:
    """An enrichment stage that fails on one payload's post, as a model bug would."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def apply(self, batch: WriteBatch, now_us: int) -> int:
        for event in batch.events:
            if self.marker.encode() in event.raw.payload:
                raise ValueError(f"the model choked on {self.marker}")
        return 0


def test_a_poison_message_is_a_dead_letter_in_the_quarantine(
    nats_url: str, prefix: str, capture: Path, tmp_path: Path
) -> None:
    """A payload the enrich stage fails on, and a canonical message that is no write batch, go to
    the dead-letter stream with their reasons and bytes and on into the quarantine; everything
    else is written, so the stream behind them never blocks."""
    lines = capture.read_bytes().splitlines()
    poison = next(line for line in lines if b"app.bsky.feed.post" in line and b'"text"' in line)
    marker = poison.split(b'"rkey":"')[1].split(b'"')[0].decode()
    store = Store.open(str(tmp_path / "bus.db"))
    settings = _settings(nats_url, prefix)

    async def run() -> None:
        published = await workers.Collector(settings).replay(capture, "replay", limit=600)
        client = await nats.connect(nats_url)
        await client.jetstream().publish(
            bus.Names(prefix).canon, b"\x00 not msgpack", headers={bus.SOURCE: "replay"}
        )
        await client.close()
        enricher = workers.EnrichWorker(settings, Poisoned(marker))  # type: ignore[arg-type]
        writer = workers.WriteWorker(settings, store)
        tasks = [asyncio.create_task(enricher.run()), asyncio.create_task(writer.run())]

        async def done() -> bool:
            return len(
                quarantine.list_items(store, limit=10)
            ) >= 2 and writer.metrics.events_in._value.get() >= (published - 1)

        assert await _until(done, 60)
        for w in (enricher, writer):
            w.stop()
        await asyncio.gather(*tasks)

    asyncio.run(run())
    items = quarantine.list_items(store, limit=10)
    reasons = sorted(item.reason for item in items)
    assert any(r.startswith("dead letter (enrich): ValueError: the model choked on") for r in reasons), (
        reasons
    )
    assert any(r.startswith("dead letter (write): not a write batch") for r in reasons), reasons
    dead = next(item for item in items if "(enrich)" in item.reason)
    assert quarantine.show(store, dead.id).payload == poison  # the bytes as they were
    written = _contents(store)["raw"]
    assert len(written) == 600 - 1  # all but the poison
    store.close()


def _worker(kind: str, db: str, url: str, prefix: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ, "REACHWATCH_BUS__PREFIX": prefix, "REACHWATCH_BUS__ACK_WAIT_S": "3",
        "REACHWATCH_BUS__BATCH_SIZE": "100",
    }  # fmt: skip
    extra = ["--no-enrich"] if kind == "enrich" else ["--no-alerts"]
    args = [sys.executable, "-m", "reachwatch", "worker", kind, "--db", db, "--nats", url, *extra]
    return subprocess.Popen(args, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_killing_workers_mid_batch_loses_and_doubles_nothing(
    nats_url: str, prefix: str, capture: Path, tmp_path: Path, pg_url: str
) -> None:
    """Enrich workers and a writer (separate processes, PostgreSQL) are SIGKILLed at random
    instants, six times, and restarted: the store ends equal to an uninterrupted run, every raw
    event once."""
    postgres_or_skip()
    expected = _reference(capture, str(tmp_path / "reference.db"))
    Store.open(pg_url).close()  # the schema, made before workers race to make it
    settings = _settings(nats_url, prefix)
    published = asyncio.run(workers.Collector(settings).replay(capture, "replay"))
    assert published == len(expected["raw"])
    log = tmp_path / "workers.log"
    running = {kind: _worker(kind, pg_url, nats_url, prefix, log) for kind in ("enrich", "write")}
    rng = random.Random(20)
    kills = 0
    try:
        for _ in range(6):
            time.sleep(rng.uniform(1.5, 4.0))  # a random instant, mostly mid-batch
            kind = rng.choice(["enrich", "write"])
            running[kind].send_signal(signal.SIGKILL)
            running[kind].wait()
            kills += 1
            running[kind] = _worker(kind, pg_url, nats_url, prefix, log)

        async def drained() -> bool:
            found = await cluster.status(settings)
            backlog = {c.name: c.pending + c.ack_pending for c in found.consumers}
            return backlog.get(bus.ENRICH) == 0 and backlog.get(bus.WRITE) == 0

        assert asyncio.run(_until(drained, 120, every_s=1.0)), log.read_text()[-3000:]
    finally:
        for process in running.values():
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    assert kills == 6
    store = Store.open(pg_url)
    assert _contents(store) == expected
    store.close()


def test_workers_wait_for_nats_and_lose_nothing_when_it_returns(
    capture: Path, tmp_path: Path, nats_url: str
) -> None:
    """A server of its own on a free port: workers started before it say they are retrying; once
    it is up they work; the server killed mid-run and restarted on the same storage, they
    reconnect and the store ends complete."""
    if not Path(NATS_SERVER).exists():
        pytest.skip(f"{NATS_SERVER} is not installed: this test starts and kills a server of its own")
    port = _free_port()
    url = f"nats://127.0.0.1:{port}"
    storage = tmp_path / "jetstream"
    settings = _settings(url, "rwtoutage")
    store = Store.open(str(tmp_path / "bus.db"))
    expected = len(capture.read_bytes().splitlines())

    async def run() -> list[str]:
        enricher = workers.EnrichWorker(settings, None)
        writer = workers.WriteWorker(settings, store)
        tasks = [asyncio.create_task(enricher.run()), asyncio.create_task(writer.run())]
        await asyncio.sleep(2.0)
        said = [message for _, message in enricher.metrics.notes]
        server = await asyncio.to_thread(_start_nats, port, storage)
        try:
            collector = asyncio.create_task(workers.Collector(settings).replay(capture, "replay", rate=1_500))

            async def half() -> bool:
                return writer.metrics.events_in._value.get() >= 300

            assert await _until(half, 60)
            server.kill()  # mid-run: nothing acknowledged is lost, JetStream keeps it on disk
            server.wait()
            await asyncio.sleep(1.5)
            server = await asyncio.to_thread(_start_nats, port, storage)
            assert await collector == expected

            async def done() -> bool:  # the writer's counters include redeliveries: ask the store
                return len(_contents(store)["raw"]) >= expected

            assert await _until(done, 90, every_s=1.0)
        finally:
            for w in (enricher, writer):
                w.stop()
            await asyncio.gather(*tasks)
            server.terminate()
            server.wait()
        return said + [message for _, message in writer.metrics.notes]

    said = asyncio.run(run())
    assert any("not reachable" in message and "retrying" in message for message in said), said
    assert any("went away" in message for message in said), said
    assert len(_contents(store)["raw"]) == expected
    store.close()


class CaptureSource:
    """A live source over a capture, as Jetstream would give it: lines after `cursor` (time_us)
    emitted in lists, then it returns (a live stream would wait for more)."""

    name = "bluesky.jetstream"

    def __init__(self, path: Path) -> None:
        self.lines = [line for line in path.read_bytes().splitlines() if line.strip()]

    def run(self, emit: Any, stopper: Any, cursor: str | None) -> None:
        after = int(cursor) if cursor else -1
        items = [
            Fetched(source=self.name, payload=line, cursor=str(msgspec.json.decode(line)["time_us"]))
            for line in self.lines
            if msgspec.json.decode(line)["time_us"] > after
        ]
        for start in range(0, len(items), 50):
            if stopper.stopped:
                return
            emit(items[start : start + 50])


def _policy(capture: Path) -> KeepPolicy:
    """The demo's keep policy: its watched account and its protected people, from its header."""
    decoder = msgspec.json.Decoder(CanonicalRecord)
    records = [
        decoder.decode(line)
        for line in (capture.parent / "scenario.jsonl").read_bytes().splitlines()
        if line.startswith(b'{"type"')
    ]
    watched = {r.id for r in records if isinstance(r, Account) and r.watched}
    registry = [r for r in records if isinstance(r, Person)]
    assert watched
    assert registry
    return KeepPolicy(watched, MentionMatcher(registry))


def _kept(store: Store) -> list[tuple[str, str, str]]:
    with store.connect() as conn:
        rows = conn.execute(text("SELECT record_id, reason, detail FROM kept")).all()
    return sorted((r[0], r[1], r[2] or "") for r in rows)


def test_a_live_collector_on_the_bus_keeps_what_the_single_process_keeps(
    nats_url: str, prefix: str, capture: Path, tmp_path: Path
) -> None:
    """A live source through `Collector.live` (its keep policy applied in the collector) → an
    enrich worker → a writer holds exactly what `collect`'s single-process pipeline keeps from the
    same stream: the same events, posts, engagements and marks of why each was kept. Run again
    from the cursor the writer committed, the collector publishes nothing twice."""
    source = CaptureSource(capture)
    reference = Store.open(str(tmp_path / "reference.db"))
    pipeline = Pipeline(reference, PipelineOptions(enrich=False), policies={source.name: _policy(capture)})
    pipeline.run([source], Stopper())
    expected, expected_kept = _contents(reference), _kept(reference)
    reference.close()
    kept = pipeline.reports[source.name].written
    assert 0 < kept < len(source.lines)  # the policy kept some and dropped the rest
    store = Store.open(str(tmp_path / "bus.db"))
    settings = _settings(nats_url, prefix)

    async def run() -> tuple[SourceReport, SourceReport]:
        policies = {source.name: _policy(capture)}
        first = (await workers.Collector(settings).live([source], policies, {}))[source.name]
        enricher, writer = workers.EnrichWorker(settings, None), workers.WriteWorker(settings, store)
        tasks = [asyncio.create_task(w.run()) for w in (enricher, writer)]

        async def done() -> bool:
            return writer.metrics.events_in._value.get() >= first.written

        assert await _until(done, 60), "the writer did not see every kept event"
        cursors = {source.name: store.get_cursor(source.name)}
        again = await workers.Collector(settings).live([source], {source.name: _policy(capture)}, cursors)
        for w in (enricher, writer):
            w.stop()
        await asyncio.gather(*tasks)
        return first, again[source.name]

    first, again = asyncio.run(run())
    assert first.received == len(source.lines)
    assert first.written == kept
    assert first.dropped == len(source.lines) - kept
    assert _contents(store) == expected
    assert _kept(store) == expected_kept
    assert again.received == 0  # resumed after the committed cursor
    assert again.written == 0
    store.close()


def test_serve_has_health_and_metrics(tmp_path: Path) -> None:
    """The web server answers /healthz (the store reachable) and /metrics (requests by status)
    without a login, and says 503 when its store is gone."""
    from fastapi.testclient import TestClient

    from reachwatch.web.app import create_app

    store = Store.open(str(tmp_path / "web.db"))
    client = TestClient(create_app(store))
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/login").status_code == 200
    metrics = client.get("/metrics").text
    assert 'reachwatch_http_requests_total{method="GET",status="2xx"}' in metrics
    store.engine.dispose()
    (tmp_path / "web.db").unlink()
    (tmp_path / "web.db").mkdir()  # the file replaced by a folder: SQLite cannot open it
    gone = client.get("/healthz")
    assert gone.status_code == 503
    assert gone.json()["status"] == "degraded"

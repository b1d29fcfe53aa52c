"""Collectors, enrich workers and writers as separate processes over NATS JetStream (see bus.py).

- A collector publishes each payload as received, with its provenance, to the raw stream.
- Enrich workers share one durable consumer of the raw stream (a work queue): each takes a batch,
  normalises and enriches it exactly as the single process does (pipeline.prepare_batch and the
  enrichment stage), publishes the write batch to the canonical stream, and only then
  acknowledges the raw messages.
- Writers share one durable consumer of the canonical stream: each writes a batch to the store
  with its source cursor, commits, evaluates the alert rules on what it touched, and only then
  acknowledges. Writes are idempotent (event keys), so a batch delivered twice after a crash
  writes nothing the second time: at least once on the wire, exactly once in the store.
- A message that fails, or has been delivered `max_deliveries` times without being acknowledged
  (it keeps killing its worker), goes to the dead-letter stream with the reason and its bytes;
  writers file dead letters into the quarantine (`reachwatch quarantine list`). Nothing blocks
  the stream, nothing is lost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import os
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import FetchTimeoutError

from reachwatch.config import BusSettings
from reachwatch.connectors.base import Fetched, LiveSource, Stopper, now_us
from reachwatch.enrich.stage import EnrichmentStage, default_stage
from reachwatch.errors import UsageError
from reachwatch.model import IngestedEvent, QuarantineItem, WriteBatch
from reachwatch.service import bus
from reachwatch.service.alerts import AlertEngine
from reachwatch.service.cluster import Heartbeat, heartbeat_bucket
from reachwatch.service.harm_priors import stored_priors
from reachwatch.service.ingest import normalise_payload, write_resilient
from reachwatch.service.people import list_people
from reachwatch.service.pipeline import SourceReport, prepare_batch, supervise
from reachwatch.service.tracking import KeepPolicy, reason_text
from reachwatch.service.worker_metrics import WorkerMetrics
from reachwatch.store.database import Store

log = logging.getLogger(__name__)
_ENCODER = msgspec.msgpack.Encoder()
_BATCH = msgspec.msgpack.Decoder(WriteBatch)
HEARTBEAT_TTL_S = 15.0  # a worker silent this long is no longer listed
MAX_PAYLOAD_SHARE = 0.9  # a canonical message stays under this share of the server's max_payload


class Worker:
    """What every worker shares: the connection, the streams, a stop signal and its metrics."""

    kind = "worker"

    def __init__(self, settings: BusSettings, metrics: WorkerMetrics | None = None) -> None:
        self.settings = settings
        self.names = bus.names_of(settings)
        self.stopping = asyncio.Event()
        self.metrics = metrics or WorkerMetrics(self.kind)
        self.client: Client | None = None
        self.js: JetStreamContext | None = None

    def say(self, message: str) -> None:
        log.warning("%s: %s", self.kind, message)
        self.metrics.note(message)

    async def start(self) -> bool:
        """Connect (retrying until NATS answers) and make sure the streams exist."""
        self.client = await bus.connect(self.settings, self.stopping, say=self.say)
        if self.client is None:
            return False
        self.metrics.connected = lambda: self.client is not None and self.client.is_connected
        self.js = self.client.jetstream()
        await bus.ensure_streams(self.js, self.names, self.settings)
        return True

    async def close(self) -> None:
        """Close the connection; what this worker took and did not acknowledge is redelivered."""
        self.stopping.set()
        if self.client is not None and not self.client.is_closed:
            try:
                await self.client.close()
            except Exception:  # closing after a lost server must not hide why we stopped
                log.debug("close failed", exc_info=True)

    def stop(self) -> None:
        self.stopping.set()

    async def dead_letter(self, stage: str, msg: Msg | None, data: bytes, reason: str, source: str) -> None:
        """Move a message to the dead-letter stream (the reason and its bytes), then take it off its
        own stream, so that it never blocks the ones behind it."""
        assert self.js is not None
        headers = {bus.STAGE: stage, bus.REASON: reason[:2000], bus.SOURCE: source}
        if msg is not None and msg.headers and bus.PUBLISHED_US in msg.headers:
            headers[bus.PUBLISHED_US] = msg.headers[bus.PUBLISHED_US]
        await bus.publish_retrying(self.js, self.names.dead(stage), data, headers, self.stopping)
        if msg is not None:
            await msg.ack()
        self.metrics.dead_letters.labels(stage=stage).inc()
        self.say(f"dead letter from {stage}: {reason[:200]}")

    async def pull(
        self, durable: str, stream: str, subject: str, handle: Callable[[list[Msg]], Awaitable[None]]
    ) -> None:
        """Fetch batches from a shared durable consumer and hand them to `handle` until stopped."""
        assert self.js is not None
        config = bus.consumer_config(durable, self.settings, subject)
        subscription = await self.js.pull_subscribe(subject, durable=durable, stream=stream, config=config)
        while not self.stopping.is_set():
            try:
                messages = await subscription.fetch(self.settings.batch_size, timeout=1.0)
            except (FetchTimeoutError, TimeoutError):
                continue
            except Exception as exc:  # the server went away: the client reconnects; wait a moment
                self.say(f"fetch from {stream} failed ({type(exc).__name__}); retrying")
                await asyncio.sleep(0.5)
                continue
            started = time.perf_counter()
            await handle(messages)
            self.metrics.batch_seconds.observe(time.perf_counter() - started)

    async def watch_lag(self, stream: str, durable: str, every_s: float = 2.0) -> None:
        """Keep the consumer's backlog in the metrics (messages not yet delivered, and delivered
        but not acknowledged) and report in to the workers' bucket, which forgets a worker that
        stops reporting."""
        assert self.js is not None
        try:
            beats = await self.js.create_key_value(
                KeyValueConfig(bucket=heartbeat_bucket(self.names), ttl=HEARTBEAT_TTL_S)
            )
        except Exception:  # an older server, or no rights: the metrics still work
            log.info("no heartbeat bucket", exc_info=True)
            beats = None
        me = f"{worker_identity(self.kind)}.{id(self) % 10_000:04d}"  # two workers in one process
        while not self.stopping.is_set():
            try:
                info = await self.js.consumer_info(stream, durable)
                self.metrics.pending.labels(consumer=durable).set(info.num_pending or 0)
                self.metrics.ack_pending.labels(consumer=durable).set(info.num_ack_pending or 0)
                if beats is not None:
                    beat = Heartbeat(
                        kind=self.kind, at=time.time(), events_in=int(self.metrics.events_in._value.get()),
                        events_out=int(self.metrics.events_out._value.get()),
                    )  # fmt: skip
                    await beats.put(me, msgspec.json.encode(beat))
            except Exception:  # not created yet, or the server is away: the next round tells
                log.debug("consumer info for %s failed", durable, exc_info=True)
            await bus.pause(self.stopping, every_s)
        if beats is not None:
            try:
                await beats.delete(me)
            except Exception:
                log.debug("could not sign off", exc_info=True)

    def overdelivered(self, msg: Msg) -> bool:
        return msg.metadata.num_delivered > self.settings.max_deliveries


def headers_of(msg: Msg) -> dict[str, str]:
    return dict(msg.headers or {})


def messages_source(messages: list[Msg]) -> str:
    return headers_of(messages[0]).get(bus.SOURCE, "") if messages else ""


class EnrichWorker(Worker):
    """Raw payloads in, normalised and enriched write batches out."""

    kind = "enrich"

    def __init__(
        self,
        settings: BusSettings,
        stage: EnrichmentStage | None,
        *,
        max_payload_bytes: int = 1_048_576,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        super().__init__(settings, metrics)
        self.stage = stage
        self.max_payload_bytes = max_payload_bytes
        self.reports: dict[str, SourceReport] = {}

    async def run(self) -> None:
        if await self.start():
            try:
                await asyncio.gather(
                    self.pull(bus.ENRICH, self.names.raw_stream, f"{self.names.prefix}.raw.>", self.handle),
                    self.watch_lag(self.names.raw_stream, bus.ENRICH),
                )
            finally:
                await self.close()

    async def handle(self, messages: list[Msg]) -> None:
        by_source: dict[str, list[tuple[Msg, Fetched]]] = {}
        for msg in messages:
            headers = headers_of(msg)
            source = headers.get(bus.SOURCE) or msg.subject.rsplit(".", 1)[-1]
            if self.overdelivered(msg):
                why = f"delivered {msg.metadata.num_delivered} times without being processed"
                await self.dead_letter("enrich", msg, msg.data, why, source)
                continue
            fetched = Fetched(
                source=source,
                payload=msg.data,
                cursor=headers.get(bus.CURSOR),
                reason=headers.get(bus.REASON),
                error=headers.get(bus.ERROR),
            )
            by_source.setdefault(source, []).append((msg, fetched))
        self.metrics.events_in.inc(len(messages))
        for source, items in by_source.items():
            await self._one_source(source, items)

    async def _one_source(self, source: str, items: list[tuple[Msg, Fetched]]) -> None:
        received = now_us()
        report = self.reports.setdefault(source, SourceReport(source=source))
        try:
            batch = self._enriched([fetched for _, fetched in items], source, report, received)
        except Exception as exc:  # one poison payload must not sink the batch: find it alone
            log.warning("enrich failed on a batch of %d from %s (%s); one by one", len(items), source, exc)
            for msg, fetched in items:
                try:
                    single = self._enriched([fetched], source, report, received)
                except Exception as alone:
                    await self.dead_letter(
                        "enrich", msg, msg.data, f"{type(alone).__name__}: {alone}", source
                    )
                    continue
                await self._forward(single, [msg])
            return
        await self._forward(batch, [msg for msg, _ in items])

    def _enriched(self, items: list[Fetched], source: str, report: SourceReport, received: int) -> WriteBatch:
        batch = prepare_batch(
            items, source, report, received, self.max_payload_bytes, refuse_configuration=True
        )
        if self.stage is not None:
            self.stage.apply(batch, received)
        return batch

    async def _forward(self, batch: WriteBatch, messages: list[Msg]) -> None:
        """Publish the batch (split to fit the server's message size), then acknowledge its raw
        messages: a crash in between redelivers them, and the writer's event keys absorb the copy."""
        assert self.js is not None
        assert self.client is not None
        published = min((int(headers_of(msg).get(bus.PUBLISHED_US) or 0) for msg in messages), default=0)
        limit = int(self.client.max_payload * MAX_PAYLOAD_SHARE)
        for part in _fitting(batch, limit):
            headers = {bus.PUBLISHED_US: str(published), bus.SOURCE: messages_source(messages)}
            if not await bus.publish_retrying(
                self.js, self.names.canon, _ENCODER.encode(part), headers, self.stopping
            ):
                return  # stopping: nothing acknowledged, so all of it is redelivered
        for msg in messages:
            await msg.ack()
        self.metrics.events_out.inc(len(batch.events) + len(batch.quarantine))


def _fitting(batch: WriteBatch, limit: int) -> Iterator[WriteBatch]:
    """The batch as one message, or halves of it until each fits `limit` bytes."""
    if len(_ENCODER.encode(batch)) <= limit or len(batch.events) + len(batch.quarantine) <= 1:
        yield batch
        return
    half_e, half_q = len(batch.events) // 2, len(batch.quarantine) // 2
    first = WriteBatch(
        events=batch.events[:half_e], records=batch.records, quarantine=batch.quarantine[:half_q]
    )
    second = WriteBatch(
        events=batch.events[half_e:], quarantine=batch.quarantine[half_q:], cursor=batch.cursor
    )
    yield from _fitting(first, limit)
    yield from _fitting(second, limit)


class WriteWorker(Worker):
    """Write batches in, committed rows out; dead letters filed into the quarantine."""

    kind = "write"

    def __init__(
        self,
        settings: BusSettings,
        store: Store,
        *,
        alerts: AlertEngine | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        super().__init__(settings, metrics)
        self.store = store
        self.alerts = alerts

    async def run(self) -> None:
        if await self.start():
            try:
                await asyncio.gather(
                    self.pull(bus.WRITE, self.names.canon_stream, self.names.canon, self.handle),
                    self.pull(
                        bus.FILE_DEAD, self.names.dead_stream, f"{self.names.prefix}.dead.>", self.file_dead
                    ),
                    self.watch_lag(self.names.canon_stream, bus.WRITE),
                )
            finally:
                await self.close()

    async def handle(self, messages: list[Msg]) -> None:
        for msg in messages:
            source = headers_of(msg).get(bus.SOURCE, "")
            if self.overdelivered(msg):
                why = f"delivered {msg.metadata.num_delivered} times without being written"
                await self.dead_letter("write", msg, msg.data, why, source)
                continue
            try:
                batch = _BATCH.decode(msg.data)
            except msgspec.DecodeError as exc:
                await self.dead_letter("write", msg, msg.data, f"not a write batch: {exc}", source)
                continue
            received = now_us()
            written = await asyncio.to_thread(write_resilient, self.store, batch, source)
            self._after_write(batch, received)
            await msg.ack()
            published = int(headers_of(msg).get(bus.PUBLISHED_US) or 0)
            if published:
                self.metrics.latency_seconds.observe(max(now_us() - published, 0) / 1e6)
            self.metrics.events_in.inc(len(batch.events) + len(batch.quarantine))
            self.metrics.events_out.inc(written.raw_new)
            self.metrics.duplicates.inc(written.duplicates)

    def _after_write(self, batch: WriteBatch, received: int) -> None:
        if self.alerts is None:
            return
        try:
            self.alerts.on_batch(batch, received)
        except Exception:  # as in the single process: a failing rule never stops the writes
            log.exception("alert evaluation failed after a write")
            self.metrics.errors.labels(stage="alerts").inc()

    async def file_dead(self, messages: list[Msg]) -> None:
        """Each dead letter into the quarantine, with its stage and reason, bytes as they were."""
        items = []
        for msg in messages:
            headers = headers_of(msg)
            reason = (
                f"dead letter ({headers.get(bus.STAGE, '?')}): {headers.get(bus.REASON, 'no reason given')}"
            )
            items.append(
                QuarantineItem(
                    source=headers.get(bus.SOURCE, "bus"),
                    received_at_us=now_us(),
                    reason=reason,
                    payload=msg.data,
                )
            )
        await asyncio.to_thread(self.store.write_batch, WriteBatch(quarantine=items))
        for msg in messages:
            await msg.ack()


class Collector(Worker):
    """Publishes payloads to the raw stream: a replay of a JSONL file at a steady rate (a capture,
    a benchmark), or the lines of a live source."""

    kind = "collect"

    async def replay(
        self, path: Path, source: str, rate: float | None = None, *, limit: int | None = None
    ) -> int:
        """Publish each line of `path`, its byte offset as the cursor, at `rate` lines a second
        (as fast as the stream takes them when None); returns how many were published."""
        if not path.is_file():
            raise UsageError(f"No file at {path}. Give the path of a JSONL capture.")
        if not await self.start():
            return 0
        assert self.js is not None
        subject = self.names.raw(source)
        sent = 0
        started = time.perf_counter()
        pending: list[asyncio.Future[Any]] = []
        try:
            with path.open("rb") as lines:
                offset = 0
                for line in lines:
                    here, offset = offset, offset + len(line)
                    payload = line.rstrip(b"\r\n")
                    if not payload.strip():
                        continue
                    if self.stopping.is_set() or (limit is not None and sent >= limit):
                        break
                    if rate:
                        ahead = sent / rate - (time.perf_counter() - started)
                        if ahead > 0:
                            await asyncio.sleep(ahead)
                    headers = {
                        bus.SOURCE: source,
                        bus.CURSOR: str(here + len(line)),
                        bus.PUBLISHED_US: str(now_us()),
                        bus.MSG_ID: f"{source}:{path.name}:{here}",
                    }
                    pending.append(asyncio.ensure_future(self._publish(subject, payload, headers)))
                    sent += 1
                    if len(pending) >= 256:  # bounded in flight: a full stream slows the reading
                        await asyncio.gather(*pending)
                        pending.clear()
                await asyncio.gather(*pending)
        finally:
            await self.close()
        return sent

    async def live(
        self,
        sources: Sequence[LiveSource],
        policies: Mapping[str, KeepPolicy],
        cursors: Mapping[str, str | None],
        *,
        max_payload_bytes: int = 1_048_576,
        queue_size: int = 64,
        stopper: Stopper | None = None,
    ) -> dict[str, SourceReport]:
        """Run live sources (each on its own thread, supervised as in the single process) until
        stopped, and publish what each one's keep policy keeps, bytes as received, with its cursor
        and why it was kept. The policy runs here, in the one process that sees its source in
        order (it remembers the posts it kept, to keep their engagements); enrich workers share
        nothing. A source starts from `cursors` (the cursor the writers committed: what follows is
        published again, and event keys absorb the copy); after a failure, from the last cursor
        this collector published. While the stream is full, publishing waits, the queue fills and
        the sources wait in turn (`queue_size` emitted items at most are held)."""
        if not await self.start():
            return {}
        loop = asyncio.get_running_loop()
        pending: asyncio.Queue[Fetched | list[Fetched] | None] = asyncio.Queue(maxsize=queue_size)
        stopper = stopper or Stopper()  # the sources' (and their HTTP clients') stop signal
        reports = {source.name: SourceReport(source=source.name) for source in sources}

        def emit(item: Fetched | list[Fetched]) -> None:
            """On a source's thread: wait while the queue is full; once stopping, hand nothing
            over (it was not published, so its cursor was not passed: a restart reads it again)."""
            while not stopper.stopped:
                handed = asyncio.run_coroutine_threadsafe(pending.put(item), loop)
                try:
                    handed.result(timeout=0.5)
                    return
                except concurrent.futures.TimeoutError:
                    if not handed.cancel():  # it went in just then
                        return

        async def run_source(source: LiveSource) -> None:
            report = reports[source.name]
            await asyncio.to_thread(supervise, source, emit, stopper, cursors.get(source.name), report)

        async def stop_sources() -> None:
            await self.stopping.wait()
            stopper.stop()
            await pending.put(None)

        running = [asyncio.create_task(run_source(source)) for source in sources]

        async def ended() -> None:  # every source returned by itself (a capture read to its end)
            await asyncio.gather(*running, return_exceptions=True)
            await pending.put(None)

        watchers = [asyncio.create_task(stop_sources()), asyncio.create_task(ended())]
        try:
            while (item := await pending.get()) is not None and not self.stopping.is_set():
                items = item if isinstance(item, list) else [item]
                for start in range(0, len(items), 256):  # bounded in flight
                    await asyncio.gather(
                        *(
                            self._kept(fetched, policies, reports, max_payload_bytes)
                            for fetched in items[start : start + 256]
                        )
                    )
        finally:
            stopper.stop()
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self.close()
        return reports

    async def _kept(
        self,
        fetched: Fetched,
        policies: Mapping[str, KeepPolicy],
        reports: dict[str, SourceReport],
        max_payload_bytes: int,
    ) -> None:
        """Publish one live payload if its source's policy keeps it (or it is unreadable: the
        enrich worker quarantines it with its bytes)."""
        report = reports.setdefault(fetched.source, SourceReport(source=fetched.source))
        report.received += 1
        headers = {bus.SOURCE: fetched.source, bus.PUBLISHED_US: str(now_us())}
        digest = hashlib.blake2b(fetched.payload, digest_size=16).hexdigest()
        headers[bus.MSG_ID] = f"{fetched.source}:{digest}"  # the same payload twice: stored once
        if fetched.cursor is not None:
            headers[bus.CURSOR] = fetched.cursor
        policy = policies.get(fetched.source)
        if fetched.error is not None:
            headers[bus.ERROR] = fetched.error[:2000]
        elif policy is not None:
            event = normalise_payload(fetched.payload, fetched.source, "", now_us(), max_payload_bytes)
            if isinstance(event, IngestedEvent):
                why = policy.reason(event.records)
                if why is None:
                    report.dropped += 1
                    return
                headers[bus.REASON] = reason_text(why, policy.last_people)
                if fetched.cursor is None and event.raw.cursor is not None:
                    headers[bus.CURSOR] = event.raw.cursor
        elif fetched.reason is not None:
            headers[bus.REASON] = fetched.reason
        await self._publish(self.names.raw(fetched.source), fetched.payload, headers)
        report.written += 1
        report.cursor = headers.get(bus.CURSOR, report.cursor)

    async def _publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        assert self.js is not None

        async def full() -> None:
            self.metrics.stream_full.inc()

        if await bus.publish_retrying(self.js, subject, payload, headers, self.stopping, on_full=full):
            self.metrics.events_out.inc()


def open_stage(store: Store, enrich: bool) -> EnrichmentStage | None:
    """The enrichment stage an enrich worker applies: the registry's people and the feed's harm
    priors as the store holds them at its start (as the single process reads them)."""
    return default_stage(list_people(store), stored_priors(store)) if enrich else None


def worker_identity(kind: str) -> str:
    """A key-value key naming this worker: kind, host and process."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())
    return f"{kind}.{host}.{os.getpid()}"

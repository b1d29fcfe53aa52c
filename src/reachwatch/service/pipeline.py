"""The live pipeline: source threads emit payloads into one queue; this thread normalises, filters
and writes them in batches, each batch with its source's cursor, so a restart resumes where the
store stands (and the small rewind that follows is absorbed by event keys).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import msgspec

from reachwatch.connectors.base import Backoff, Emit, Fetched, LiveSource, Stopper, now_us
from reachwatch.enrich.stage import default_stage
from reachwatch.errors import ConnectorError, UsageError
from reachwatch.model import CanonicalRecord, Kept, Post, QuarantineItem, WriteBatch
from reachwatch.service.harm_priors import stored_priors
from reachwatch.service.ingest import normalise_payload, untrusted, write_resilient
from reachwatch.service.people import list_people
from reachwatch.service.tracking import MENTIONS_PERSON, KeepPolicy, parse_reason
from reachwatch.store.database import Store

log = logging.getLogger(__name__)


class PipelineOptions(msgspec.Struct, kw_only=True):
    batch_size: int = 20_000
    flush_interval_s: float = 0.5  # latency bound: an event waits at most this long for its batch
    max_payload_bytes: int = 1_048_576
    queue_size: int = 8  # items (payloads or lists of them); when full, sources wait
    enrich: bool = True  # language, protected people named, harm scores for every post


class SourceReport(msgspec.Struct, kw_only=True):
    source: str
    received: int = 0
    written: int = 0
    duplicates: int = 0
    dropped: int = 0  # not kept by the filter
    quarantined: int = 0
    records: int = 0
    restarts: int = 0
    cursor: str | None = None
    error: str | None = None  # why the source stopped for good


ProgressCallback = Callable[[dict[str, SourceReport]], None]
WrittenCallback = Callable[[WriteBatch, int], object]  # (the batch just committed, when it was received)


class Pipeline:
    """Batches emitted payloads into store transactions; one instance per collect run."""

    def __init__(
        self,
        store: Store,
        options: PipelineOptions | None = None,
        *,
        policies: dict[str, KeepPolicy] | None = None,
        on_progress: ProgressCallback | None = None,
        on_written: WrittenCallback | None = None,
    ) -> None:
        self.store = store
        self.on_written = on_written  # e.g. the alert engine: it checks what each batch touched
        self.options = options or PipelineOptions()
        self.policies = policies or {}
        self.on_progress = on_progress
        self.queue: queue.Queue[Fetched | list[Fetched]] = queue.Queue(maxsize=self.options.queue_size)
        self.reports: dict[str, SourceReport] = {}
        self._pending: dict[str, list[Fetched]] = {}
        self.enrichment = (
            default_stage(list_people(store), stored_priors(store)) if self.options.enrich else None
        )

    def emit(self, item: Fetched | list[Fetched]) -> None:
        """Hand payloads to the pipeline (thread-safe; blocks while the queue is full)."""
        self.queue.put(item)

    def _take(self, item: Fetched | list[Fetched]) -> str | None:
        """Queue an emitted item for its source's batch; returns a source whose batch is full."""
        full = None
        for fetched in item if isinstance(item, list) else (item,):
            pending = self._pending.setdefault(fetched.source, [])
            pending.append(fetched)
            if len(pending) >= self.options.batch_size:
                full = fetched.source
        return full

    def report(self, source: str) -> SourceReport:
        found = self.reports.get(source)
        if found is None:
            found = self.reports[source] = SourceReport(source=source)
        return found

    def run(
        self,
        sources: Sequence[LiveSource],
        stopper: Stopper,
        *,
        workers: Sequence[Callable[[], None]] = (),
        duration_s: float | None = None,
    ) -> dict[str, SourceReport]:
        """Run the sources (and extra worker callables, e.g. the backfill scheduler) until stopped."""
        threads = [
            threading.Thread(target=self._supervise, args=(source, stopper), name=source.name, daemon=True)
            for source in sources
        ]
        threads += [threading.Thread(target=work, name="worker", daemon=True) for work in workers]
        for thread in threads:
            thread.start()
        ends_at = None if duration_s is None else time.monotonic() + duration_s
        next_flush = time.monotonic() + self.options.flush_interval_s
        try:
            while True:
                now = time.monotonic()
                if ends_at is not None and now >= ends_at:
                    stopper.stop()
                try:
                    item = self.queue.get(timeout=max(0.0, min(next_flush - now, 0.1)))
                except queue.Empty:
                    item = None
                if item is not None:
                    full = self._take(item)
                    if full is not None:
                        self._flush(full)
                if time.monotonic() >= next_flush:
                    self.flush_all()
                    next_flush = time.monotonic() + self.options.flush_interval_s
                if item is None and not any(thread.is_alive() for thread in threads) and self.queue.empty():
                    break
        finally:
            stopper.stop()
            self._drain()
        return self.reports

    def _drain(self) -> None:
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            self._take(item)
        self.flush_all()

    def _supervise(self, source: LiveSource, stopper: Stopper) -> None:
        supervise(source, self.emit, stopper, self.store.get_cursor(source.name), self.report(source.name))

    def write_now(self, items: Iterable[Fetched]) -> None:
        """Write these payloads at once, in this thread (the backfill's path; no queue, no threads)."""
        for item in items:
            self._pending.setdefault(item.source, []).append(item)
        self.flush_all()

    def flush_all(self) -> None:
        for source in list(self._pending):
            self._flush(source)
        if self.on_progress is not None:
            self.on_progress(self.reports)

    def _flush(self, source: str) -> None:
        items = self._pending.pop(source, None)
        if not items:
            return
        report = self.report(source)
        received = now_us()
        batch = prepare_batch(
            items, source, report, received, self.options.max_payload_bytes, self.policies.get(source)
        )
        if self.enrichment is not None:
            self.enrichment.apply(batch, received)
        written = write_resilient(self.store, batch, source)
        if self.on_written is not None:
            try:
                self.on_written(batch, received)
            except Exception:  # a failing hook must not stop the ingest; it is logged loudly
                log.exception("the after-write hook failed on a batch from %s", source)
        report.written += written.raw_new
        report.duplicates += written.duplicates
        report.records += written.records
        report.quarantined += written.quarantined


def _kept_marks(
    records: list[CanonicalRecord], why: str, people: list[str], at_us: int
) -> list[CanonicalRecord]:
    """The Kept marks of an event's posts: one per person when it was kept for naming people."""
    details = people if why == MENTIONS_PERSON and people else [""]
    return [
        Kept(record_id=record.id, reason=why, detail=detail, kept_at_us=at_us)
        for record in records
        if isinstance(record, Post)
        for detail in details
    ]


def supervise(
    source: LiveSource, emit: Emit, stopper: Stopper, cursor: str | None, report: SourceReport
) -> None:
    """Run a source from `cursor`; if it fails unexpectedly, restart it from `report.cursor` (the
    last cursor made durable: written by the single process, published by a bus collector).

    A source refused for good (bad settings, a rejected token) stops with its error reported:
    retrying would only repeat the refusal.
    """
    backoff = Backoff(base=1.0, cap=60.0)
    while not stopper.stopped:
        try:
            source.run(emit, stopper, cursor)
            return
        except (UsageError, ConnectorError) as exc:
            report.error = str(exc)
            log.error("%s stopped: %s", source.name, exc)
            return
        except Exception:
            report.restarts += 1
            delay = backoff.next_delay()
            log.exception("%s failed; restarting it in %.1f s from its last cursor", source.name, delay)
            stopper.sleep(delay)
            cursor = report.cursor or cursor


def prepare_batch(
    items: list[Fetched],
    source: str,
    report: SourceReport,
    received: int,
    max_payload_bytes: int,
    policy: KeepPolicy | None = None,
    *,
    refuse_configuration: bool = False,
) -> WriteBatch:
    """One source's payloads as a write batch, before enrichment: unreadable ones quarantined,
    duplicates within the batch counted and left out, the keep policy applied, the cursor last
    seen carried; counted into `report`. The single process and the enrich workers share it.
    With `refuse_configuration`, canonical records that would rewrite the deployment's own
    configuration (protected people, watched accounts, analysis results) are quarantined, as
    from a file without --trusted-records: whatever can publish to the bus cannot change them."""
    report.received += len(items)
    batch = WriteBatch()
    seen: set[str] = set()
    cursor = None
    for item in items:
        if item.cursor is not None:
            cursor = item.cursor
        if item.error is not None:
            batch.quarantine.append(
                QuarantineItem(
                    source=source, received_at_us=received, reason=item.error, payload=item.payload
                )
            )
            continue
        event = normalise_payload(item.payload, source, item.cursor or "", received, max_payload_bytes)
        if isinstance(event, QuarantineItem):
            batch.quarantine.append(event)
            continue
        why_not = untrusted(event.records) if refuse_configuration else None
        if why_not is not None:
            reason = f"untrusted-record: {why_not} is not taken from the bus"
            batch.quarantine.append(
                QuarantineItem(source=source, received_at_us=received, reason=reason, payload=item.payload)
            )
            continue
        if item.cursor is None and event.raw.cursor is not None:
            cursor = event.raw.cursor  # the stream position the payload itself carries
        if event.raw.event_key in seen:
            report.duplicates += 1
            continue
        why, people = parse_reason(item.reason)
        if policy is not None:
            why = policy.reason(event.records) or ""
            if not why:
                report.dropped += 1
                continue
            people = policy.last_people
        seen.add(event.raw.event_key)
        if why:
            event.records.extend(_kept_marks(event.records, why, people, received))
        batch.events.append(event)
    if cursor is not None:
        batch.cursor = (source, cursor)
        report.cursor = cursor
    return batch

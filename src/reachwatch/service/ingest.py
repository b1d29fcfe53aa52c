"""Durable ingest: JSONL payloads in, raw log + canonical records + quarantine + cursor out, per batch.

A batch is one transaction, so a kill at any instant leaves the store at a batch boundary with
the cursor of that boundary; a restart resumes there, and replays are absorbed by event keys and
upserts. A payload that cannot be read never stops the ingest: it is quarantined with its bytes.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from reachwatch.connectors import platform
from reachwatch.connectors.base import provenance, wrap
from reachwatch.connectors.files.mapping import PRESETS, ColumnMapping, load_mapping
from reachwatch.connectors.jsonl import Normalised, normalise_line
from reachwatch.enrich.stage import default_stage
from reachwatch.errors import PayloadError, StoreDataError, UsageError
from reachwatch.model import (
    Account,
    Enrichment,
    IngestedEvent,
    Person,
    QuarantineItem,
    RawEvent,
    WriteBatch,
    iso_from_micros,
)
from reachwatch.service.harm_priors import stored_priors
from reachwatch.service.people import list_people
from reachwatch.store.database import Store, WriteResult

__all__ = [
    "PRESETS",
    "IngestOptions",
    "IngestProgress",
    "IngestReport",
    "ProgressCallback",
    "ingest_file",
    "ingest_stream",
    "ingest_table",
    "load_mapping",
    "normalise_payload",
    "write_resilient",
]


class IngestOptions(msgspec.Struct, kw_only=True):
    batch_size: int = 20_000
    max_payload_bytes: int = 1_048_576
    resume: bool = True
    enrich: bool = True  # language, protected people named, harm scores for every post
    # Canonical records that rewrite the deployment's own configuration — protected people, harm
    # results, watched accounts — are refused from files unless this is set (`--trusted-records`).
    trusted_records: bool = False
    # A line over this is never held whole: its head is kept, cut, with its size and sha256. Up to
    # it, a too-large payload is kept byte for byte (`quarantine retry --max-payload-bytes` reads it).
    max_kept_bytes: int = 16 * 1_048_576


def untrusted(records: list[Any]) -> str | None:
    """Why a file's canonical records may not be ingested without --trusted-records (None: they may)."""
    for record in records:
        if isinstance(record, Person):
            return f"person {record.id}: the registry of protected people"
        if isinstance(record, Enrichment):
            return f"enrichment of {record.post_id}: stored analysis results"
        if isinstance(record, Account) and record.watched:
            return f"account {record.id} marked watched: who counts as a watched account"
    return None


class IngestProgress(msgspec.Struct, kw_only=True):
    """Reported after every committed batch: everything up to `position` is durably stored."""

    source: str
    position: int
    total: int | None
    lines: int
    events: int
    duplicates: int
    quarantined: int


class IngestReport(msgspec.Struct, kw_only=True):
    source: str
    resumed_from: int
    lines: int = 0
    events: int = 0
    records: int = 0
    duplicates: int = 0
    quarantined: int = 0
    enrichments: int = 0
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return (self.events + self.duplicates) / self.seconds if self.seconds > 0 else 0.0


ProgressCallback = Callable[[IngestProgress], None]

# (payload without its line ending, 1-based line number, byte offset just past the line)
Line = tuple[bytes, int, int]


def _now_us() -> int:
    return time.time_ns() // 1_000


class _FileCursor(msgspec.Struct):
    """Where a file's ingest stands, and a fingerprint of what it had read, to notice a new file."""

    offset: int
    head: str
    line: int


HEAD_BYTES = 4096


def _file_head(path: Path, length: int) -> str:
    """Fingerprint of the file's first `length` bytes (at most HEAD_BYTES): appending keeps it."""
    with path.open("rb") as handle:
        return hashlib.blake2b(handle.read(min(length, HEAD_BYTES)), digest_size=8).hexdigest()


def read_lines(
    stream: BinaryIO, *, start_offset: int = 0, start_line: int = 0, limit: int | None = None
) -> Iterator[Line]:
    """Lines with their number and end offset. A line longer than `limit` is never held whole: its
    first `limit` bytes are kept with a note of its full size and sha256 (it is quarantined as
    too-large, being over the payload limit too), the rest is read in chunks and dropped."""
    offset, number = start_offset, start_line
    while True:
        raw = stream.readline(limit + 1) if limit is not None else stream.readline()
        if not raw:
            return
        number += 1
        if limit is not None and len(raw) > limit and not raw.endswith(b"\n"):
            digest, size = hashlib.sha256(raw), len(raw)
            while True:
                more = stream.readline(1 << 20)
                if not more:
                    break
                digest.update(more)
                size += len(more)
                if more.endswith(b"\n"):
                    break
            offset += size
            note = f"\n[cut by reachwatch: {size:,} bytes in all, sha256 {digest.hexdigest()}]".encode()
            yield raw[:limit] + note, number, offset
            continue
        offset += len(raw)
        yield raw.rstrip(b"\r\n"), number, offset


def _batches(lines: Iterable[Line], size: int) -> Iterator[list[Line]]:
    batch: list[Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def normalise_payload(
    payload: bytes, source: str, position: str, received_us: int, max_bytes: int
) -> IngestedEvent | QuarantineItem:
    """One payload as a raw event with its records, or as a quarantine item saying why not (pure)."""
    try:
        normalised: Normalised = normalise_line(payload, max_bytes=max_bytes)
    except PayloadError as exc:
        return QuarantineItem(
            source=source, received_at_us=received_us, reason=exc.reason, payload=payload, position=position
        )
    raw = RawEvent(
        source=source,
        event_key=normalised.event_key,
        received_at_us=received_us,
        payload=payload,
        cursor=normalised.cursor,
    )
    return IngestedEvent(raw, normalised.records)


def build_batch(lines: list[Line], source: str, options: IngestOptions) -> tuple[WriteBatch, int]:
    """Normalise a list of lines into one WriteBatch (pure); also returns in-batch duplicates."""
    received = _now_us()
    batch = WriteBatch()
    seen: set[str] = set()
    duplicates = 0
    for payload, number, _offset in lines:
        if not payload or payload.isspace():  # blank line; no copy on the hot path
            continue
        item = normalise_payload(payload, source, f"line {number}", received, options.max_payload_bytes)
        if isinstance(item, QuarantineItem):
            batch.quarantine.append(item)
            continue
        why = None if options.trusted_records else untrusted(item.records)
        if why is not None:
            batch.quarantine.append(
                QuarantineItem(
                    source=source,
                    received_at_us=received,
                    payload=payload,
                    position=f"line {number}",
                    reason=f"untrusted-record: {why} changes only with --trusted-records",
                )
            )
            continue
        if item.raw.event_key in seen:
            duplicates += 1
            continue
        seen.add(item.raw.event_key)
        batch.events.append(item)
    return batch, duplicates


class Ingestor:
    """Feeds batches of lines through normalisation into the store for one named source."""

    def __init__(
        self, store: Store, source: str, options: IngestOptions, on_progress: ProgressCallback | None
    ):
        self.store = store
        self.options = options
        self.on_progress = on_progress
        self.report = IngestReport(source=source, resumed_from=0)
        self.enrichment = default_stage(list_people(store), stored_priors(store)) if options.enrich else None

    def run(self, lines: Iterable[Line], cursor_of: Callable[[Line], str], total: int | None) -> IngestReport:
        started = time.perf_counter()
        for chunk in _batches(lines, self.options.batch_size):
            batch, in_batch_duplicates = build_batch(chunk, self.report.source, self.options)
            batch.cursor = (self.report.source, cursor_of(chunk[-1]))
            if self.enrichment is not None:
                self.report.enrichments += self.enrichment.apply(batch, _now_us())
            self._write(batch)
            report = self.report
            report.lines += len(chunk)
            report.duplicates += in_batch_duplicates
            if self.on_progress is not None:
                self.on_progress(
                    IngestProgress(
                        source=report.source,
                        position=chunk[-1][2],
                        total=total,
                        lines=report.lines,
                        events=report.events,
                        duplicates=report.duplicates,
                        quarantined=report.quarantined,
                    )
                )
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _write(self, batch: WriteBatch) -> None:
        written = write_resilient(self.store, batch, self.report.source)
        self.report.events += written.raw_new
        self.report.duplicates += written.duplicates
        self.report.records += written.records
        self.report.quarantined += written.quarantined


class Written(msgspec.Struct):
    raw_new: int = 0
    duplicates: int = 0
    records: int = 0
    quarantined: int = 0


def write_resilient(store: Store, batch: WriteBatch, source: str) -> Written:
    """Write a batch; if the database refuses a row, retry the events one by one and quarantine
    the refused ones, so one bad row never sinks its neighbours."""
    try:
        result = store.write_batch(batch)
    except StoreDataError:
        return _write_one_by_one(store, batch, source)
    return Written(result.raw_new, result.duplicates, result.records, len(batch.quarantine))


def _write_one_by_one(store: Store, batch: WriteBatch, source: str) -> Written:
    written = Written()
    for event in batch.events:
        raw = event.raw
        single = WriteBatch(events=[event])
        try:
            result: WriteResult = store.write_batch(single)
        except StoreDataError as exc:
            item = QuarantineItem(
                source=source,
                received_at_us=raw.received_at_us,
                reason=f"store-refused: {exc}",
                payload=raw.payload,
                position=raw.cursor,
            )
            store.write_batch(WriteBatch(quarantine=[item]))
            written.quarantined += 1
            continue
        written.raw_new += result.raw_new
        written.duplicates += result.duplicates
        written.records += result.records
    store.write_batch(WriteBatch(quarantine=batch.quarantine, cursor=batch.cursor))
    written.quarantined += len(batch.quarantine)
    return written


def ingest_file(
    store: Store, path: Path, options: IngestOptions, on_progress: ProgressCallback | None = None
) -> IngestReport:
    """Ingest a JSONL file, resuming after the last committed line if this file was ingested before."""
    if not path.is_file():
        raise UsageError(
            f"Cannot ingest {path}: no such file. Give the path of a JSONL file, or - for stdin."
        )
    source = f"file:{path.resolve()}"
    document = _json_document(path, options.max_payload_bytes)
    if document is not None:  # one pretty-printed JSON document: its items are the payloads
        ingestor = Ingestor(store, source, options, on_progress)
        return ingestor.run(iter(document), lambda line: f"item {line[1]}", len(document))
    start = _FileCursor(offset=0, head="", line=0)
    saved = store.get_cursor(source) if options.resume else None
    if saved is not None:
        previous = msgspec.json.decode(saved, type=_FileCursor)
        if previous.offset <= path.stat().st_size and previous.head == _file_head(path, previous.offset):
            start = previous
    ingestor = Ingestor(store, source, options, on_progress)
    ingestor.report.resumed_from = start.offset

    heads: dict[int, str] = {}

    def cursor_of(line: Line) -> str:
        length = min(line[2], HEAD_BYTES)
        if length not in heads:
            heads[length] = _file_head(path, length)
        return msgspec.json.encode(_FileCursor(offset=line[2], head=heads[length], line=line[1])).decode()

    with path.open("rb") as stream:
        stream.seek(start.offset)
        lines = read_lines(
            stream,
            start_offset=start.offset,
            start_line=start.line,
            limit=max(options.max_kept_bytes, options.max_payload_bytes),
        )
        return ingestor.run(lines, cursor_of, path.stat().st_size)


MAX_DOCUMENT_BYTES = 256 * 1_048_576


def _json_document(path: Path, max_payload_bytes: int) -> list[Line] | None:
    """The payloads of a file that is one JSON document spread over lines (pretty-printed): the
    items of a top-level array, or the object itself; None for JSON Lines (its first line is a
    whole JSON value) and for anything else (read line by line as usual)."""
    with path.open("rb") as handle:
        first = handle.readline(max_payload_bytes + 1).strip()
    if first[:1] not in (b"{", b"["):
        return None
    try:
        msgspec.json.decode(first)
        return None  # a whole value on the first line: JSON Lines
    except msgspec.DecodeError:
        pass
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise UsageError(
            f"{path} looks like one JSON document of {size:,} bytes, too large to read whole; "
            "write it as JSON Lines (one payload per line, e.g. `jq -c '.[]'`) and ingest that."
        )
    try:
        whole = msgspec.json.decode(path.read_bytes())
    except msgspec.DecodeError:
        return None  # not one document after all: each line is quarantined with its reason
    items = whole if isinstance(whole, list) else [whole]
    return [(msgspec.json.encode(item), n, n) for n, item in enumerate(items, start=1)]


def ingest_stream(
    store: Store,
    stream: BinaryIO,
    source: str,
    options: IngestOptions,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest a JSONL stream that cannot be rewound (stdin); replays are absorbed by event keys."""
    ingestor = Ingestor(store, source, options, on_progress)
    lines = read_lines(stream, limit=max(options.max_kept_bytes, options.max_payload_bytes))
    return ingestor.run(lines, lambda line: f"line {line[1]}", None)


def bare_endpoints() -> dict[str, tuple[str, str]]:
    """Every endpoint whose bare responses `ingest --as` reads, over the installed platforms."""
    return {name: found for p in platform.registered().values() for name, found in p.bare_endpoints().items()}


class BareOptions(msgspec.Struct, kw_only=True, frozen=True):
    """How to wrap bare responses: the endpoint that gave them and what the request was about."""

    endpoint: str  # app.bsky.feed.getPostThread, mastodon:statuses, x:liking_users, ...
    instance: str | None = None  # Mastodon: the server that gave the ids
    params: dict[str, str] = msgspec.field(default_factory=dict)  # e.g. status=ID, tweet=ID
    retrieved_at_us: int | None = None  # default: the file's modification time


def wrap_bare(data: bytes, bare: BareOptions, retrieved_at_us: int) -> list[bytes]:
    """Bare API responses (one JSON document, or one per line) as captured responses: each body
    kept byte for byte inside its provenance envelope, as a collector would have emitted it. A
    line that is not JSON is wrapped too, and quarantined with its bytes by the ingest."""
    known = bare_endpoints()
    if bare.endpoint not in known:
        names = ", ".join(sorted(known))
        raise UsageError(f"--as {bare.endpoint!r} is not an endpoint reachwatch reads: use one of {names}.")
    source, nsid = known[bare.endpoint]
    if source.startswith("mastodon") and not bare.instance:
        raise UsageError(
            f"--as {bare.endpoint} needs --instance HOST, the server that gave the ids "
            "(e.g. mastodon.social)."
        )
    if nsid in ("reblogged_by", "favourited_by") and "status" not in bare.params:
        raise UsageError(
            f"--as {bare.endpoint} needs --param status=ID: the status these accounts engaged with."
        )
    if nsid in ("liking_users", "retweeted_by") and "tweet" not in bare.params:
        raise UsageError(f"--as {bare.endpoint} needs --param tweet=ID: the post these users engaged with.")
    params = {**bare.params, **({"endpoint": nsid} if source == "x.api2" else {})}
    meta = provenance(source, nsid, instance=bare.instance, params=params)
    meta = msgspec.structs.replace(meta, retrieved_at=iso_from_micros(retrieved_at_us))
    try:
        msgspec.json.decode(data)
        bodies = [data.strip()]
    except msgspec.DecodeError:
        bodies = [line.strip() for line in data.splitlines() if line.strip()]
    return [wrap(meta, body) for body in bodies]  # a pretty-printed body keeps its line breaks


def ingest_bare(
    store: Store,
    path: Path,
    bare: BareOptions,
    options: IngestOptions,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest a file of bare API responses (`ingest FILE --as ENDPOINT`), wrapped by `wrap_bare`."""
    if not path.is_file():
        raise UsageError(f"{path} is not a file: give the path of the saved response.")
    at = bare.retrieved_at_us if bare.retrieved_at_us is not None else int(path.stat().st_mtime * 1_000_000)
    wrapped = wrap_bare(path.read_bytes(), bare, at)
    ingestor = Ingestor(store, f"file:{path}", options, on_progress)
    payloads = [(payload, n, n) for n, payload in enumerate(wrapped, 1)]
    return ingestor.run(payloads, lambda line: f"response {line[1]}", None)


def _table_rows(path: Path) -> Iterator[tuple[bytes | None, str | None]]:
    """(row as JSON, None) per row of a CSV or JSONL table, or (None, why) for a row unreadable as such."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open("rb") as handle:
            for raw in handle:
                line = raw.rstrip(b"\r\n")
                if line.strip():
                    yield line, None
        return
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.DictReader(handle)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield None, f"invalid-csv: {exc}"
                continue
            cleaned = {str(key): value for key, value in row.items() if key is not None}
            yield (
                msgspec.json.encode(cleaned)
                .decode("utf-8", "surrogateescape")
                .encode("utf-8", "backslashreplace"),
                None,
            )


def ingest_table(
    store: Store,
    path: Path,
    mapping: ColumnMapping,
    options: IngestOptions,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest a CSV or JSONL table through a column mapping; each row is kept raw with the mapping
    it was read with, so a replay reads it the same way. Resumes after the last committed row."""
    if not path.is_file():
        raise UsageError(f"Cannot ingest {path}: no such file.")
    source = f"table:{path.resolve()}:{mapping.name}"
    saved = store.get_cursor(source) if options.resume else None
    start = int(saved) if saved and saved.isdigit() else 0
    meta = provenance(f"file.{path.suffix.lstrip('.').lower() or 'csv'}", mapping.name)
    meta.mapping = msgspec.to_builtins(mapping)
    meta.url = str(path.resolve())
    ingestor = Ingestor(store, source, options, on_progress)
    ingestor.report.resumed_from = start

    def lines() -> Iterator[Line]:
        for number, (row, problem) in enumerate(_table_rows(path), start=1):
            if number <= start:
                continue
            # An unreadable row still becomes a line: invalid JSON, so it is quarantined with its reason.
            payload = wrap(meta, row) if row is not None else f"{problem}".encode()
            yield payload, number, number

    return ingestor.run(lines(), lambda line: str(line[1]), None)

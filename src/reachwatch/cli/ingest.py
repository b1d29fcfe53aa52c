"""`reachwatch ingest`: JSONL payloads from a file or stdin into the store."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from reachwatch.cli.options import Db
from reachwatch.cli.render import console
from reachwatch.config import load_settings
from reachwatch.errors import UsageError
from reachwatch.model import micros_from_datetime
from reachwatch.service import narratives
from reachwatch.service.ingest import (
    PRESETS,
    BareOptions,
    IngestOptions,
    IngestProgress,
    IngestReport,
    ProgressCallback,
    ingest_bare,
    ingest_file,
    ingest_stream,
    ingest_table,
    load_mapping,
)
from reachwatch.service.store_access import Store, open_store


class ProgressStyle(StrEnum):
    BAR = "bar"
    JSON = "json"
    NONE = "none"


def ingest(
    source: Annotated[
        str,
        typer.Argument(
            help="A JSONL file (Jetstream events, captured responses, twarc2 output, v1.1 tweets or "
            "canonical records), or - for stdin; with --mapping, a CSV or JSONL table of posts."
        ),
    ],
    db: Db = None,
    batch_size: Annotated[int | None, typer.Option(help="Events per transaction.")] = None,
    max_payload_bytes: Annotated[int | None, typer.Option(help="Larger payloads are quarantined.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue a file after its last committed line.")] = True,
    enrich: Annotated[
        bool, typer.Option(help="Language, protected people named and harm scores for every post.")
    ] = True,
    mapping: Annotated[
        str | None,
        typer.Option(
            help="Read SOURCE as a table of posts through this column mapping: a preset "
            f"({', '.join(PRESETS)}) or a TOML/JSON mapping file."
        ),
    ] = None,
    progress: Annotated[
        ProgressStyle,
        typer.Option(
            help="bar: a progress bar; json: one JSON line per committed batch (everything up to "
            "'position' is durable); none: only the summary."
        ),
    ] = ProgressStyle.BAR,
    trusted_records: Annotated[
        bool,
        typer.Option(
            "--trusted-records",
            help="Accept canonical person, enrichment and watched-account records from the file (they "
            "change the registry, harm results and who is watched).",
        ),
    ] = False,
    create: Annotated[
        bool, typer.Option("--create", help="Make the SQLite store if the --db file does not exist yet.")
    ] = False,
    bare_as: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="SOURCE holds bare API responses (one JSON document or one per line) from this endpoint: "
            "app.bsky.feed.getPostThread (any AppView method), mastodon:statuses|status|context|"
            "reblogged_by|favourited_by|account, x:tweets|users|liking_users|retweeted_by. They are "
            "wrapped with provenance and kept byte for byte.",
        ),
    ] = None,
    instance: Annotated[
        str | None, typer.Option(help="With --as mastodon:…: the server that gave the ids (mastodon.social).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            help="With --as: what the request was about, KEY=VALUE (status=ID for Mastodon's "
            "reblogged_by/favourited_by, tweet=ID for X's liking_users/retweeted_by); repeatable."
        ),
    ] = None,
    retrieved_at: Annotated[
        str | None,
        typer.Option(help="With --as: when the responses were fetched (ISO, UTC); default the file's time."),
    ] = None,
) -> None:
    """Ingest payloads durably: raw kept, records upserted, bad lines quarantined, resumable."""
    settings = load_settings(db=db, batch_size=batch_size, max_payload_bytes=max_payload_bytes)
    options = IngestOptions(
        batch_size=settings.batch_size, max_payload_bytes=settings.max_payload_bytes, resume=resume,
        enrich=enrich, trusted_records=trusted_records,
    )  # fmt: skip
    table = load_mapping(mapping) if mapping else None
    bare = _bare_options(bare_as, instance, param or [], retrieved_at, source) if bare_as else None
    if bare is not None and table is not None:
        raise UsageError("--as and --mapping read a file in two different ways: give one of them.")
    store = open_store(settings, create=create)
    try:
        if table is not None:
            report = ingest_table(store, Path(source), table, options, None)
        elif bare is not None:
            report = ingest_bare(store, Path(source), bare, options, None)
        elif progress is ProgressStyle.JSON:
            encoder = msgspec.json.Encoder()

            def acknowledge(update: IngestProgress) -> None:
                sys.stdout.buffer.write(encoder.encode(update) + b"\n")
                sys.stdout.buffer.flush()

            report = _run(store, source, options, acknowledge)
        elif progress is ProgressStyle.BAR and source != "-":
            with Progress(
                TextColumn("ingest"),
                BarColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[events]:,} events, {task.fields[quarantined]:,} quarantined"),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("ingest", total=None, events=0, quarantined=0)

                def draw(update: IngestProgress) -> None:
                    bar.update(
                        task,
                        completed=update.position,
                        total=update.total,
                        events=update.events,
                        quarantined=update.quarantined,
                    )

                report = _run(store, source, options, draw)
        else:
            report = _run(store, source, options, None)
        followed = narratives.after_ingest(store, settings.embedding_model) if enrich else None
    finally:
        store.close()
    if progress is ProgressStyle.JSON:
        sys.stdout.buffer.write(msgspec.json.encode({"done": report}) + b"\n")
    else:
        _summary(report, store.location)
        if followed is not None:
            console.print(
                f"Narratives: {followed.embedded:,} posts embedded, {followed.assigned:,} assignments.",
                markup=False,
            )


def _bare_options(
    endpoint: str, instance: str | None, params: list[str], retrieved_at: str | None, source: str
) -> BareOptions:
    if source == "-":
        raise UsageError("--as reads a saved file: give its path, not - (stdin).")
    pairs: dict[str, str] = {}
    for given in params:
        key, sep, value = given.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--param {given!r}: write KEY=VALUE, e.g. --param status=109372844.")
        pairs[key.strip()] = value.strip()
    try:
        at = micros_from_datetime(datetime.fromisoformat(retrieved_at)) if retrieved_at else None
    except ValueError as exc:
        raise UsageError(
            f"--retrieved-at {retrieved_at!r} is not an ISO time (e.g. 2026-10-13T18:00:00Z)."
        ) from exc
    return BareOptions(endpoint=endpoint, instance=instance, params=pairs, retrieved_at_us=at)


def _run(
    store: Store, source: str, options: IngestOptions, callback: ProgressCallback | None
) -> IngestReport:
    if source == "-":
        return ingest_stream(store, sys.stdin.buffer, "stdin", options, callback)
    return ingest_file(store, Path(source), options, callback)


def _summary(report: IngestReport, location: str) -> None:
    resumed = f" (resumed at byte {report.resumed_from:,})" if report.resumed_from else ""
    console.print(
        f"Ingested {report.events:,} new events{resumed} from {report.lines:,} lines "
        f"in {report.seconds:.1f} s ({report.events_per_second:,.0f} events/s): {report.records:,} records, "
        f"{report.duplicates:,} duplicates skipped, {report.quarantined:,} quarantined.",
        markup=False,
    )
    if report.quarantined:
        console.print("See them with `reachwatch quarantine list`.", markup=False)
    console.print(f"Store: {location}", markup=False)

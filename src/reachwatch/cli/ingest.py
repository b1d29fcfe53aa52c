"""`reachwatch ingest`: JSONL payloads from a file or stdin into the store."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from reachwatch.cli.options import Db
from reachwatch.cli.render import console
from reachwatch.config import load_settings
from reachwatch.service import narratives
from reachwatch.service.ingest import (
    PRESETS,
    IngestOptions,
    IngestProgress,
    IngestReport,
    ProgressCallback,
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
) -> None:
    """Ingest payloads durably: raw kept, records upserted, bad lines quarantined, resumable."""
    settings = load_settings(db=db, batch_size=batch_size, max_payload_bytes=max_payload_bytes)
    options = IngestOptions(
        batch_size=settings.batch_size, max_payload_bytes=settings.max_payload_bytes, resume=resume,
        enrich=enrich, trusted_records=trusted_records,
    )  # fmt: skip
    table = load_mapping(mapping) if mapping else None
    store = open_store(settings, create=create)
    try:
        if table is not None:
            report = ingest_table(store, Path(source), table, options, None)
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

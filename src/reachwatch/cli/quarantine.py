"""`reachwatch quarantine list|show|retry`: payloads that could not be read, kept with their bytes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from reachwatch.cli.options import Db
from reachwatch.cli.render import console, safe, when
from reachwatch.config import load_settings
from reachwatch.service import quarantine
from reachwatch.service.quarantine import QuarantineStatus
from reachwatch.service.store_access import open_store


class Status(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


STATUSES: dict[Status, QuarantineStatus] = {
    Status.OPEN: "open",
    Status.RESOLVED: "resolved",
    Status.ALL: "all",
}

app = typer.Typer(help="See and replay payloads that could not be ingested.", no_args_is_help=True)


@app.command("list")
def list_items(
    db: Db = None,
    status: Annotated[Status, typer.Option(help="Which items to list.")] = Status.OPEN,
    limit: Annotated[int, typer.Option(help="Items per page.")] = 50,
    page: Annotated[int, typer.Option(help="Page number, from 1.")] = 1,
) -> None:
    """Quarantined payloads, newest first, with the reason each was refused."""
    store = open_store(load_settings(db=db))
    try:
        items = quarantine.list_items(store, STATUSES[status], limit, page)
        reasons = quarantine.reasons(store)
    finally:
        store.close()
    table = Table(
        title=f"quarantine ({status.value}): "
        + ", ".join(f"{code} {n}" for code, n in sorted(reasons.items()))
    )
    for column in ("id", "received (UTC)", "source", "where", "reason", "bytes"):
        table.add_column(column)
    for item in items:
        table.add_row(
            str(item.id),
            when(item.received_at_us),
            safe(item.source, 50),
            safe(item.position),
            safe(item.reason, 90),
            f"{len(item.payload):,}",
        )
    console.print(table)


@app.command("show")
def show(
    item_id: Annotated[int, typer.Argument(help="The id from `quarantine list`.")],
    db: Db = None,
    raw: Annotated[
        bool, typer.Option(help="Write the payload's exact bytes to stdout, nothing else.")
    ] = False,
) -> None:
    """One quarantined payload: where it came from, why it was refused, and its bytes."""
    store = open_store(load_settings(db=db))
    try:
        item = quarantine.show(store, item_id)
    finally:
        store.close()
    if raw:
        typer.get_binary_stream("stdout").write(item.payload)
        return
    console.print(f"id {item.id} · {item.status} · {item.attempts} retries", markup=False)
    console.print("source:   ", safe(item.source))
    console.print("where:    ", safe(item.position))
    console.print("received: ", when(item.received_at_us), "UTC")
    console.print("reason:   ", safe(item.reason))
    preview = item.payload[:2_000].decode("utf-8", "replace")
    console.print(f"payload ({len(item.payload):,} bytes, first 2,000 shown; --raw for all):", markup=False)
    console.print(safe(preview))


@app.command("retry")
def retry(
    item_ids: Annotated[list[int] | None, typer.Argument(help="Ids to retry.")] = None,
    all_open: Annotated[bool, typer.Option("--all", help="Retry every open item.")] = False,
    db: Db = None,
    max_payload_bytes: Annotated[
        int | None, typer.Option(help="Raise the size limit for this retry.")
    ] = None,
) -> None:
    """Run quarantined payloads through normalisation again; those that pass are ingested."""
    if not item_ids and not all_open:
        raise typer.BadParameter("give ids to retry, or --all", param_hint="IDS")
    settings = load_settings(db=db, max_payload_bytes=max_payload_bytes)
    store = open_store(settings)
    try:
        report = quarantine.retry(
            store, None if all_open else item_ids, max_payload_bytes=settings.max_payload_bytes
        )
    finally:
        store.close()
    console.print(
        f"{len(report.resolved)} resolved, {len(report.failed)} still failing, "
        f"{len(report.skipped)} not open.",
        markup=False,
    )
    for item_id, reason in sorted(report.failed.items()):
        console.print(f"  {item_id}: ", safe(reason, 160))

"""`reachwatch audit`: read the audit trail and check that nothing in it was changed."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.options import AsJson, Db
from reachwatch.cli.render import console, safe, when
from reachwatch.config import load_settings
from reachwatch.errors import StoreDataError
from reachwatch.service import audit
from reachwatch.service.store_access import open_store

app = typer.Typer(
    help="The audit trail: who looked at what, when, and whether the log is intact.", no_args_is_help=True
)


@app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1)] = 50,
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """The newest audit entries."""
    store = open_store(load_settings(db=db))
    try:
        found = audit.entries(store, limit)
    finally:
        store.close()
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    table = Table(title=f"Audit trail (newest {len(found)})")
    for column in ("#", "when", "who", "action", "what", "case"):
        table.add_column(column)
    for entry in found:
        table.add_row(
            str(entry.seq),
            when(entry.at_us),
            safe(entry.actor),
            entry.action,
            safe(entry.target, 70),
            safe(entry.case_id or "-"),
        )
    console.print(table)


@app.command("verify")
def verify(
    checkpoint: Annotated[
        str | None,
        typer.Option(help="SEQ:HASH from `audit head` or an oversight report: also catches a cut end."),
    ] = None,
    db: Db = None,
) -> None:
    """Recompute the hash chain; exit 1 naming the first entry that was edited, removed or reordered."""
    store = open_store(load_settings(db=db))
    try:
        found = audit.verify(store, audit.Checkpoint.parse(checkpoint) if checkpoint else None)
    finally:
        store.close()
    if not found.intact:
        raise StoreDataError(
            f"The audit log is broken: {found.reason}. Restore it from a backup and investigate."
        )
    console.print(f"The audit log is intact: {found.entries:,} entries, {found.reason}.", markup=False)


@app.command("head")
def head(db: Db = None) -> None:
    """The newest entry as SEQ:HASH: keep it elsewhere, and `audit verify --checkpoint` it later."""
    store = open_store(load_settings(db=db))
    try:
        print(audit.head(store))
    finally:
        store.close()

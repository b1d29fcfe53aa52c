"""`reachwatch users`, `reachwatch oversight` and `reachwatch retention`: who may use the tool, what
it was used for, and how long its data is kept."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.coordination import parse_time
from reachwatch.cli.options import AsJson, Db
from reachwatch.cli.render import console, safe, when
from reachwatch.config import load_settings
from reachwatch.service import audit, downloads, oversight, retention, users
from reachwatch.service.store_access import open_store
from reachwatch.service.viewer import cli_principal

users_app = typer.Typer(help="Local user accounts and their roles.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user name.")],
    role: Annotated[str, typer.Option(help="viewer, analyst, supervisor, auditor or admin.")] = "analyst",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
    db: Db = None,
) -> None:
    """Add a user (the password is asked twice, or read from stdin)."""
    store = open_store(load_settings(db=db))
    try:
        made = users.add_user(store, name, role, _password(password_stdin))
        audit.record(store, "cli", "add-user", made.name, detail={"role": made.role})
    finally:
        store.close()
    console.print(f"Added {made.name} ({made.role}).", markup=False)


@users_app.command("list")
def users_list(db: Db = None, as_json: AsJson = False) -> None:
    """Every user, role and status."""
    store = open_store(load_settings(db=db))
    try:
        found = users.list_users(store)
    finally:
        store.close()
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    table = Table(title=f"Users ({len(found)})")
    for column in ("name", "role", "status", "created"):
        table.add_column(column)
    for user in found:
        table.add_row(
            safe(user.name), user.role, "disabled" if user.disabled else "active", when(user.created_at_us)
        )
    console.print(table)


@users_app.command("disable")
def users_disable(name: str, db: Db = None) -> None:
    """Disable a user and end all of their sessions."""
    store = open_store(load_settings(db=db))
    try:
        users.set_disabled(store, name, True)
        audit.record(store, "cli", "disable-user", name)
    finally:
        store.close()
    console.print(f"Disabled {name}; their sessions are ended.", markup=False)


@users_app.command("enable")
def users_enable(name: str, db: Db = None) -> None:
    """Enable a disabled user again."""
    store = open_store(load_settings(db=db))
    try:
        users.set_disabled(store, name, False)
    finally:
        store.close()
    console.print(f"Enabled {name}.", markup=False)


@users_app.command("role")
def users_role(name: str, role: str, db: Db = None) -> None:
    """Change a user's role."""
    store = open_store(load_settings(db=db))
    try:
        users.set_role(store, name, role)
        audit.record(store, "cli", "change-role", name, detail={"role": role})
    finally:
        store.close()
    console.print(f"{name} is now {role}.", markup=False)


@users_app.command("token")
def users_token(
    name: str,
    days: Annotated[float, typer.Option(help="Valid for this many days.", min=0.01)] = 30,
    db: Db = None,
) -> None:
    """A bearer token for scripts calling /api/v1 as this user (shown once)."""
    store = open_store(load_settings(db=db))
    try:
        token = users.api_token(store, name, days)
    finally:
        store.close()
    print(token)


def oversight_command(
    since: Annotated[str | None, typer.Option("--from", help="Start (ISO date or time, UTC).")] = None,
    until: Annotated[str | None, typer.Option("--to", help="End, exclusive (ISO date or time, UTC).")] = None,
    account: Annotated[
        str | None, typer.Option(help="Only cases touching this account or its posts.")
    ] = None,
    csv_out: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Also write the report as CSV: the figures to this file, the legal bases and the officers "
            "beside it (NAME-legal-bases.csv, NAME-officers.csv), one table per file.",
        ),
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Also write a printable HTML page here.")
    ] = None,
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """How many posts and accounts were investigated, why, by how many officers, for how many hours
    and at what cost, and how many engagers were revealed."""
    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        found = oversight.report(
            store, parse_time(since, 0), parse_time(until, 2**62), account=account,
            hourly_rate=settings.oversight.hourly_rate, currency=settings.oversight.currency,
        )  # fmt: skip
        audit.record(
            store, "cli", "oversight", account or "all", detail={"from": since or "", "to": until or ""}
        )
    finally:
        store.close()
    if csv_out is not None:
        for name, (table_rows, only) in oversight.tables(found).items():
            beside = f"{csv_out.stem}-{name.replace('_', '-')}.csv"
            path = csv_out if name == "figures" else csv_out.with_name(beside)
            path.write_bytes(downloads.encode(table_rows, "csv", name, only).body)
    if html_out is not None:
        from reachwatch.web.printable import oversight_html

        html_out.write_text(
            oversight_html(found, {"from": since or "", "to": until or "", "account": account or ""})
        )
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    period = f"{since or 'the beginning'} to {until or 'now'}" + (f", account {account}" if account else "")
    table = Table(title=f"Oversight: {period}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("cases", found.cases), ("posts investigated", found.posts_investigated),
        ("accounts investigated", found.accounts_investigated), ("officers", found.officers),
        ("hours logged", found.hours), ("cost", f"{found.cost:,.2f} {found.currency}"),
        ("engagers revealed", found.reveals), ("audited looks", found.views), ("exports", found.exports),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    reasons = Table(title="Reasons (case justifications by legal basis)")
    for column in ("legal basis", "cases", "justifications"):
        reasons.add_column(column)
    for reason in found.reasons:
        reasons.add_row(
            safe(reason.legal_basis), str(reason.cases), safe(" | ".join(reason.justifications), 200)
        )
    console.print(reasons)


def retention_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", help="Confirm a run that needs it: the first on a store, or one deleting a large share."
        ),
    ] = False,
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Delete data past its retention period ([retention] settings, off by default), except what
    open cases hold."""
    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        found = retention.run(
            store, settings.retention, dry_run=dry_run, confirmed=yes, actor=cli_principal(settings).name
        )
    finally:
        store.close()
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    if dry_run and found.needs_confirmation:
        console.print(f"A real run would need --yes: {found.needs_confirmation}.", markup=False)
    table = Table(title="Retention (dry run: nothing deleted)" if dry_run else "Retention")
    for column in (
        "data class",
        "kept for",
        "older than",
        "would delete" if dry_run else "deleted",
        "held by cases",
    ):
        table.add_column(column)
    for item in found.classes:
        table.add_row(
            item.data_class, f"{item.keep_days:g} days" if item.keep_days else "forever",
            when(item.cutoff_us) if item.cutoff_us else "-", f"{item.deleted:,}", f"{item.held:,}",
        )  # fmt: skip
    console.print(table)

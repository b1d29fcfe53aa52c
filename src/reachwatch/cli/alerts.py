"""`reachwatch alerts`: check and load rules, evaluate stored posts, read the inbox, run the
deliverer, and look after dead-lettered deliveries."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.options import AsJson, Db
from reachwatch.cli.render import console, safe, when
from reachwatch.cli.session import viewing
from reachwatch.config import load_settings
from reachwatch.errors import UsageError
from reachwatch.service import alerts
from reachwatch.service.alerts import AlertEngine
from reachwatch.service.collect import delivery_worker
from reachwatch.service.delivery import dead_letters
from reachwatch.service.store_access import open_store

app = typer.Typer(help="Alert rules, the inbox and deliveries.", no_args_is_help=True)
rules_app = typer.Typer(help="The alert rules (YAML).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
RulesFile = Annotated[Path, typer.Argument(help="A YAML rules file.", exists=True, dir_okay=False)]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text.") from exc


@rules_app.command("check")
def rules_check(path: RulesFile, db: Db = None) -> None:
    """Check a rules file, also against the store's people and narratives; every problem is named
    with its line and field (exit 2)."""
    store = open_store(load_settings(db=db))
    try:
        found = alerts.check_rules(store, _read(path), str(path))
    finally:
        store.close()
    console.print(
        f"{path}: {len(found.rules)} rules, {len(found.channels)} channels, all valid.", markup=False
    )


@rules_app.command("load")
def rules_load(path: RulesFile, db: Db = None) -> None:
    """Check a rules file and make it the active rule set (running collectors pick it up in seconds)."""
    store = open_store(load_settings(db=db))
    try:
        found = alerts.save_rules(store, _read(path), "cli")
    finally:
        store.close()
    console.print(f"Loaded {len(found.rules)} rules and {len(found.channels)} channels.", markup=False)


@rules_app.command("show")
def rules_show(db: Db = None) -> None:
    """Print the active rule set."""
    store = open_store(load_settings(db=db))
    try:
        print(alerts.rules_text(store) or "# no rules saved yet")
    finally:
        store.close()


@app.command("evaluate")
def evaluate(
    since: Annotated[
        str | None, typer.Option(help="Only posts created since (ISO date or time, UTC).")
    ] = None,
    deliver: Annotated[bool, typer.Option(help="Send the deliveries due now when done.")] = True,
    db: Db = None,
) -> None:
    """Check stored posts against the active rules (after an import, or after the rules change)."""
    from reachwatch.cli.coordination import parse_time

    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        alerts.load_configured_rules(store, settings.alerts.rules_file)
        found = alerts.evaluate_stored(store, since_us=parse_time(since, 0))
        sent = 0
        if deliver:
            worker = delivery_worker(store, settings, AlertEngine(store))
            try:
                sent = worker.deliver_due()
            finally:
                worker.close()
    finally:
        store.close()
    console.print(
        f"Checked {found.posts:,} posts ({found.counted:,} could match): {found.raised:,} alerts raised, "
        f"{found.escalated:,} escalated, {found.updated:,} updated; {sent:,} deliveries sent.",
        markup=False,
    )


@app.command("list")
def list_alerts(
    status: Annotated[str | None, typer.Option(help="open, acknowledged or closed.")] = "open",
    severity: Annotated[str | None, typer.Option(help="low, medium, high or critical.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """The inbox, newest change first."""
    with viewing(db) as (store, viewer):
        found = alerts.inbox(store, status=status or None, severity=severity, limit=limit)
        found = viewer.show(found, "view-alerts", "inbox", status=status, severity=severity, via="cli")
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    table = Table(title=f"Alerts ({found.total:,} {status or 'in all'})")
    for column in ("id", "severity", "rule", "title", "post", "status", "updated"):
        table.add_column(column)
    for alert in found.alerts:
        table.add_row(
            str(alert.id),
            alert.severity,
            alert.rule_id,
            safe(alert.title, 50),
            safe(alert.post_id or "", 40),
            alert.status,
            when(alert.updated_at_us),
        )
    console.print(table)


@app.command("deliver")
def deliver(
    once: Annotated[bool, typer.Option(help="Send what is due and stop.")] = False,
    db: Db = None,
) -> None:
    """Send due deliveries (retrying failures with backoff) until interrupted."""
    settings = load_settings(db=db)
    store = open_store(settings)
    engine = AlertEngine(store)
    worker = delivery_worker(store, settings, engine)
    try:
        if once:
            console.print(f"Sent {worker.deliver_due()} deliveries.", markup=False)
            return
        console.print("Delivering alerts; Ctrl-C stops.", markup=False)
        with contextlib.suppress(KeyboardInterrupt):
            worker.run(lambda: False)
    finally:
        worker.close()
        store.close()


@app.command("dead")
def dead(db: Db = None, as_json: AsJson = False) -> None:
    """Dead-lettered deliveries: tried `max_attempts` times, with their last error."""
    store = open_store(load_settings(db=db))
    try:
        found = dead_letters(store)
    finally:
        store.close()
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    table = Table(title=f"Dead letters ({len(found)})")
    for column in ("delivery", "alert", "channel", "attempts", "last error"):
        table.add_column(column)
    for row in found:
        table.add_row(
            str(row.id), str(row.alert_id), row.channel, str(row.attempts), safe(row.last_error or "", 80)
        )
    console.print(table)


@app.command("redeliver")
def redeliver(
    delivery: Annotated[int, typer.Argument(help="A dead-lettered delivery's id.")], db: Db = None
) -> None:
    """Queue a dead-lettered delivery again (a running deliverer sends it)."""
    from reachwatch.service.delivery import redeliver as requeue

    store = open_store(load_settings(db=db))
    try:
        requeue(store, delivery)
    finally:
        store.close()
    console.print(f"Delivery {delivery} is queued again.", markup=False)

"""`reachwatch watch …`, `reachwatch people …` and `reachwatch collect`: what to follow, and following it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.options import AsJson, Db
from reachwatch.cli.render import console, safe, when
from reachwatch.config import load_settings
from reachwatch.model import Person
from reachwatch.service import people as people_service
from reachwatch.service import platforms, watchlist
from reachwatch.service.collect import CollectOptions, Stopper, collect
from reachwatch.service.pipeline import SourceReport
from reachwatch.service.store_access import open_store

watch_app = typer.Typer(help="The accounts to watch, on every platform.", no_args_is_help=True)
people_app = typer.Typer(help="The registry of protected people.", no_args_is_help=True)


@watch_app.command("add")
def watch_add(
    specs: Annotated[
        list[str],
        typer.Argument(help="Accounts: bsky:handle.bsky.social, mastodon:@user@instance.social, x:username."),
    ],
    db: Db = None,
) -> None:
    """Watch accounts: each is looked up on its platform and kept by its stable id."""
    settings = load_settings(db=db)
    store = open_store(settings)
    clients = platforms.clients(settings)
    try:
        for spec in specs:
            entry = watchlist.add(store, clients, spec)
            console.print(f"Watching {entry.spec} as {entry.account_id} (@{entry.handle}).", markup=False)
    finally:
        clients.close()
        store.close()


@watch_app.command("remove")
def watch_remove(
    account: Annotated[str, typer.Argument(help="The spec, handle or id of a watched account.")],
    db: Db = None,
) -> None:
    """Stop watching an account (what was collected stays)."""
    store = open_store(load_settings(db=db))
    try:
        entry = watchlist.remove(store, account)
    finally:
        store.close()
    console.print(f"No longer watching {entry.spec} ({entry.account_id}).", markup=False)


@watch_app.command("list")
def watch_list(db: Db = None, as_json: AsJson = False) -> None:
    """The watched accounts."""
    store = open_store(load_settings(db=db))
    try:
        entries = watchlist.list_watched(store)
    finally:
        store.close()
    if as_json:
        print(msgspec.json.encode(entries).decode())
        return
    table = Table(title=f"{len(entries)} watched accounts")
    for name in ("account", "platform", "handle", "id", "added"):
        table.add_column(name)
    for entry in entries:
        table.add_row(
            safe(entry.spec),
            entry.platform,
            safe(entry.handle),
            safe(entry.account_id),
            when(entry.added_at_us),
        )
    console.print(table)


@people_app.command("add")
def people_add(
    name: Annotated[str, typer.Argument(help="Full name, e.g. 'Jess Phillips'.")],
    alias: Annotated[list[str] | None, typer.Option(help="Another way they are named (repeatable).")] = None,
    role: Annotated[list[str] | None, typer.Option(help="A role, e.g. 'Minister for Safeguarding'.")] = None,
    handle: Annotated[
        list[str] | None,
        typer.Option(help="platform:handle, e.g. bluesky:jessphillips.bsky.social (repeatable)."),
    ] = None,
    person_id: Annotated[str | None, typer.Option("--id", help="Id (default: from the name).")] = None,
    db: Db = None,
) -> None:
    """Add (or update) a protected person."""
    handles: dict[str, list[str]] = {}
    for item in handle or []:
        platform, sep, value = item.partition(":")
        if not sep or not value:
            raise typer.BadParameter(
                f"{item!r}: write platform:handle, e.g. x:jessphillips", param_hint="--handle"
            )
        handles.setdefault(platform, []).append(value)
    try:
        person = Person(
            id=person_id or people_service.person_id(name),
            name=name,
            aliases=alias or [],
            roles=role or [],
            handles=handles,
        )
    except (ValueError, msgspec.ValidationError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    store = open_store(load_settings(db=db))
    try:
        people_service.add(store, person)
    finally:
        store.close()
    console.print(f"Protected person {person.id}: {person.name}.", markup=False)


@people_app.command("list")
def people_list(db: Db = None, as_json: AsJson = False) -> None:
    """The protected people."""
    store = open_store(load_settings(db=db))
    try:
        found = people_service.list_people(store)
    finally:
        store.close()
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    table = Table(title=f"{len(found)} protected people")
    for name in ("id", "name", "aliases", "handles"):
        table.add_column(name)
    for person in found:
        handles = ", ".join(f"{p}:{h}" for p, hs in person.handles.items() for h in hs)
        table.add_row(safe(person.id), safe(person.name), safe(", ".join(person.aliases)), safe(handles))
    console.print(table)


@people_app.command("import")
def people_import(
    path: Annotated[Path, typer.Argument(help="A TOML ([[people]]), JSON or JSONL file of people.")],
    db: Db = None,
) -> None:
    """Add or update every person in a file."""
    store = open_store(load_settings(db=db))
    try:
        found = people_service.import_file(store, path)
    finally:
        store.close()
    console.print(f"Imported {len(found)} protected people from {path}.", markup=False)


def collect_command(
    db: Db = None,
    once: Annotated[bool, typer.Option(help="One backfill round, then exit (no live streams).")] = False,
    live: Annotated[bool, typer.Option(help="Run the live streams (Jetstream, Mastodon).")] = True,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    interval: Annotated[float, typer.Option(help="Seconds between backfill rounds.")] = 60.0,
    as_json: AsJson = False,
) -> None:
    """Collect: live streams and a backfill of new posts, counts and engagers of watched accounts."""
    settings = load_settings(db=db)
    store = open_store(settings)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    stopper = Stopper()
    options = CollectOptions(once=once, live=live, duration_s=duration, round_interval_s=interval)
    try:
        report = collect(store, settings, options, stopper=stopper)
    except KeyboardInterrupt:
        stopper.stop()
        raise typer.Exit(130) from None
    finally:
        store.close()
    if as_json:
        print(msgspec.json.encode(report).decode())
        return
    _collect_summary(report.live, report.backfill.requests, report.backfill.errors, report.waited_s)


def _collect_summary(
    live: dict[str, SourceReport], requests: int, errors: list[str], waited_s: float
) -> None:
    table = Table(title="collected")
    for name in ("source", "received", "written", "duplicates", "not kept", "quarantined"):
        table.add_column(name, justify="left" if name == "source" else "right")
    for report in live.values():
        table.add_row(
            safe(report.source),
            f"{report.received:,}",
            f"{report.written:,}",
            f"{report.duplicates:,}",
            f"{report.dropped:,}",
            f"{report.quarantined:,}",
        )
    console.print(table)
    console.print(f"Backfill: {requests:,} responses; waited {waited_s:.1f} s for rate limits and retries.")
    for error in errors:
        console.print(safe(f"  failed: {error}"))

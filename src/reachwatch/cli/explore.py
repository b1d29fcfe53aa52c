"""`reachwatch stats` and `reachwatch search`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.options import AsJson, Db
from reachwatch.cli.render import console, plural, safe, when
from reachwatch.cli.session import viewing
from reachwatch.config import load_settings
from reachwatch.service import explore
from reachwatch.service.explore import SearchOrder
from reachwatch.service.store_access import open_store


class Order(StrEnum):
    NEWEST = "newest"
    RELEVANCE = "relevance"


def init(db: Db = None) -> None:
    """Make a new, empty store (a SQLite file, or the schema in a PostgreSQL database)."""
    settings = load_settings(db=db)
    store = open_store(settings, create=True)
    try:
        console.print(
            f"A store is ready at {store.location} (schema {store.schema_version()}).", markup=False
        )
    finally:
        store.close()


def stats(db: Db = None, as_json: AsJson = False) -> None:
    """Counts of everything in the store, and where it is."""
    store = open_store(load_settings(db=db))
    try:
        result = explore.stats(store)
    finally:
        store.close()
    if as_json:
        print(msgspec.json.encode(result).decode())
        return
    table = Table(
        title=f"reachwatch store ({result.backend}, schema {result.schema_version})", show_header=False
    )
    rows = [
        ("location", result.location),
        ("raw events", f"{result.raw_events:,}"),
        ("accounts", f"{result.accounts:,} ({result.watched_accounts:,} watched)"),
        ("posts", f"{result.posts:,} ({result.deleted_posts:,} deleted)"),
        *((plural(kind), f"{count:,}") for kind, count in sorted(result.engagements.items())),
        ("follows", f"{result.follows:,}"),
        ("metric snapshots", f"{result.metric_snapshots:,}"),
        ("follower snapshots", f"{result.account_snapshots:,}"),
        ("protected people", f"{result.people:,}"),
        ("quarantine", f"{result.quarantine_open:,} open, {result.quarantine_resolved:,} resolved"),
        ("posts from", f"{when(result.first_post_us)} to {when(result.last_post_us)} UTC"),
    ]
    for name, value in rows:
        table.add_row(name, safe(value))
    console.print(table)


def search(
    query: Annotated[
        str,
        typer.Argument(
            help='Words that must all appear, "a phrase", OR, NOT or -word, (groups), from:HANDLE, '
            "since:DATE, until:DATE, lang:en, harm:threat|any, person:ID, platform:NAME.",
        ),
    ],
    db: Db = None,
    limit: Annotated[int, typer.Option(help="Results per page.")] = 20,
    page: Annotated[int, typer.Option(help="Page number, from 1.")] = 1,
    order: Annotated[
        Order, typer.Option(help="newest first, or best matches among the newest 5,000.")
    ] = Order.NEWEST,
    as_json: AsJson = False,
) -> None:
    """Search posts in the query language: words, phrases, AND, OR, NOT and fields."""
    chosen: SearchOrder = "newest" if order is Order.NEWEST else "relevance"
    with viewing(db) as (store, viewer):
        hits = explore.search(store, query, limit=limit, page=page, order=chosen, account=viewer.account)
        hits = viewer.show(hits, "search", query, via="cli", page=page)
    if as_json:
        print(msgspec.json.encode(hits).decode())
        return
    table = Table(title=f"{len(hits)} post{'' if len(hits) == 1 else 's'} (page {page}; --json for full ids)")
    table.add_column("time (UTC)")
    table.add_column("author")
    table.add_column("text", ratio=1)
    table.add_column("id")
    for hit in hits:
        text = safe(hit.text, 140)
        if hit.deleted:
            text.append(" [deleted]", style="dim")
        table.add_row(
            when(hit.created_at_us), safe(hit.author_handle or hit.author_id, 24), text, safe(hit.id, 28)
        )
    console.print(table)

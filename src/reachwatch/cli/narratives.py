"""`reachwatch narratives`: track, assign, discover, and read narratives over time."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.coordination import parse_time
from reachwatch.cli.options import AsJson, Db
from reachwatch.cli.render import console, safe, when
from reachwatch.cli.session import viewing
from reachwatch.config import load_settings
from reachwatch.errors import UsageError
from reachwatch.service import narratives
from reachwatch.service.store_access import open_store

app = typer.Typer(
    help="Narratives: what accounts push over time, and who carries each theme.", no_args_is_help=True
)
Example = Annotated[
    list[str], typer.Option("--example", help="An example post in the narrative's words (repeat).")
]


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The narrative's name, e.g. 'Two-tier policing'.")],
    example: Example,
    description: Annotated[str, typer.Option(help="What the narrative claims, in a sentence.")] = "",
    keyword: Annotated[
        list[str] | None, typer.Option("--keyword", help="A word that marks it (repeat).")
    ] = None,
    db: Db = None,
) -> None:
    """Track a narrative: its examples calibrate its threshold; stored posts are assigned at once."""
    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        row = narratives.add(
            store, settings.embedding_model, name, example, description=description, keywords=keyword
        )
    finally:
        store.close()
    note = row.calibration["note"]
    console.print(f"Tracking {row.name!r} ({row.id}): threshold {row.threshold:.2f} — {note}.", markup=False)


@app.command("edit")
def edit(
    name: Annotated[str, typer.Argument(help="The narrative's name or id.")],
    example: Annotated[
        list[str] | None, typer.Option("--example", help="Replace the examples (repeat).")
    ] = None,
    description: Annotated[str | None, typer.Option(help="Replace the description.")] = None,
    keyword: Annotated[
        list[str] | None, typer.Option("--keyword", help="Replace the keywords (repeat).")
    ] = None,
    db: Db = None,
) -> None:
    """Change a narrative's examples, description or keywords; it is recalibrated and reassigned."""
    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        old = narratives.find(store, name)
        row = narratives.add(
            store,
            settings.embedding_model,
            old.name,
            example or old.examples,
            description=old.description if description is None else description,
            keywords=old.keywords if keyword is None else keyword,
            origin=old.origin,
        )
    finally:
        store.close()
    console.print(f"Updated {row.name!r}: threshold {row.threshold:.2f}.", markup=False)


@app.command("list")
def list_command(db: Db = None, as_json: AsJson = False) -> None:
    """The tracked narratives with their thresholds and how many posts each claims."""
    store = open_store(load_settings(db=db))
    try:
        rows = narratives.list_narratives(store)
        counts = {row.id: narratives.spread(store, row.id, with_claims=False).posts for row in rows}
    finally:
        store.close()
    if as_json:
        print(
            msgspec.json.encode(
                [msgspec.structs.asdict(row) | {"posts": counts[row.id]} for row in rows]
            ).decode()
        )
        return
    table = Table(title=f"{len(rows)} narratives")
    for column in ("id", "name", "origin", "examples", "threshold", "posts"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.id,
            safe(row.name),
            row.origin,
            str(len(row.examples)),
            f"{row.threshold:.2f}",
            f"{counts[row.id]:,}",
        )
    console.print(table)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The narrative's name or id.")],
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Who carried a narrative: accounts in the order they took it up, the lag after the first, engagement."""
    with viewing(db) as (store, viewer):
        found = narratives.spread(store, name)
        found = viewer.show(found, "view-narrative", found.narrative.id, via="cli")
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    console.print(
        f"{safe(found.narrative.name)}: {found.posts:,} posts, {found.engagements:,} engagements; "
        f"threshold {found.narrative.threshold:.2f}",
        markup=False,
    )
    table = Table(title="Carriers, first to last")
    for column in ("account", "first", "lag (h)", "posts", "engagements"):
        table.add_column(column)
    for carrier in found.carriers[:50]:
        table.add_row(
            safe(carrier.handle or carrier.account_id, 40),
            when(carrier.first_at_us),
            f"{carrier.lag_hours:,.1f}",
            str(carrier.posts),
            f"{carrier.engagements:,}",
        )
    console.print(table)
    claims = Table(title="Claims (the same claim in other words, grouped)")
    for column in ("claim", "posts", "accounts", "first", "wordings"):
        claims.add_column(column)
    for claim in found.claims[:20]:
        claims.add_row(safe(claim.text, 80), str(claim.posts), str(claim.accounts), when(claim.first_at_us),
                       str(len(claim.wordings)))  # fmt: skip
    console.print(claims)


@app.command("timeline")
def timeline(
    account: Annotated[str, typer.Argument(help="An account: its id, handle, or the pseudonym shown.")],
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """The narratives an account pushed, week by week: posts and the engagement they drew."""
    with viewing(db) as (store, viewer):
        account = viewer.account(account)
        found = viewer.show(
            narratives.timeline(store, account), "view-account", account, part="narratives", via="cli"
        )
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    console.print(
        f"{safe(found.handle or found.account_id)}: " + (" → ".join(found.sequence) or "no narratives"),
        markup=False,
    )
    table = Table(title="Per week")
    for column in ("week of", "narrative", "posts", "engagements"):
        table.add_column(column)
    for row in found.weeks:
        table.add_row(when(row.week_us)[:10], row.narrative_id, str(row.posts), f"{row.engagements:,}")
    console.print(table)


@app.command("discover")
def discover_command(
    since: Annotated[str, typer.Option(help="From this ISO time.")],
    until: Annotated[str | None, typer.Option(help="Until this ISO time (default: now).")] = None,
    min_cluster_size: Annotated[
        int, typer.Option(help="The fewest posts a discovered theme has.", min=2)
    ] = 10,
    order: Annotated[
        str, typer.Option(help="size: the largest themes first; harm: the most posts flagged harmful first.")
    ] = "size",
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Themes among the window's posts that no tracked narrative claims, with keywords and examples."""
    if order not in ("size", "harm"):
        raise UsageError(f"--order {order!r}: use size or harm.")
    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        window = parse_time(since, 0), parse_time(until, 2**62)
        found = narratives.discover_between(
            store, settings.embedding_model, *window, min_cluster_size, "harm" if order == "harm" else "size"
        )
    finally:
        store.close()
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    console.print(f"{len(found.clusters)} themes among {found.posts:,} unclaimed posts.", markup=False)
    for cluster in found.clusters:
        console.print(
            f"\n#{cluster.label} ({cluster.size} posts, {cluster.distinct} distinct texts, "
            f"{cluster.harmful} flagged harmful): {', '.join(cluster.keywords)}",
            markup=False,
        )
        for text in found.examples[cluster.label]:
            console.print("  · ", safe(text, 140), markup=False)
    console.print("\nPromote one with `reachwatch narratives add NAME --example TEXT ...`.", markup=False)


@app.command("promote")
def promote(
    theme: Annotated[int, typer.Argument(help="The theme's number, as `narratives discover` showed it.")],
    name: Annotated[str, typer.Argument(help="The name to track it under.")],
    since: Annotated[str, typer.Option(help="The discovery window's start (as given to discover).")],
    until: Annotated[str | None, typer.Option(help="The window's end (as given to discover).")] = None,
    min_cluster_size: Annotated[int, typer.Option(help="As given to discover.", min=2)] = 10,
    db: Db = None,
) -> None:
    """Track a discovered theme: its most central posts become the narrative's examples."""
    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        window = parse_time(since, 0), parse_time(until, 2**62)
        row = narratives.promote(store, settings.embedding_model, *window, theme, name, min_cluster_size)
    finally:
        store.close()
    console.print(
        f"Tracking {row.name!r} ({row.id}) from theme {theme}: threshold {row.threshold:.2f}.", markup=False
    )


@app.command("embed")
def embed(
    since: Annotated[str | None, typer.Option(help="Posts from this ISO time.")] = None,
    until: Annotated[str | None, typer.Option(help="Posts until this ISO time.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many posts this run.")] = None,
    db: Db = None,
) -> None:
    """Embed the posts that have no vector yet and assign them (resumable: run it again to go on)."""
    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        report = narratives.embed_pending(
            store,
            settings.embedding_model,
            since_us=parse_time(since, 0),
            until_us=parse_time(until, 2**62),
            limit=limit,
        )
    finally:
        store.close()
    console.print(
        f"Embedded {report.embedded:,} posts ({report.posts_per_s:,.0f}/s), "
        f"{report.assigned:,} assigned to narratives.",
        markup=False,
    )

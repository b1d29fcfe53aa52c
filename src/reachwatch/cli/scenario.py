"""`reachwatch demo`, `reachwatch generate` and `reachwatch eval scenario`."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from reachwatch.cli.options import Db
from reachwatch.cli.render import console, errors, plural, safe, when
from reachwatch.cli.serve import Host, Port, run_server
from reachwatch.config import load_settings
from reachwatch.scenario.generator import ScenarioConfig
from reachwatch.service import alerts, explore, users
from reachwatch.service import scenario as scenarios
from reachwatch.service.ingest import IngestOptions, IngestProgress
from reachwatch.service.store_access import Store, open_store

Seed = Annotated[int, typer.Option(help="Seed of the scenario; the same seed gives the same data.")]


def demo(
    db: Annotated[
        str, typer.Option("--db", help="Store to build (SQLite path or postgresql:// URL).")
    ] = "reachwatch-demo.db",
    seed: Seed = 7,
    serve: Annotated[bool, typer.Option(help="Serve the dashboard afterwards.")] = True,
    host: Host = "127.0.0.1",
    port: Port = 8000,
) -> None:
    """Build the minister-case scenario through the real pipeline and summarise what it holds."""
    settings = load_settings(db=db)
    store = open_store(settings, create=True)
    config = ScenarioConfig(seed=seed)
    try:
        console.print(f"Building the scenario (seed {seed}) into {store.location} …", markup=False)
        with Progress(
            TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
        ) as bar:
            task = bar.add_task("ingest", total=None)

            def draw(update: IngestProgress) -> None:
                bar.update(task, completed=update.lines)

            report = scenarios.load_demo(
                store,
                config,
                IngestOptions(batch_size=settings.batch_size),
                draw,
                embedding_model=settings.embedding_model,
            )
        ingest = report.ingest
        console.print(
            f"Ingested {ingest.lines:,} payloads in {ingest.seconds:.1f} s: {ingest.events:,} new events, "
            f"{ingest.duplicates:,} already there, {ingest.quarantined:,} quarantined.",
            markup=False,
        )
        _print_summary(store, report.truth.trigger_post_id)
        console.print(f"\nStore: {store.location}", markup=False)
        console.print(
            f"Next: {_me()} stats --db {db} · {_me()} search Whitfield --db {db} · "
            f"{_me()} eval scenario --db {db}",
            markup=False,
        )
        if not alerts.rules_text(store):
            alerts.save_rules(store, alerts.demo_rules_text(), "demo")
        raised = alerts.evaluate_stored(store)
        console.print(
            f"Alert rules raised {raised.raised:,} alerts ({raised.escalated:,} escalated).", markup=False
        )
        password = users.demo_admin(store)
        console.print(
            f"\nLog in to the dashboard as [b]demo[/b] with the password [b]{password}[/b] (an admin; a new "
            f"password each run). Add officers with `{_me()} users add NAME --role analyst --db {db}`."
        )
        if serve:
            run_server(store, host, port, settings, retention_job=False)
    finally:
        store.close()


def _me() -> str:
    """How the user can call this command again: its name if on PATH, else its path."""
    if shutil.which("reachwatch"):
        return "reachwatch"
    return os.path.relpath(sys.argv[0]) if sys.argv and sys.argv[0].endswith("reachwatch") else "reachwatch"


def _print_summary(store: Store, trigger_post_id: str) -> None:
    counts = explore.stats(store)
    kinds = ", ".join(f"{n:,} {plural(k)}" for k, n in sorted(counts.engagements.items()))
    console.print(
        f"Store holds {counts.posts:,} posts, {sum(counts.engagements.values()):,} engagements "
        f"({kinds}), "
        f"{counts.accounts:,} accounts, {counts.metric_snapshots:,} metric snapshots.",
        markup=False,
    )
    table = Table(title="Top posts by engagement")
    table.add_column("posted (UTC)")
    table.add_column("author")
    table.add_column("text", ratio=1)
    for column in ("reposts", "quotes", "replies", "likes"):
        table.add_column(column, justify="right", no_wrap=True)
    for post in explore.top_posts(store, limit=5):
        table.add_row(
            when(post.created_at_us),
            safe(post.author_handle or post.author_id, 22),
            safe(post.text, 60),
            f"{post.reposts:,}",
            f"{post.quotes:,}",
            f"{post.replies:,}",
            f"{post.likes:,}",
        )
    console.print(table)
    table = Table(title="Top amplifiers of the most engaged post, by audience")
    table.add_column("account", no_wrap=True, overflow="ellipsis")
    for column in ("followers", "first amplified (UTC)", "reposts", "quotes"):
        table.add_column(column, justify="right", no_wrap=True)
    for amp in explore.top_amplifiers(store, post_id=trigger_post_id, limit=10):
        table.add_row(
            safe(amp.handle or amp.account_id, 40),
            f"{amp.followers or 0:,}",
            when(amp.first_at_us),
            str(amp.reposts),
            str(amp.quotes),
        )
    console.print(table)


def generate(
    events: Annotated[int, typer.Option(help="How many payload lines to write.")] = 100_000,
    out: Annotated[Path | None, typer.Option(help="File to write; stdout when left out.")] = None,
    seed: Seed = 7,
) -> None:
    """Write the scenario as Jetstream JSONL, topped up with background traffic to --events lines."""
    written = scenarios.write_generated(ScenarioConfig(seed=seed), events, out)
    if out is not None:
        console.print(f"Wrote {written:,} lines to {out}.", markup=False)


def evaluate(
    db: Db = None,
    name: Annotated[str | None, typer.Option(help="Scenario name; the newest when left out.")] = None,
) -> None:
    """How well the store and the analyses recover the scenario's ground truth."""
    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        truth, checks = scenarios.evaluate(store, name, settings.embedding_model)
    finally:
        store.close()
    table = Table(title=f"Scenario {truth.name} (seed {truth.seed})")
    for column in ("check", "expected", "found", "result"):
        table.add_column(column)
    for check in checks:
        result = "pass" if check.passed else "not yet" if check.passed is None else "FAIL"
        table.add_row(check.name, safe(check.expected, 100), safe(check.found, 300), result)
    console.print(table)
    if any(check.passed is False for check in checks):
        errors.print("Some checks failed.")
        raise typer.Exit(1)

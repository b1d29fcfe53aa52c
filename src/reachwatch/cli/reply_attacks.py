"""`reachwatch reply-attacks`: replies arriving in concert on the posts of the people we protect."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.coordination import parse_time, parse_window
from reachwatch.cli.options import AsJson, Db, Names
from reachwatch.cli.render import console, safe
from reachwatch.cli.session import viewing
from reachwatch.model import iso_from_micros
from reachwatch.service.reply_attacks import ReplyAttackOptions, detect


def reply_attacks(
    db: Db = None,
    person: Annotated[
        str | None, typer.Option(help="Only posts by or naming this protected person (id).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Targets posted from this ISO time (default: all).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Targets posted until this ISO time (default: now).")
    ] = None,
    window: Annotated[str, typer.Option(help="How close in time co-replies must be: 60s, 5m.")] = "60s",
    horizon: Annotated[float, typer.Option(min=1, help="Hours after each target its replies count.")] = 48.0,
    top: Annotated[int, typer.Option(min=1, help="Targets and repliers listed.")] = 10,
    as_json: AsJson = False,
    names_under_case: Names = None,
) -> None:
    """Replies and quotes arriving in bursts, from accounts that act together across targets, on
    posts by or naming protected people and on watched posts (repliers by pseudonym)."""
    options = ReplyAttackOptions(
        since_us=parse_time(since, 0), until_us=parse_time(until, 2**62), window_s=parse_window(window),
        horizon_hours=horizon, person=person,
    )  # fmt: skip
    with viewing(db, names_under_case) as (store, viewer):
        report = viewer.show(detect(store, options), "reply-attacks", person or "all", via="cli")
    if as_json:
        print(msgspec.json.encode(report).decode())
        return
    attacked = [t for t in report.targets if t.attacked]
    console.print(
        f"{report.targets_considered:,} target posts, {report.replies:,} replies; {len(attacked)} attacked "
        f"by {len(report.clusters)} cluster(s) of {len(report.repliers)} accounts; {report.seconds:.2f} s",
        markup=False,
    )
    table = Table(title="targets, attacked first")
    for column in ("post", "posted (UTC)", "why", "score", "replies", "in bursts", "largest burst"):
        table.add_column(column)
    for t in report.targets[:top]:
        table.add_row(
            safe(t.post_id, 60), iso_from_micros(t.created_at_us)[:16], safe(", ".join(t.why), 40),
            f"{t.score:.2f}", str(t.replies), str(t.coordinated),
            f"{t.largest_burst} in {t.burst_spread_s:.0f} s" if t.largest_burst else "",
        )  # fmt: skip
    console.print(table)
    if report.repliers:
        table = Table(title="coordinated repliers")
        for column in ("account", "cluster", "score", "drivers"):
            table.add_column(column)
        for r in report.repliers[:top]:
            table.add_row(r.account_id, str(r.cluster), f"{r.score:.2f}", safe("; ".join(r.drivers), 120))
        console.print(table)

"""`reachwatch automation [ACCOUNT...]`: automation-likeness with the features that drove it."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.coordination import parse_time
from reachwatch.cli.options import AsJson, Db, Names
from reachwatch.cli.render import console, safe
from reachwatch.cli.session import viewing
from reachwatch.service.automation import score_accounts


def automation(
    accounts: Annotated[
        list[str] | None, typer.Argument(help="Account ids (default: the most automated).")
    ] = None,
    db: Db = None,
    since: Annotated[str | None, typer.Option(help="Actions from this ISO time.")] = None,
    until: Annotated[str | None, typer.Option(help="Actions until this ISO time.")] = None,
    min_actions: Annotated[int, typer.Option(help="Without accounts: actions needed to be scored.")] = 5,
    top: Annotated[int, typer.Option(help="Without accounts: how many to show.")] = 20,
    as_json: AsJson = False,
    names_under_case: Names = None,
) -> None:
    """A transparent 0–1 score per account: rate, regularity, clock, age, profile, handle, bursts
    (ordinary accounts by pseudonym unless named under an open case)."""
    with viewing(db, names_under_case) as (store, viewer):
        named = [viewer.account(account) for account in accounts or []]
        scored = score_accounts(
            store, named or None, since_us=parse_time(since, 0), until_us=parse_time(until, 2**62),
            min_actions=min_actions, top=top,
        )  # fmt: skip
        scored = viewer.show(scored, "automation", " ".join(named) or "top", via="cli")
    if as_json:
        print(msgspec.json.encode(scored).decode())
        return
    table = Table(title="Automation-likeness (a heuristic to check, not a verdict)")
    for column in ("account", "score", "actions", "what drove it"):
        table.add_column(column)
    for item in scored:
        drivers = [d for d in item.result.drivers if d.contribution > 0][:3]
        table.add_row(
            safe(item.handle or item.account, 40),
            f"{item.result.score:.2f}",
            f"{item.result.actions:,}",
            safe("; ".join(f"{d.feature} +{d.contribution:.2f} ({d.value})" for d in drivers), 90),
        )
    console.print(table)

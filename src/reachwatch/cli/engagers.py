"""`reachwatch engagers POST|ACCOUNT`: who engaged, how, how soon, with what audience and history."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.coordination import parse_time
from reachwatch.cli.options import AsJson, Db, Names
from reachwatch.cli.render import console, safe, when
from reachwatch.cli.session import viewing
from reachwatch.service.engagers import EngagerSort, engager_table


class Sort(StrEnum):
    FIRST = "first"
    FOLLOWERS = "followers"
    ACTIONS = "actions"
    PRIOR = "prior"


def engagers(
    subject: Annotated[str, typer.Argument(help="A post id, or an account id (its posts in the window).")],
    db: Db = None,
    since: Annotated[str | None, typer.Option(help="For an account: posts from this ISO time.")] = None,
    until: Annotated[str | None, typer.Option(help="For an account: posts until this ISO time.")] = None,
    sort: Annotated[Sort, typer.Option(help="Order of the table.")] = Sort.FIRST,
    limit: Annotated[int, typer.Option(help="Rows per page.")] = 50,
    page: Annotated[int, typer.Option(help="Page number, from 1.")] = 1,
    as_json: AsJson = False,
    names_under_case: Names = None,
) -> None:
    """Every account that engaged: kinds, first time, delay, followers, account age, prior engagements.
    Ordinary engagers are shown by pseudonym unless named under an open case."""
    with viewing(db, names_under_case) as (store, viewer):
        subject = viewer.resolve(subject)
        table = engager_table(
            store, subject, since_us=parse_time(since, 0), until_us=parse_time(until, 2**62),
            sort=EngagerSort(sort.value), limit=limit, page=page,
        )  # fmt: skip
        table = viewer.show(table, "view-engagers", subject, via="cli")
    if as_json:
        print(msgspec.json.encode(table).decode())
        return
    view = Table(
        title=f"{table.total:,} engagers of {table.posts} post(s); "
        f"{table.first_hour_amplifiers:,} amplified in the first hour (page {page})"
    )
    for column in ("account", "kinds", "first", "delay", "followers", "age (d)", "before"):
        view.add_column(column)
    for row in table.rows:
        view.add_row(
            safe(row.handle or row.account_id, 40),
            ",".join(row.kinds),
            when(row.first_at_us),
            "-" if row.delay_s is None else f"{row.delay_s:,.0f} s",
            "-" if row.followers is None else f"{row.followers:,}",
            "-" if row.account_age_days is None else f"{row.account_age_days:,.0f}",
            str(row.prior_engagements),
        )
    console.print(view)

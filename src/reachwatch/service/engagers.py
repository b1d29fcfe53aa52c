"""The engager table: for a post, or an author's posts in a time window, every engaging account
with what it did, how soon, its own audience and age, and its history with the author."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from reachwatch.errors import NotFoundError, UsageError
from reachwatch.store import engagers as reads
from reachwatch.store import reach as reach_reads
from reachwatch.store.database import Store

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
AMPLIFYING = {"repost", "quote"}


class EngagerSort(StrEnum):
    FIRST = "first"
    FOLLOWERS = "followers"
    ACTIONS = "actions"
    PRIOR = "prior"


class Engager(msgspec.Struct, kw_only=True):
    account_id: str
    handle: str | None
    kinds: list[str]
    actions: int
    first_at_us: int
    delay_s: float | None  # after the post (post mode)
    followers: int | None
    account_age_days: float | None  # at the time of its first engagement
    prior_engagements: int  # with the same author's earlier posts
    first_hour: bool


class EngagerTable(msgspec.Struct, kw_only=True):
    subject: str
    posts: int
    total: int
    rows: list[Engager]
    top_amplifiers: list[Engager]  # amplifiers ordered by the audience they add
    first_hour_amplifiers: int


def engager_table(
    store: Store,
    subject: str,
    *,
    since_us: int = 0,
    until_us: int = 2**62,
    sort: EngagerSort = EngagerSort.FIRST,
    limit: int = 50,
    page: int = 1,
) -> EngagerTable:
    """`subject` is a post id, or an account id (its posts in the window)."""
    if limit < 1 or page < 1:
        raise UsageError("--limit and --page start at 1.")
    head = reach_reads.post_head(store, subject)
    if head is not None:
        posts = [(head.id, head.created_at_us)]
        author = head.author_id
    else:
        posts = reads.posts_of(store, subject, since_us, until_us)
        author = subject
        if not posts:
            raise NotFoundError(
                f"{subject!r} is neither a post nor an account with posts in the window. "
                "Find ids with `reachwatch search` or `reachwatch watch list`."
            )
    created = dict(posts)
    earliest = min(created.values())
    rows = reads.engagers(store, list(created), since_us if head is None else 0, until_us)
    single = head.created_at_us if head is not None else None
    # Prior engagements cost a query per 5,000 accounts: for all rows only when sorting by them.
    prior = (
        reads.prior_engagements(store, author, earliest, [row.account_id for row in rows])
        if sort == EngagerSort.PRIOR
        else {}
    )
    order = {
        EngagerSort.FIRST: lambda r: (r.first_at_us, r.account_id),
        EngagerSort.FOLLOWERS: lambda r: (-(r.followers or 0), r.account_id),
        EngagerSort.ACTIONS: lambda r: (-r.actions, r.account_id),
        EngagerSort.PRIOR: lambda r: (-prior.get(r.account_id, 0), r.account_id),
    }[sort]
    rows.sort(key=order)
    amplifiers = [row for row in rows if row.kinds and AMPLIFYING.intersection(row.kinds.split(","))]
    top = sorted(amplifiers, key=lambda r: (-(r.followers or 0), r.account_id))[:10]
    start = (page - 1) * limit
    shown = rows[start : start + limit]
    if sort != EngagerSort.PRIOR:
        prior = reads.prior_engagements(store, author, earliest, [row.account_id for row in shown + top])

    def engager(row: reads.EngagerRow) -> Engager:
        return Engager(
            account_id=row.account_id,
            handle=row.handle,
            kinds=sorted(set(row.kinds.split(","))) if row.kinds else [],
            actions=row.actions,
            first_at_us=row.first_at_us,
            delay_s=(row.first_at_us - single) / 1e6 if single is not None else None,
            followers=row.followers,
            account_age_days=(row.first_at_us - row.account_created_us) / DAY_US
            if row.account_created_us is not None
            else None,
            prior_engagements=prior.get(row.account_id, 0),
            first_hour=single is not None and row.first_at_us - single < HOUR_US,
        )

    return EngagerTable(
        subject=subject,
        posts=len(posts),
        total=len(rows),
        rows=[engager(row) for row in shown],
        top_amplifiers=[engager(row) for row in top],
        first_hour_amplifiers=sum(
            1 for row in amplifiers if single is not None and row.first_at_us - single < HOUR_US
        ),
    )

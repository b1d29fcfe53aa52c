"""Store reads behind the watch floor: watched accounts, their recent posts, and each post's
engagements in all and in the last hour."""

from __future__ import annotations

import msgspec
from sqlalchemy import and_, case, func, select, text

from reachwatch.store import schema
from reachwatch.store.database import Store

KINDS = ("repost", "quote", "reply", "like")


class WatchedRow(msgspec.Struct, array_like=True):
    account_id: str
    handle: str | None
    display_name: str | None
    followers: int | None


class RecentPost(msgspec.Struct, array_like=True):
    post_id: str
    author_id: str
    created_at_us: int
    text: str
    total: int
    last_hour: int
    by_kind: dict[str, int]  # live engagements up to now per kind (repost, quote, reply, like)


def watched_accounts(store: Store) -> list[WatchedRow]:
    a = schema.accounts
    # "watched" as written in the partial index's condition, so both databases use the index.
    # No ORDER BY: SQLite would then walk the handle index over every account instead.
    stmt = select(a.c.id, a.c.handle, a.c.display_name, a.c.followers).where(text("accounts.watched"))
    with store.connect() as conn:
        found = [WatchedRow(*row) for row in conn.execute(stmt)]
    return sorted(found, key=lambda row: (row.handle or row.account_id).lower())


def newest_activity_us(store: Store) -> int | None:
    """The newest post or engagement time: 'now' for a store that is not being fed live."""
    with store.connect() as conn:
        posts = conn.execute(select(func.max(schema.posts.c.created_at_us))).scalar()
        engaged = conn.execute(select(func.max(schema.engagements.c.created_at_us))).scalar()
    known = [int(value) for value in (posts, engaged) if value is not None]
    return max(known) if known else None


def recent_posts(store: Store, authors: list[str], since_us: int, now_us: int) -> list[RecentPost]:
    """Posts (not replies) by these authors since `since_us`, with their live engagements up to
    now and in the hour before now."""
    p, e, d = schema.posts, schema.engagements, schema.deletions
    if not authors:
        return []
    in_window = and_(e.c.created_at_us <= now_us)
    counts = (
        select(
            e.c.post_id,
            func.count().label("total"),
            func.coalesce(func.sum(case((e.c.created_at_us > now_us - 3_600_000_000, 1), else_=0)), 0).label(
                "hour"
            ),
            *(func.coalesce(func.sum(case((e.c.kind == kind, 1), else_=0)), 0) for kind in KINDS),
        )
        .select_from(e.outerjoin(d, d.c.id == e.c.id))
        .where(d.c.id.is_(None), in_window)
        .group_by(e.c.post_id)
    )
    posts = select(p.c.id, p.c.author_id, p.c.created_at_us, p.c.text).where(
        p.c.author_id.in_(authors), p.c.created_at_us >= since_us, p.c.created_at_us <= now_us,
        p.c.reply_to.is_(None), p.c.deleted_at_us.is_(None),
    )  # fmt: skip
    with store.connect() as conn:
        found = list(conn.execute(posts))
        if not found:
            return []
        ids = [row[0] for row in found]
        totals: dict[str, tuple[int, int, dict[str, int]]] = {}
        for start in range(0, len(ids), 500):
            chunk = counts.where(e.c.post_id.in_(ids[start : start + 500]))
            totals.update(
                {
                    row[0]: (
                        int(row[1]),
                        int(row[2]),
                        {kind: int(n) for kind, n in zip(KINDS, row[3:], strict=True)},
                    )
                    for row in conn.execute(chunk)
                }
            )
    return [
        RecentPost(post_id, author, at_us, text, *totals.get(post_id, (0, 0, dict.fromkeys(KINDS, 0))))
        for post_id, author, at_us, text in found
    ]

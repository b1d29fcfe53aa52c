"""Store reads behind coordination detection: who did what to which item, when, in a time range."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import and_, false, func, select

from reachwatch.store import schema
from reachwatch.store.database import Store


class Actions(msgspec.Struct, kw_only=True):
    """Parallel lists: action i is `accounts[i]` acting on `items[i]` at `times_us[i]` in `messages[i]`."""

    accounts: list[str]
    items: list[str]
    times_us: list[int]
    messages: list[str]


def reposts(store: Store, since_us: int, until_us: int, accounts: list[str] | None = None) -> Actions:
    """Live reposts with a known time in [since, until) (by `accounts` only, when given)."""
    e, d = schema.engagements, schema.deletions
    stmt: Any = (
        select(e.c.actor_id, e.c.post_id, e.c.created_at_us, e.c.id)
        .select_from(e.outerjoin(d, d.c.id == e.c.id))
        .where(
            e.c.kind == "repost",
            e.c.created_at_us >= since_us,
            e.c.created_at_us < until_us,
            e.c.time_observed == false(),
            d.c.id.is_(None),
        )
    )
    if accounts is not None:
        stmt = stmt.where(e.c.actor_id.in_(accounts))
    with store.connect() as conn:
        rows = conn.execute(stmt).cursor.fetchall()
    return Actions(
        accounts=[r[0] for r in rows], items=[r[1] for r in rows], times_us=[r[2] for r in rows],
        messages=[r[3] for r in rows],
    )  # fmt: skip


def post_entities(
    store: Store, since_us: int, until_us: int, column: str, authors: list[str] | None = None
) -> Actions:
    """One action per (live post, entity) for the posts' `urls` or `hashtags` in [since, until)
    (written by `authors` only, when given)."""
    p = schema.posts
    stmt: Any = select(p.c.author_id, p.c[column], p.c.created_at_us, p.c.id).where(
        and_(p.c.created_at_us >= since_us, p.c.created_at_us < until_us, p.c.deleted_at_us.is_(None))
    )
    if authors is not None:
        stmt = stmt.where(p.c.author_id.in_(authors))
    accounts: list[str] = []
    items: list[str] = []
    times: list[int] = []
    messages: list[str] = []
    with store.connect() as conn:
        for author, values, created, ident in conn.execute(stmt):
            for value in dict.fromkeys(values or ()):  # an entity once per post
                accounts.append(author)
                items.append(value)
                times.append(created)
                messages.append(ident)
    return Actions(accounts=accounts, items=items, times_us=times, messages=messages)


def post_texts(store: Store, since_us: int, until_us: int, authors: list[str] | None = None) -> Actions:
    """Live posts with text in [since, until): the `items` are the texts (near-duplicate input);
    written by `authors` only, when given."""
    p = schema.posts
    stmt: Any = select(p.c.author_id, p.c.text, p.c.created_at_us, p.c.id).where(
        and_(
            p.c.created_at_us >= since_us,
            p.c.created_at_us < until_us,
            p.c.deleted_at_us.is_(None),
            p.c.text != "",
        )
    )
    if authors is not None:
        stmt = stmt.where(p.c.author_id.in_(authors))
    with store.connect() as conn:
        rows = conn.execute(stmt).all()
    return Actions(
        accounts=[r[0] for r in rows], items=[r[1] or "" for r in rows], times_us=[r[2] for r in rows],
        messages=[r[3] for r in rows],
    )  # fmt: skip


def action_counts(
    store: Store, source: str, since_us: int, until_us: int, bucket_us: int
) -> list[tuple[int, int]]:
    """How many actions of a kind fall in each `bucket_us` step of [since, until), ascending by
    bucket (bucket b starts at b × bucket_us): what coordination detection sizes its time chunks
    by. `source` is "reposts" (live reposts with a known time), "posts" (live posts; a post with
    several links or hashtags is several actions, so this counts fewer) or "texts" (posts with text)."""
    e, p = schema.engagements, schema.posts
    if source == "reposts":
        bucket: Any = e.c.created_at_us // bucket_us
        stmt: Any = select(bucket, func.count()).where(
            e.c.kind == "repost",
            e.c.created_at_us >= since_us,
            e.c.created_at_us < until_us,
            e.c.time_observed == false(),
        )
    else:
        bucket = p.c.created_at_us // bucket_us
        stmt = select(bucket, func.count()).where(
            p.c.created_at_us >= since_us, p.c.created_at_us < until_us, p.c.deleted_at_us.is_(None)
        )
        if source == "texts":
            stmt = stmt.where(p.c.text != "")
    with store.connect() as conn:
        rows = conn.execute(stmt.group_by(bucket).order_by(bucket)).all()
    return [(int(b), int(n)) for b, n in rows]

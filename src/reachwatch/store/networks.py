"""Store reads behind the interaction and co-engagement networks: who engaged with whose post,
and the hashtags and links of the posts written in the same scope."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import or_, select

from reachwatch.store import schema
from reachwatch.store.database import Store


class Interactions(msgspec.Struct, kw_only=True):
    """Parallel lists: engagement i is `actors[i]` doing `kinds[i]` on `posts[i]` by `authors[i]`
    at `times_us[i]`."""

    actors: list[str]
    authors: list[str]
    posts: list[str]
    kinds: list[str]
    times_us: list[int]


def _scope(since_us: int, until_us: int, post_id: str | None, author_id: str | None) -> list[Any]:
    """Posts in scope: a post and its thread and quotes; an author's posts and the threads under
    them; or everything; written in [since, until)."""
    p = schema.posts
    conditions: list[Any] = [p.c.created_at_us >= since_us, p.c.created_at_us < until_us]
    if post_id is not None:
        conditions.append(or_(p.c.id == post_id, p.c.reply_root == post_id, p.c.quote_of == post_id))
    if author_id is not None:
        own = select(p.c.id).where(p.c.author_id == author_id).scalar_subquery()
        conditions.append(or_(p.c.author_id == author_id, p.c.reply_root.in_(own), p.c.quote_of.in_(own)))
    return conditions


def interactions(
    store: Store, since_us: int, until_us: int, post_id: str | None = None, author_id: str | None = None
) -> Interactions:
    """Live engagements on the posts in scope, with each post's author."""
    e, d, p = schema.engagements, schema.deletions, schema.posts
    stmt: Any = (
        select(e.c.actor_id, p.c.author_id, e.c.post_id, e.c.kind, e.c.created_at_us)
        .select_from(e.join(p, p.c.id == e.c.post_id).outerjoin(d, d.c.id == e.c.id))
        .where(d.c.id.is_(None), *_scope(since_us, until_us, post_id, author_id))
    )
    with store.connect() as conn:
        rows = conn.execute(stmt).cursor.fetchall()
    return Interactions(
        actors=[r[0] for r in rows], authors=[r[1] for r in rows], posts=[r[2] for r in rows],
        kinds=[r[3] for r in rows], times_us=[r[4] for r in rows],
    )  # fmt: skip


def authored_entities(
    store: Store, since_us: int, until_us: int, post_id: str | None = None, author_id: str | None = None
) -> list[tuple[str, list[str], list[str]]]:
    """(author, hashtags, urls) of each live post in scope: what each community talks about."""
    p = schema.posts
    stmt: Any = select(p.c.author_id, p.c.hashtags, p.c.urls).where(
        p.c.deleted_at_us.is_(None), *_scope(since_us, until_us, post_id, author_id)
    )
    with store.connect() as conn:
        return [(author, tags or [], urls or []) for author, tags, urls in conn.execute(stmt)]


def profiles(store: Store, ids: list[str]) -> dict[str, tuple[str | None, int | None]]:
    """Handle and followers of each account known to the store."""
    a = schema.accounts
    found: dict[str, tuple[str | None, int | None]] = {}
    with store.connect() as conn:
        for start in range(0, len(ids), 500):
            stmt = select(a.c.id, a.c.handle, a.c.followers).where(a.c.id.in_(ids[start : start + 500]))
            for ident, handle, followers in conn.execute(stmt):
                found[ident] = (handle, followers)
    return found

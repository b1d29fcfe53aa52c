"""Store reads behind the engager table: per engaging account, what it did, when, and who it is."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import and_, func, select

from reachwatch.store import schema
from reachwatch.store.database import Store


class EngagerRow(msgspec.Struct, array_like=True):
    account_id: str
    kinds: str  # comma-separated distinct kinds
    first_at_us: int
    actions: int
    handle: str | None
    followers: int | None
    account_created_us: int | None


def engagers(store: Store, post_ids: list[str], since_us: int, until_us: int) -> list[EngagerRow]:
    """Every account with a live engagement on these posts in [since, until), aggregated."""
    e, d, a = schema.engagements, schema.deletions, schema.accounts
    grouped = (
        select(
            e.c.actor_id.label("actor"),
            func.group_concat(e.c.kind.distinct()).label("kinds")
            if store.dialect == "sqlite"
            else func.string_agg(e.c.kind.distinct(), ",").label("kinds"),
            func.min(e.c.created_at_us).label("first"),
            func.count().label("actions"),
        )
        .select_from(e.outerjoin(d, d.c.id == e.c.id))
        .where(
            e.c.post_id.in_(post_ids),
            e.c.created_at_us >= since_us,
            e.c.created_at_us < until_us,
            d.c.id.is_(None),
        )
        .group_by(e.c.actor_id)
        .subquery()
    )
    stmt: Any = select(
        grouped.c.actor, grouped.c.kinds, grouped.c.first, grouped.c.actions, a.c.handle, a.c.followers,
        a.c.created_at_us,
    ).select_from(grouped.outerjoin(a, a.c.id == grouped.c.actor))  # fmt: skip
    with store.connect() as conn:
        return [EngagerRow(*row) for row in conn.execute(stmt).cursor.fetchall()]


def posts_of(store: Store, author_id: str, since_us: int, until_us: int) -> list[tuple[str, int]]:
    p = schema.posts
    stmt = select(p.c.id, p.c.created_at_us).where(
        and_(p.c.author_id == author_id, p.c.created_at_us >= since_us, p.c.created_at_us < until_us)
    )
    with store.connect() as conn:
        return [(str(i), int(t)) for i, t in conn.execute(stmt)]


def prior_engagements(store: Store, author_id: str, before_us: int, actors: list[str]) -> dict[str, int]:
    """How many times each actor engaged with the author's earlier posts (made before `before_us`)."""
    e, p = schema.engagements, schema.posts
    found: dict[str, int] = {}
    with store.connect() as conn:
        for start in range(0, len(actors), 5_000):
            chunk = actors[start : start + 5_000]
            stmt = (
                select(e.c.actor_id, func.count())
                .select_from(e.join(p, p.c.id == e.c.post_id))
                .where(p.c.author_id == author_id, p.c.created_at_us < before_us, e.c.actor_id.in_(chunk))
                .group_by(e.c.actor_id)
            )
            found.update((str(actor), int(n)) for actor, n in conn.execute(stmt))
    return found


class ActedOn(msgspec.Struct, array_like=True):
    """One engagement by an account: what it did to which post, when, and that post's author and text."""

    kind: str
    created_at_us: int
    post_id: str
    author_id: str | None
    text: str | None


def acted_on(store: Store, actor_id: str, limit: int = 50) -> tuple[dict[str, int], list[ActedOn]]:
    """An account's engagements: counts by kind, and the newest `limit` with their posts."""
    e, p = schema.engagements, schema.posts
    with store.connect() as conn:
        counts = {
            str(kind): int(n)
            for kind, n in conn.execute(
                select(e.c.kind, func.count()).where(e.c.actor_id == actor_id).group_by(e.c.kind)
            )
        }
        rows = conn.execute(
            select(e.c.kind, e.c.created_at_us, e.c.post_id, p.c.author_id, p.c.text)
            .select_from(e.outerjoin(p, p.c.id == e.c.post_id))
            .where(e.c.actor_id == actor_id, e.c.post_id.is_not(None))
            .order_by(e.c.created_at_us.desc())
            .limit(limit)
        ).all()
    return counts, [ActedOn(str(r[0]), int(r[1]), str(r[2]), r[3], r[4]) for r in rows]


def own_posts(store: Store, author_id: str) -> tuple[int, dict[str, int]]:
    """How many posts an account wrote, and how many the harm model flagged, by class."""
    p, x = schema.posts, schema.enrichments
    with store.connect() as conn:
        total = int(conn.execute(select(func.count()).where(p.c.author_id == author_id)).scalar_one())
        results = conn.execute(
            select(x.c.result)
            .select_from(p.join(x, and_(x.c.post_id == p.c.id, x.c.enricher == "harm")))
            .where(p.c.author_id == author_id)
        ).scalars()
        flagged: dict[str, int] = {}
        for result in results:
            found = result if isinstance(result, dict) else msgspec.json.decode(result or "{}")
            for name in found.get("flagged", []) or []:
                flagged[str(name)] = flagged.get(str(name), 0) + 1
    return total, flagged

"""What the alert rules read about a post, in few queries: the post row and its author's standing,
enrichment results, narratives, engagement counts per kind (with the hour before the newest), and
the latest metric snapshot a platform reported."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select

from reachwatch.store import schema
from reachwatch.store.database import Store

HOUR_US = 3_600_000_000
KINDS = ("repost", "quote", "reply", "like")


def post_rows(store: Store, post_ids: list[str]) -> dict[str, dict[str, Any]]:
    """id → platform, author, handle, watched, created, reply_to (posts the store holds)."""
    p, a = schema.posts, schema.accounts
    stmt = select(
        p.c.id, p.c.platform, p.c.author_id, p.c.created_at_us, p.c.reply_to, a.c.handle, a.c.watched
    )
    stmt = stmt.select_from(p.outerjoin(a, a.c.id == p.c.author_id))
    found: dict[str, dict[str, Any]] = {}
    with store.connect() as conn:
        for start in range(0, len(post_ids), 500):
            for row in conn.execute(stmt.where(p.c.id.in_(post_ids[start : start + 500]))):
                found[row.id] = {
                    "platform": row.platform, "author": row.author_id, "author_handle": row.handle,
                    "watched_author": bool(row.watched), "created_at_us": row.created_at_us,
                    "is_reply": row.reply_to is not None,
                }  # fmt: skip
    return found


def narratives_of(store: Store, post_ids: list[str]) -> dict[str, list[str]]:
    n = schema.narrative_posts
    found: dict[str, list[str]] = {}
    with store.connect() as conn:
        for start in range(0, len(post_ids), 500):
            stmt = select(n.c.post_id, n.c.narrative_id).where(n.c.post_id.in_(post_ids[start : start + 500]))
            for post_id, narrative in conn.execute(stmt):
                found.setdefault(post_id, []).append(narrative)
    return found


def engagement_counts(store: Store, post_id: str) -> tuple[dict[str, int], int, int | None]:
    """(count per kind, engagements in the hour before the newest, the newest time)."""
    e = schema.engagements
    counts: dict[str, int] = {}
    newest: int | None = None
    with store.connect() as conn:
        for kind in KINDS:
            count, latest = conn.execute(
                select(func.count(), func.max(e.c.created_at_us)).where(
                    e.c.post_id == post_id, e.c.kind == kind
                )
            ).one()
            counts[kind] = int(count)
            if latest is not None:
                newest = max(newest or 0, int(latest))
        hour = 0
        if newest is not None:
            for kind in KINDS:
                hour += int(
                    conn.execute(
                        select(func.count()).where(
                            and_(
                                e.c.post_id == post_id, e.c.kind == kind, e.c.created_at_us > newest - HOUR_US
                            )
                        )
                    ).scalar_one()
                )
    return counts, hour, newest


def latest_metrics(store: Store, post_ids: list[str]) -> dict[str, dict[str, int]]:
    """The counts a platform last reported for each post (reposts, quotes, replies, likes)."""
    m = schema.metric_snapshots
    found: dict[str, dict[str, int]] = {}
    with store.connect() as conn:
        for start in range(0, len(post_ids), 500):
            newest = (
                select(m.c.post_id, func.max(m.c.observed_at_us).label("at"))
                .where(m.c.post_id.in_(post_ids[start : start + 500]))
                .group_by(m.c.post_id)
                .subquery()
            )
            stmt = select(m.c.post_id, m.c.reposts, m.c.quotes, m.c.replies, m.c.likes).join(
                newest, and_(newest.c.post_id == m.c.post_id, newest.c.at == m.c.observed_at_us)
            )
            for row in conn.execute(stmt):
                found[row.post_id] = {
                    "repost": int(row.reposts or 0), "quote": int(row.quotes or 0),
                    "reply": int(row.replies or 0), "like": int(row.likes or 0),
                }  # fmt: skip
    return found

"""What the alert rules read about a post, in few queries: the post row and its author's standing,
enrichment results, narratives, engagement counts per kind (with the hour before the newest), and
the latest metric snapshot a platform reported."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select

from reachwatch.store import schema
from reachwatch.store.database import Store

HOUR_US = 3_600_000_000
KINDS = ("repost", "quote", "reply", "like")
MINUTE_US = 60_000_000


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
    """(live engagements per kind, of them in the hour before the newest, the newest time): the
    counts the dossier shows, from the per-minute rollup in four statements whatever the size."""
    e, m, d = schema.engagements, schema.engagement_minutes, schema.deletions
    newest_of = [
        select(func.max(e.c.created_at_us)).where(e.c.post_id == post_id, e.c.kind == kind).scalar_subquery()
        for kind in KINDS
    ]
    with store.connect() as conn:
        known = [int(at) for at in conn.execute(select(*newest_of)).one() if at is not None]
        if not known:
            return dict.fromkeys(KINDS, 0), 0, None
        newest = max(known)
        since = newest - HOUR_US  # the hour is (since, newest]
        whole = since // MINUTE_US + 1  # the first minute wholly inside it
        counts = dict.fromkeys(KINDS, 0)
        hour = 0
        recent = func.sum(case((m.c.minute >= whole, m.c.engagements), else_=0))
        for kind, total, inside in conn.execute(
            select(m.c.kind, func.sum(m.c.engagements), recent)
            .where(m.c.post_id == post_id)
            .group_by(m.c.kind)
        ):
            if kind in counts:
                counts[kind], hour = int(total), hour + int(inside)
        hour += int(
            conn.execute(
                select(func.count()).where(
                    e.c.post_id == post_id, e.c.kind.in_(KINDS), e.c.created_at_us > since,
                    e.c.created_at_us < whole * MINUTE_US,
                )
            ).scalar_one()
        )  # fmt: skip
        # Deleted engagements are still in the rollup (a deletion names no post): take them out.
        deleted = select(e.c.kind, e.c.created_at_us).select_from(e.join(d, d.c.id == e.c.id))
        for kind, at in conn.execute(deleted.where(e.c.post_id == post_id)):
            if kind in counts:
                counts[kind] -= 1
                hour -= int(at > since)
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

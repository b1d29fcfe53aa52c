"""Retention's SQL: per data class, how many rows are past a cutoff, held by an open case, or in
all; and the deletes. Every class ages by when reachwatch collected the row, never by the post's
own time (an archive of 2010 posts imported today is today's data)."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from sqlalchemy import ColumnElement, Table, and_, delete, func, literal, not_, select

from reachwatch.store import accounts as account_rows
from reachwatch.store import cases as case_rows
from reachwatch.store import schema
from reachwatch.store.database import Store

COLLECTED_BEFORE = "engagements-collected-before"  # written by migration 0008


class ClassCount(msgspec.Struct, kw_only=True):
    data_class: str
    keep_days: float | None
    cutoff_us: int | None
    deleted: int  # or, in a dry run, would be deleted
    held: int  # past the cutoff but held by an open case
    total: int  # rows of the class in the store before the run


def _collected_before(store: Store) -> int:
    """When migration 0008 ran: engagements stored before it count as collected then."""
    return int(account_rows.deployment_value(store, COLLECTED_BEFORE, "0"))


def apply(
    store: Store,
    periods: dict[str, float | None],
    now_us: int,
    *,
    dry_run: bool,
) -> list[ClassCount]:
    """Count (dry run) or delete what is past each class's period: `periods` maps "engagements",
    "raw", "quarantine" to days (None: kept for ever). Profiles of ordinary accounts with nothing
    left follow the engagements' period."""
    held_posts, held_accounts = case_rows.held_targets(store)
    e, a, r, q = schema.engagements, schema.accounts, schema.raw_events, schema.quarantine
    before_0008 = literal(_collected_before(store))
    collected = func.coalesce(e.c.collected_at_us, before_0008)
    profile_collected = func.coalesce(a.c.collected_at_us, before_0008)
    watched = select(a.c.id).where(a.c.watched)
    found: list[ClassCount] = []

    def one(
        name: str,
        days: float | None,
        table: Table,
        expired: Callable[[int], ColumnElement[bool]],
        held: Callable[[int], ColumnElement[bool]] | None,
    ) -> None:
        with store.transaction() as conn:
            total = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            if days is None:
                found.append(
                    ClassCount(
                        data_class=name, keep_days=None, cutoff_us=None, deleted=0, held=0, total=total
                    )
                )
                return
            cutoff = now_us - int(days * 86_400_000_000)
            held_count = (
                int(conn.execute(select(func.count()).select_from(table).where(held(cutoff))).scalar_one())
                if held is not None
                else 0
            )
            condition = expired(cutoff)
            if dry_run:
                count = int(
                    conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
                )
            else:
                count = int(conn.execute(delete(table).where(condition)).rowcount or 0)
        found.append(
            ClassCount(
                data_class=name, keep_days=days, cutoff_us=cutoff, deleted=count, held=held_count, total=total
            )
        )

    def old_ordinary(cutoff: int) -> ColumnElement[bool]:
        return and_(collected < cutoff, not_(e.c.actor_id.in_(watched)))

    def is_held() -> ColumnElement[bool]:
        return e.c.post_id.in_(sorted(held_posts)) | e.c.actor_id.in_(sorted(held_accounts))

    engagement_days = periods.get("engagements")
    one(
        "engagements of non-watched accounts",
        engagement_days,
        e,
        lambda cutoff: and_(old_ordinary(cutoff), not_(is_held())),
        lambda cutoff: and_(old_ordinary(cutoff), is_held()),
    )
    # Then the profiles of ordinary accounts with nothing left in the store: not watched, no post,
    # no engagement, not held by a case (in a dry run: those with nothing left already).
    # A profile collected (written or snapshotted) within the period, or in a follow, stays.
    p, w, snaps, f = schema.posts, schema.watchlist, schema.account_snapshots, schema.follows

    def orphan(cutoff: int) -> ColumnElement[bool]:
        return and_(
            profile_collected < cutoff, not_(a.c.watched), not_(a.c.id.in_(select(w.c.account_id))),
            not_(a.c.id.in_(select(e.c.actor_id))), not_(a.c.id.in_(select(p.c.author_id))),
            not_(a.c.id.in_(select(f.c.follower_id))),
            not_(a.c.id.in_(select(f.c.followed_id).where(f.c.followed_id.is_not(None)))),
            not_(a.c.id.in_(select(snaps.c.account_id).where(snaps.c.observed_at_us >= cutoff))),
        )  # fmt: skip

    one(
        "profiles of non-watched accounts no longer engaged",
        engagement_days,
        a,
        lambda cutoff: and_(orphan(cutoff), not_(a.c.id.in_(sorted(held_accounts)))),
        lambda cutoff: and_(orphan(cutoff), a.c.id.in_(sorted(held_accounts))),
    )
    one(
        "profile snapshots of accounts no longer kept",
        engagement_days,
        snaps,
        lambda _: not_(snaps.c.account_id.in_(select(a.c.id))),
        None,
    )
    one("raw payloads", periods.get("raw"), r, lambda cutoff: r.c.received_at_us < cutoff, None)
    one(
        "resolved quarantine items",
        periods.get("quarantine"),
        q,
        lambda cutoff: and_(q.c.status != "open", q.c.received_at_us < cutoff),
        None,
    )
    return found

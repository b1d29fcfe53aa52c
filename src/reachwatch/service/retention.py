"""Retention: data kept no longer than it is needed, per data class, unless an open case holds it.

Classes: engagements by non-watched accounts (held when their post or their account is a target of
an open case), raw payloads (the canonical records stay), resolved quarantine items. The audit
log is never deleted. A dry run counts what a run would delete and deletes nothing; every real run
leaves an audit entry with its counts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import msgspec
from sqlalchemy import ColumnElement, Table, and_, delete, func, not_, select

from reachwatch.config import RetentionSettings
from reachwatch.service import audit
from reachwatch.store import cases as case_rows
from reachwatch.store import schema
from reachwatch.store.database import Store

DAY_US = 86_400_000_000
log = logging.getLogger(__name__)


class ClassReport(msgspec.Struct, kw_only=True):
    data_class: str
    keep_days: float | None
    cutoff_us: int | None
    deleted: int  # or, in a dry run, would be deleted
    held: int  # past the cutoff but held by an open case


class RetentionReport(msgspec.Struct, kw_only=True):
    dry_run: bool
    at_us: int
    classes: list[ClassReport]


def run(
    store: Store,
    settings: RetentionSettings,
    *,
    dry_run: bool = False,
    actor: str = "system",
    now_us: int | None = None,
) -> RetentionReport:
    now = now_us if now_us is not None else time.time_ns() // 1000
    held_posts, held_accounts = case_rows.held_targets(store)
    e, a, r, q = schema.engagements, schema.accounts, schema.raw_events, schema.quarantine
    watched = select(a.c.id).where(a.c.watched)
    found: list[ClassReport] = []

    def one(
        name: str,
        days: float | None,
        table: Table,
        expired: Callable[[int], ColumnElement[bool]],
        held: Callable[[int], ColumnElement[bool]] | None,
    ) -> None:
        if days is None:
            found.append(ClassReport(data_class=name, keep_days=None, cutoff_us=None, deleted=0, held=0))
            return
        cutoff = now - int(days * DAY_US)
        condition = expired(cutoff)
        with store.transaction() as conn:
            held_count = (
                int(conn.execute(select(func.count()).select_from(table).where(held(cutoff))).scalar_one())
                if held is not None
                else 0
            )
            if dry_run:
                count = int(
                    conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
                )
            else:
                count = int(conn.execute(delete(table).where(condition)).rowcount or 0)
        found.append(
            ClassReport(data_class=name, keep_days=days, cutoff_us=cutoff, deleted=count, held=held_count)
        )

    def old_ordinary(cutoff: int) -> ColumnElement[bool]:
        return and_(e.c.created_at_us < cutoff, not_(e.c.actor_id.in_(watched)))

    def is_held() -> ColumnElement[bool]:
        return e.c.post_id.in_(sorted(held_posts)) | e.c.actor_id.in_(sorted(held_accounts))

    one(
        "engagements of non-watched accounts",
        settings.engagement_days,
        e,
        lambda cutoff: and_(old_ordinary(cutoff), not_(is_held())),
        lambda cutoff: and_(old_ordinary(cutoff), is_held()),
    )
    # Then the profiles of ordinary accounts with nothing left in the store: not watched, no post,
    # no engagement, not held by a case (in a dry run: those with nothing left already).
    p, w, snaps = schema.posts, schema.watchlist, schema.account_snapshots
    orphan = and_(
        not_(a.c.watched), not_(a.c.id.in_(select(w.c.account_id))),
        not_(a.c.id.in_(select(e.c.actor_id))), not_(a.c.id.in_(select(p.c.author_id))),
    )  # fmt: skip
    one(
        "profiles of non-watched accounts no longer engaged",
        settings.engagement_days,
        a,
        lambda _: and_(orphan, not_(a.c.id.in_(sorted(held_accounts)))),
        lambda _: and_(orphan, a.c.id.in_(sorted(held_accounts))),
    )
    one(
        "profile snapshots of accounts no longer kept",
        settings.engagement_days,
        snaps,
        lambda cutoff: and_(snaps.c.observed_at_us < cutoff, not_(snaps.c.account_id.in_(select(a.c.id)))),
        None,
    )
    one("raw payloads", settings.raw_days, r, lambda cutoff: r.c.received_at_us < cutoff, None)
    one(
        "resolved quarantine items",
        settings.quarantine_days,
        q,
        lambda cutoff: and_(q.c.status != "open", q.c.received_at_us < cutoff),
        None,
    )
    result = RetentionReport(dry_run=dry_run, at_us=now, classes=found)
    if not dry_run:
        audit.record(
            store,
            actor,
            "retention",
            "store",
            detail={c.data_class: c.deleted for c in found if c.keep_days is not None},
        )
    return result


def run_every(
    store: Store, settings: RetentionSettings, stop: threading.Event, first_after_s: float = 60.0
) -> None:
    """The scheduled job (`reachwatch serve` runs it in a thread): a run now and then every
    `every_hours`, until `stop` is set. A failed run is logged and tried again at the next turn."""
    if settings.every_hours <= 0:
        return
    wait = first_after_s
    while not stop.wait(wait):
        try:
            found = run(store, settings)
            log.info("retention: %s", {c.data_class: c.deleted for c in found.classes})
        except Exception:
            log.exception("the retention job failed; it runs again in %s hours", settings.every_hours)
        wait = settings.every_hours * 3600

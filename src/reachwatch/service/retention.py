"""Retention: data kept no longer than it is needed, per data class, unless an open case holds it.

Nothing is deleted unless the deployment asked for it: retention is off until `[retention] enabled
= true`; every class ages by when reachwatch collected the row, never by the post's own time; the
first run on a store, and any run that would delete more than `confirm_share` of a class, needs an
explicit confirmation (`reachwatch retention --yes`), and the scheduled job never gives one. Every
real run leaves an audit entry with its counts. The audit log is never deleted.
"""

from __future__ import annotations

import logging
import threading
import time

import msgspec

from reachwatch.config import RetentionSettings
from reachwatch.errors import UsageError
from reachwatch.service import audit
from reachwatch.store import audit as audit_rows
from reachwatch.store import retention as rows
from reachwatch.store.database import Store
from reachwatch.store.retention import ClassCount

__all__ = ["ClassCount", "ConfirmationNeededError", "RetentionReport", "RetentionStatus", "run", "status"]
log = logging.getLogger(__name__)


class ConfirmationNeededError(UsageError):
    """A run that must be confirmed (`--yes`): the first on a store, or one deleting a large share."""


class RetentionReport(msgspec.Struct, kw_only=True):
    dry_run: bool
    at_us: int
    classes: list[ClassCount]
    needs_confirmation: str | None = None  # why a real run would need --yes (None: it would not)


class RetentionStatus(msgspec.Struct, kw_only=True):
    enabled: bool
    every_hours: float
    last_run_at_us: int | None
    last_run_by: str | None
    last_deleted: dict[str, int]
    next_run_at_us: int | None  # None: not scheduled in this process
    waiting: str | None  # why the scheduled job is waiting for a confirmation
    dry_run: RetentionReport


def _periods(settings: RetentionSettings) -> dict[str, float | None]:
    return {
        "engagements": settings.engagement_days,
        "raw": settings.raw_days,
        "quarantine": settings.quarantine_days,
    }


def _last_run(store: Store) -> audit_rows.AuditEntry | None:
    found = audit_rows.entries(store, limit=1, newest_first=True, action="retention")
    return found[0] if found else None


def _why_confirm(store: Store, settings: RetentionSettings, plan: list[ClassCount]) -> str | None:
    if _last_run(store) is None:
        return "this is the first retention run on this store"
    for found in plan:
        if found.total and found.deleted > settings.confirm_share * found.total:
            return (
                f"it would delete {found.deleted:,} of {found.total:,} {found.data_class} "
                f"(more than [retention] confirm_share = {settings.confirm_share:.0%})"
            )
    return None


def run(
    store: Store,
    settings: RetentionSettings,
    *,
    dry_run: bool = False,
    confirmed: bool = False,
    actor: str = "system",
    now_us: int | None = None,
) -> RetentionReport:
    """Count (dry run) or delete what is past each period. A real run needs retention enabled, and
    a confirmation where `_why_confirm` says so (ConfirmationNeededError otherwise, nothing deleted)."""
    now = now_us if now_us is not None else time.time_ns() // 1000
    plan = rows.apply(store, _periods(settings), now, dry_run=True)
    why = _why_confirm(store, settings, plan)
    if dry_run:
        return RetentionReport(dry_run=True, at_us=now, classes=plan, needs_confirmation=why)
    if not settings.enabled:
        raise UsageError(
            "Retention is off, so nothing was deleted. To delete data past its period, set "
            "`enabled = true` under [retention] in reachwatch.toml (or REACHWATCH_RETENTION__ENABLED=1); "
            "`reachwatch retention --dry-run` shows what a run would delete."
        )
    if why is not None and not confirmed:
        would = ", ".join(f"{c.deleted:,} {c.data_class}" for c in plan if c.deleted)
        raise ConfirmationNeededError(
            f"Nothing was deleted: {why}. It would delete {would or 'nothing'}. "
            "Check with `reachwatch retention --dry-run`, then run `reachwatch retention --yes`."
        )
    done = rows.apply(store, _periods(settings), now, dry_run=False)
    audit.record(
        store,
        actor,
        "retention",
        "store",
        detail={c.data_class: c.deleted for c in done if c.keep_days is not None},
    )
    return RetentionReport(dry_run=False, at_us=now, classes=done)


class Schedule:
    """The scheduled job's state in this process, for the status page."""

    def __init__(self) -> None:
        self.next_run_at_us: int | None = None
        self.waiting: str | None = None


SCHEDULE = Schedule()


def status(store: Store, settings: RetentionSettings) -> RetentionStatus:
    """Retention as it stands: enabled or not, the last run (from the audit log), the next one (when
    this process schedules it), and what a run now would delete."""
    last = _last_run(store)
    return RetentionStatus(
        enabled=settings.enabled,
        every_hours=settings.every_hours,
        last_run_at_us=last.at_us if last else None,
        last_run_by=last.actor if last else None,
        last_deleted={str(k): int(v) for k, v in (last.detail if last else {}).items()},
        next_run_at_us=SCHEDULE.next_run_at_us,
        waiting=SCHEDULE.waiting,
        dry_run=run(store, settings, dry_run=True),
    )


def run_every(
    store: Store, settings: RetentionSettings, stop: threading.Event, first_after_s: float = 60.0
) -> None:
    """The scheduled job (`reachwatch serve` runs it in a thread when retention is enabled): a run
    after `first_after_s`, then every `every_hours`, until `stop` is set. It never confirms: a run
    that needs `--yes` waits for one, logged and shown on the retention page."""
    if not settings.enabled or settings.every_hours <= 0:
        return
    wait = first_after_s
    while True:
        SCHEDULE.next_run_at_us = time.time_ns() // 1000 + int(wait * 1e6)
        if stop.wait(wait):
            SCHEDULE.next_run_at_us = None
            return
        try:
            found = run(store, settings)
            SCHEDULE.waiting = None
            log.info("retention: %s", {c.data_class: c.deleted for c in found.classes})
        except ConfirmationNeededError as exc:
            SCHEDULE.waiting = str(exc)
            log.warning("retention is waiting for a confirmation: %s", exc)
        except Exception:
            log.exception("the retention job failed; it runs again in %s hours", settings.every_hours)
        wait = settings.every_hours * 3600

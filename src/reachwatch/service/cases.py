"""Cases: the written reason for looking closer. An analyst opens one with a justification and a
legal basis before investigating a post or an account; officers join it, the posts and accounts
looked at under it are recorded as its targets, and the time spent on it is logged."""

from __future__ import annotations

import time

import msgspec

from reachwatch.errors import NotFoundError, PermissionDeniedError, UsageError
from reachwatch.service import audit
from reachwatch.service.users import Permission, Principal
from reachwatch.store import accounts
from reachwatch.store import cases as rows
from reachwatch.store.cases import CaseRow, TargetRow, TimeRow
from reachwatch.store.database import Store

__all__ = ["CaseRow", "CaseView", "TargetRow", "TimeRow"]

MIN_JUSTIFICATION = 20
MAX_MINUTES = 24 * 60


class CaseView(msgspec.Struct, kw_only=True):
    case: CaseRow
    members: list[str]
    targets: list[TargetRow]
    time: list[TimeRow]
    hours: float
    running: bool  # the asking user's clock runs on this case


def _now_us() -> int:
    return time.time_ns() // 1000


def hours_of(entries: list[TimeRow], now_us: int | None = None) -> float:
    now = now_us if now_us is not None else _now_us()
    return sum(((e.stopped_at_us or now) - e.started_at_us) for e in entries) / 3.6e9


def open_case(store: Store, who: Principal, title: str, justification: str, legal_basis: str) -> CaseRow:
    who.require(Permission.INVESTIGATE)
    title, justification, legal_basis = title.strip(), justification.strip(), legal_basis.strip()
    if not title:
        raise UsageError("A case needs a title.")
    if len(justification) < MIN_JUSTIFICATION:
        raise UsageError(
            f"Write why this case is needed (at least {MIN_JUSTIFICATION} characters): the justification "
            "is what the oversight report shows."
        )
    if len(legal_basis) < 3:
        raise UsageError(
            "Name the legal basis of the case (e.g. 'Public Order Act s.4A', 'threat assessment')."
        )
    for _ in range(5):
        row = CaseRow(
            id=f"case-{rows.next_case_number(store):05d}",
            title=title[:200],
            justification=justification[:5000],
            legal_basis=legal_basis[:500],
            status="open",
            opened_by=who.name,
            opened_at_us=_now_us(),
        )
        try:
            rows.add_case(store, row)
            break
        except Exception:  # two cases opened at once took the same number: take the next
            continue
    else:
        raise UsageError("The case could not be numbered; try again.")
    audit.record(
        store,
        who.name,
        "open-case",
        row.id,
        case_id=row.id,
        detail={"title": row.title, "legal_basis": row.legal_basis},
    )
    return row


def get(store: Store, case_id: str) -> CaseRow:
    found = rows.get_case(store, case_id)
    if found is None:
        raise NotFoundError(f"No case {case_id!r}.")
    return found


def is_member(store: Store, case_id: str, user: str) -> bool:
    return user in rows.members(store, case_id)


def require_open_case(store: Store, who: Principal) -> CaseRow:
    """The case the user works on, which must be open and have the user as a member."""
    if not who.case_id:
        raise PermissionDeniedError(
            "Open a case (or choose one you work on) first: looking closer needs a written justification."
        )
    case = get(store, who.case_id)
    if case.status != "open" or not is_member(store, case.id, who.name):
        raise PermissionDeniedError(f"Case {case.id} is closed or you are not one of its officers.")
    return case


def visible(store: Store, who: Principal, case_id: str) -> CaseRow:
    """A case the user may see: a member's own, or any case for those who oversee."""
    case = get(store, case_id)
    if not who.can(Permission.OVERSEE) and not is_member(store, case_id, who.name):
        raise PermissionDeniedError(f"You are not an officer of {case_id}.")
    return case


def view(store: Store, who: Principal, case_id: str) -> CaseView:
    case = visible(store, who, case_id)
    entries = rows.time_entries(store, [case_id])
    return CaseView(
        case=case,
        members=rows.members(store, case_id),
        targets=rows.targets(store, [case_id]),
        time=entries,
        hours=round(hours_of(entries), 2),
        running=any(e.user_name == who.name and e.stopped_at_us is None for e in entries),
    )


def list_for(store: Store, who: Principal, status: str | None = None) -> list[CaseRow]:
    return rows.list_cases(store, status, member=None if who.can(Permission.OVERSEE) else who.name)


def open_cases_of(store: Store, who: Principal) -> list[str]:
    """The open cases the user is an officer of (where they may link alerts and posts)."""
    return [case.id for case in rows.list_cases(store, "open", member=who.name)]


def join(store: Store, who: Principal, case_id: str, user: str | None = None) -> None:
    """Add an officer to a case: only its owner (the officer who opened it) or a supervisor may,
    so nobody reads another officer's revealed identities by joining on their own."""
    who.require(Permission.INVESTIGATE)
    case = get(store, case_id)
    name = user or who.name
    if who.name != case.opened_by and not who.can(Permission.OVERSEE):
        raise PermissionDeniedError(
            f"Only the officer who opened {case_id} ({case.opened_by}) or a supervisor adds officers to it: "
            "ask one of them to add you."
        )
    target = accounts.get_user(store, name)
    if target is None or target.disabled:
        raise NotFoundError(f"No enabled user named {name!r}.")
    if case.status != "open":
        raise UsageError(f"{case_id} is closed.")
    if rows.add_member(store, case_id, name, _now_us()):
        audit.record(store, who.name, "join-case", case_id, case_id=case_id, detail={"officer": name})


def close(store: Store, who: Principal, case_id: str) -> None:
    case = get(store, case_id)
    if case.opened_by != who.name and not who.can(Permission.OVERSEE):
        raise PermissionDeniedError("Only the officer who opened a case, or a supervisor, closes it.")
    now = _now_us()
    for entry in rows.time_entries(store, [case_id]):
        if entry.stopped_at_us is None:
            rows.stop_time(store, entry.id, now)
    rows.close_case(store, case_id, who.name, now)
    audit.record(store, who.name, "close-case", case_id, case_id=case_id)


def note_target(store: Store, who: Principal, kind: str, target_id: str) -> None:
    """Record that a post or account was looked at under the user's current case, if any."""
    if who.case_id and kind in ("post", "account"):
        rows.add_target(
            store,
            TargetRow(
                case_id=who.case_id, kind=kind, target_id=target_id, added_by=who.name, added_at_us=_now_us()
            ),
        )


def link_alert(store: Store, who: Principal, case_id: str, alert_id: int, post_id: str | None) -> bool:
    """Put an alert (and its lead post) under a case the user works on; False if it already was."""
    who.require(Permission.INVESTIGATE)
    case = get(store, case_id)
    if case.status != "open" or not is_member(store, case_id, who.name):
        raise PermissionDeniedError(
            f"Case {case_id} is closed or you are not one of its officers: "
            "link alerts to an open case of yours."
        )
    now = _now_us()
    linked = rows.add_target(
        store, TargetRow(case_id=case_id, kind="alert", target_id=str(alert_id), added_by=who.name,
                         added_at_us=now)
    )  # fmt: skip
    if post_id:
        rows.add_target(
            store,
            TargetRow(case_id=case_id, kind="post", target_id=post_id, added_by=who.name, added_at_us=now),
        )
    return linked


def start_clock(store: Store, who: Principal, case_id: str) -> None:
    if not is_member(store, case_id, who.name):
        raise PermissionDeniedError(f"Join {case_id} before logging time on it.")
    if get(store, case_id).status != "open":
        raise UsageError(f"{case_id} is closed.")
    if rows.running_time(store, case_id, who.name) is None:
        rows.add_time(store, case_id, who.name, _now_us(), None, "")


def stop_clock(store: Store, who: Principal, case_id: str) -> None:
    running = rows.running_time(store, case_id, who.name)
    if running is None:
        raise UsageError(f"No clock runs for you on {case_id}.")
    rows.stop_time(store, running.id, _now_us())


def log_time(store: Store, who: Principal, case_id: str, minutes: float, note: str = "") -> None:
    """Time entered after the fact: `minutes` ending now."""
    if not is_member(store, case_id, who.name):
        raise PermissionDeniedError(f"Join {case_id} before logging time on it.")
    if not 0 < minutes <= MAX_MINUTES:
        raise UsageError(f"Enter between 1 and {MAX_MINUTES} minutes.")
    if get(store, case_id).status != "open":
        raise UsageError(f"{case_id} is closed: time is logged on open cases only.")
    now = _now_us()
    rows.add_time(store, case_id, who.name, now - int(minutes * 60e6), now, note.strip()[:500])

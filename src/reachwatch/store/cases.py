"""Cases, their members, targets and time entries: rows in, rows out."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from reachwatch.errors import StoreDataError
from reachwatch.store import schema
from reachwatch.store.database import Store, as_struct


class CaseRow(msgspec.Struct, kw_only=True):
    id: str
    title: str
    justification: str
    legal_basis: str
    status: str
    opened_by: str
    opened_at_us: int
    closed_by: str | None = None
    closed_at_us: int | None = None


class TargetRow(msgspec.Struct, kw_only=True):
    case_id: str
    kind: str
    target_id: str
    added_by: str
    added_at_us: int


class TimeRow(msgspec.Struct, kw_only=True):
    id: int
    case_id: str
    user_name: str
    started_at_us: int
    stopped_at_us: int | None
    note: str


def _rows(kind: type[Any], result: Any) -> list[Any]:
    return [as_struct(row, kind) for row in result]


def add_case(store: Store, row: CaseRow) -> None:
    with store.transaction() as conn:
        conn.execute(insert(schema.cases), [msgspec.structs.asdict(row)])
        conn.execute(
            insert(schema.case_members),
            [{"case_id": row.id, "user_name": row.opened_by, "joined_at_us": row.opened_at_us}],
        )


def next_case_number(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.cases)).scalar_one()) + 1


def get_case(store: Store, case_id: str) -> CaseRow | None:
    with store.connect() as conn:
        row = conn.execute(select(schema.cases).where(schema.cases.c.id == case_id)).first()
    return as_struct(row, CaseRow) if row else None


def list_cases(store: Store, status: str | None = None, member: str | None = None) -> list[CaseRow]:
    c, m = schema.cases, schema.case_members
    stmt = select(c).order_by(c.c.opened_at_us.desc())
    if status:
        stmt = stmt.where(c.c.status == status)
    if member:
        stmt = stmt.where(c.c.id.in_(select(m.c.case_id).where(m.c.user_name == member)))
    with store.connect() as conn:
        return _rows(CaseRow, conn.execute(stmt))


def close_case(store: Store, case_id: str, by: str, at_us: int) -> None:
    with store.transaction() as conn:
        conn.execute(
            update(schema.cases)
            .where(schema.cases.c.id == case_id)
            .values(status="closed", closed_by=by, closed_at_us=at_us)
        )


def add_member(store: Store, case_id: str, user_name: str, at_us: int) -> bool:
    try:
        with store.transaction() as conn:
            conn.execute(
                insert(schema.case_members),
                [{"case_id": case_id, "user_name": user_name, "joined_at_us": at_us}],
            )
    except (IntegrityError, StoreDataError):
        return False
    return True


def members(store: Store, case_id: str) -> list[str]:
    m = schema.case_members
    with store.connect() as conn:
        return list(
            conn.execute(
                select(m.c.user_name).where(m.c.case_id == case_id).order_by(m.c.joined_at_us)
            ).scalars()
        )


def add_target(store: Store, row: TargetRow) -> bool:
    try:
        with store.transaction() as conn:
            conn.execute(insert(schema.case_targets), [msgspec.structs.asdict(row)])
    except (IntegrityError, StoreDataError):
        return False
    return True


def targets(store: Store, case_ids: list[str] | None = None) -> list[TargetRow]:
    t = schema.case_targets
    stmt = select(t).order_by(t.c.added_at_us)
    if case_ids is not None:
        stmt = stmt.where(t.c.case_id.in_(case_ids))
    with store.connect() as conn:
        return _rows(TargetRow, conn.execute(stmt))


def cases_of_target(store: Store, kind: str, target_id: str) -> list[str]:
    """The cases (ids, oldest link first) that hold this target."""
    t = schema.case_targets
    stmt = select(t.c.case_id).where(t.c.target_id == target_id, t.c.kind == kind).order_by(t.c.added_at_us)
    with store.connect() as conn:
        return list(conn.execute(stmt).scalars())


def add_time(
    store: Store, case_id: str, user_name: str, started_at_us: int, stopped_at_us: int | None, note: str
) -> int:
    with store.transaction() as conn:
        result = conn.execute(
            insert(schema.time_entries).returning(schema.time_entries.c.id),
            [
                {
                    "case_id": case_id,
                    "user_name": user_name,
                    "started_at_us": started_at_us,
                    "stopped_at_us": stopped_at_us,
                    "note": note,
                }
            ],
        )
        return int(result.scalar_one())


def running_time(store: Store, case_id: str, user_name: str) -> TimeRow | None:
    t = schema.time_entries
    stmt = select(t).where(t.c.case_id == case_id, t.c.user_name == user_name, t.c.stopped_at_us.is_(None))
    with store.connect() as conn:
        row = conn.execute(stmt).first()
    return as_struct(row, TimeRow) if row else None


def stop_time(store: Store, entry_id: int, at_us: int) -> None:
    t = schema.time_entries
    with store.transaction() as conn:
        conn.execute(update(t).where(t.c.id == entry_id).values(stopped_at_us=at_us))


def time_entries(store: Store, case_ids: list[str] | None = None) -> list[TimeRow]:
    t = schema.time_entries
    stmt = select(t).order_by(t.c.started_at_us)
    if case_ids is not None:
        stmt = stmt.where(t.c.case_id.in_(case_ids))
    with store.connect() as conn:
        return _rows(TimeRow, conn.execute(stmt))


def held_targets(store: Store) -> tuple[set[str], set[str]]:
    """(post ids, account ids) named by open cases: retention keeps their data."""
    t, c = schema.case_targets, schema.cases
    stmt = (
        select(t.c.kind, t.c.target_id)
        .join(c, c.c.id == t.c.case_id)
        .where(c.c.status == "open", t.c.kind.in_(("post", "account")))
    )
    posts: set[str] = set()
    accounts: set[str] = set()
    with store.connect() as conn:
        for kind, target in conn.execute(stmt):
            (posts if kind == "post" else accounts).add(target)
    return posts, accounts

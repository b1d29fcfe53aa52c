"""The quarantine table: payloads that could not be normalised, kept with their bytes and reason."""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec
from sqlalchemy import desc, select, update

from reachwatch.model import WriteBatch
from reachwatch.store import schema
from reachwatch.store.database import Store

QuarantineStatus = Literal["open", "resolved", "all"]


class QuarantinedPayload(msgspec.Struct, kw_only=True):
    id: int
    source: str
    position: str | None
    received_at_us: int
    reason: str
    status: str
    attempts: int
    payload: bytes


def list_items(
    store: Store, *, status: QuarantineStatus = "open", limit: int = 50, offset: int = 0
) -> list[QuarantinedPayload]:
    q = schema.quarantine
    stmt = select(q).order_by(desc(q.c.id)).limit(limit).offset(offset)
    if status != "all":
        stmt = stmt.where(q.c.status == status)
    with store.connect() as conn:
        return [_item(row) for row in conn.execute(stmt).mappings()]


def get_item(store: Store, item_id: int) -> QuarantinedPayload | None:
    q = schema.quarantine
    with store.connect() as conn:
        row = conn.execute(select(q).where(q.c.id == item_id)).mappings().one_or_none()
    return _item(row) if row is not None else None


def open_ids(store: Store) -> list[int]:
    q = schema.quarantine
    with store.connect() as conn:
        return [
            int(i)
            for i in conn.execute(select(q.c.id).where(q.c.status == "open").order_by(q.c.id)).scalars()
        ]


def count_by_reason(store: Store) -> dict[str, int]:
    """Open items per reason code (the part of the reason before the first colon)."""
    q = schema.quarantine
    with store.connect() as conn:
        reasons = conn.execute(select(q.c.reason).where(q.c.status == "open")).scalars().all()
    counts: dict[str, int] = {}
    for reason in reasons:
        code = reason.split(":", 1)[0]
        counts[code] = counts.get(code, 0) + 1
    return counts


def resolve(store: Store, item_id: int, batch: WriteBatch) -> None:
    """Write what the payload became and mark the item resolved, in one transaction."""
    q = schema.quarantine
    with store.transaction() as conn:
        store.write_batch_in(conn, batch)
        conn.execute(
            update(q)
            .where(q.c.id == item_id)
            .values(status="resolved", attempts=q.c.attempts + 1, resolved_at_us=time.time_ns() // 1000)
        )


def record_failed_attempt(store: Store, item_id: int, reason: str) -> None:
    q = schema.quarantine
    with store.transaction() as conn:
        conn.execute(update(q).where(q.c.id == item_id).values(attempts=q.c.attempts + 1, reason=reason))


def _item(row: Any) -> QuarantinedPayload:
    return QuarantinedPayload(
        id=int(row["id"]),
        source=row["source"],
        position=row["position"],
        received_at_us=row["received_at_us"],
        reason=row["reason"],
        status=row["status"],
        attempts=row["attempts"],
        payload=bytes(row["payload"]),
    )

"""The audit log's reads and its one write: appending an entry chained to the one before."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import msgspec
from sqlalchemy import desc, func, select, text
from sqlalchemy.exc import IntegrityError

from reachwatch.errors import StoreDataError
from reachwatch.model import clean_text, clean_value
from reachwatch.store import schema
from reachwatch.store.database import Store, as_struct

AUDIT_LOCK = 72_420_002  # PostgreSQL advisory lock id held while appending
GENESIS = "0" * 64


class AuditEntry(msgspec.Struct, kw_only=True):
    seq: int
    at_us: int
    actor: str
    action: str
    target: str
    case_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str
    mac: str | None = None


def entry_hash(
    prev_hash: str,
    seq: int,
    at_us: int,
    actor: str,
    action: str,
    target: str,
    case_id: str | None,
    detail: dict[str, Any],
) -> str:
    """sha256 over the previous hash and the entry's fields in one canonical JSON form."""
    body = msgspec.json.encode([seq, at_us, actor, action, target, case_id, detail], order="sorted")
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


def entry_mac(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def append(
    store: Store,
    at_us: int,
    actor: str,
    action: str,
    target: str,
    case_id: str | None,
    detail: dict[str, Any],
) -> AuditEntry:
    """One entry after the newest, in one transaction (on PostgreSQL under an advisory lock; on
    SQLite a writer that lost the race to the same sequence number tries again)."""
    log = schema.audit_log
    # Hashed as stored: schema.Text and Json clean NUL and lone surrogates when they are bound.
    actor, action, target = clean_text(actor), clean_text(action), clean_text(target)
    case_id = None if case_id is None else clean_text(case_id)
    detail = clean_value(detail)
    for _ in range(20):
        try:
            with store.transaction() as conn:
                if store.dialect != "sqlite":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})
                last = conn.execute(select(log.c.seq, log.c.hash).order_by(desc(log.c.seq)).limit(1)).first()
                seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
                digest = entry_hash(prev, seq, at_us, actor, action, target, case_id, detail)
                row = {
                    "seq": seq,
                    "at_us": at_us,
                    "actor": actor,
                    "action": action,
                    "target": target,
                    "case_id": case_id,
                    "detail": detail,
                    "prev_hash": prev,
                    "hash": digest,
                    "mac": entry_mac(store.audit_key, digest) if store.audit_key else None,
                }
                conn.execute(log.insert(), [row])
                return msgspec.convert(row, AuditEntry)
        except (IntegrityError, StoreDataError):
            continue
    raise StoreDataError("The audit log could not be appended to: too many writers at once; try again.")


def entries(
    store: Store,
    *,
    after_seq: int = 0,
    limit: int = 1_000,
    newest_first: bool = False,
    actor: str | None = None,
    action: str | None = None,
    case_id: str | None = None,
) -> list[AuditEntry]:
    log = schema.audit_log
    stmt = select(log).where(log.c.seq > after_seq).limit(limit)
    if actor:
        stmt = stmt.where(log.c.actor == actor)
    if action:
        stmt = stmt.where(log.c.action == action)
    if case_id:
        stmt = stmt.where(log.c.case_id == case_id)
    stmt = stmt.order_by(desc(log.c.seq) if newest_first else log.c.seq)
    with store.connect() as conn:
        return [as_struct(row, AuditEntry) for row in conn.execute(stmt)]


def walk(store: Store, chunk: int = 5_000) -> Iterator[AuditEntry]:
    """Every entry in order, read in chunks."""
    after = 0
    while found := entries(store, after_seq=after, limit=chunk):
        yield from found
        after = found[-1].seq


def action_counts(
    store: Store, since_us: int, until_us: int, case_ids: list[str] | None = None
) -> dict[str, int]:
    """Entries per action in [since, until), optionally only those under these cases."""
    log = schema.audit_log
    stmt = select(log.c.action, func.count()).where(log.c.at_us >= since_us, log.c.at_us < until_us)
    if case_ids is not None:
        stmt = stmt.where(log.c.case_id.in_(case_ids))
    with store.connect() as conn:
        return {str(action): int(count) for action, count in conn.execute(stmt.group_by(log.c.action))}

"""The audit trail: who looked at, searched, exported or changed what, when, and under which case.
Entries are appended, never changed; `verify` recomputes the chain and names the first entry that
was edited, removed or inserted out of order."""

from __future__ import annotations

import hmac
import time
from typing import Any

import msgspec

from reachwatch.errors import UsageError
from reachwatch.store import audit as log
from reachwatch.store.audit import GENESIS, AuditEntry, entry_hash, entry_mac
from reachwatch.store.database import Store

__all__ = ["AuditEntry", "Checkpoint", "Verification", "entries", "head", "record", "verify"]


def record(
    store: Store,
    actor: str,
    action: str,
    target: str,
    *,
    case_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry (action: view-post, view-account, view-person, search, export, change, …)."""
    return log.append(store, time.time_ns() // 1000, actor, action, target, case_id, detail or {})


def entries(
    store: Store,
    limit: int = 100,
    *,
    actor: str | None = None,
    action: str | None = None,
    case_id: str | None = None,
) -> list[AuditEntry]:
    """The newest entries first, optionally only one officer's, one action's or one case's."""
    return log.entries(store, limit=limit, newest_first=True, actor=actor, action=action, case_id=case_id)


class Verification(msgspec.Struct, kw_only=True):
    entries: int
    intact: bool
    broken_at: int | None  # the first sequence number whose chain does not hold
    reason: str


class Checkpoint(msgspec.Struct, kw_only=True):
    """The newest entry's number and hash, kept outside the database (printed on each oversight
    report): a later check against it shows whether entries were cut from the end."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        seq, _, digest = text.strip().partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise UsageError(
                f"{text!r} is not a checkpoint: write SEQ:HASH as `reachwatch audit head` prints it."
            )
        return cls(seq=int(seq), hash=digest.lower())


def head(store: Store) -> Checkpoint:
    newest = log.entries(store, limit=1, newest_first=True)
    return Checkpoint(seq=newest[0].seq, hash=newest[0].hash) if newest else Checkpoint(seq=0, hash=GENESIS)


def verify(store: Store, checkpoint: Checkpoint | None = None) -> Verification:
    """Walk the chain from the start: each entry must follow the one before (no gap), point at its
    hash, and hash to what it says; and the checkpoint's entry, when one is given, must still be
    there with the same hash (else the end of the log was cut or rewritten)."""
    found = _walk(store, checkpoint)
    if found.intact and checkpoint is not None and checkpoint.seq > found.entries:
        return Verification(
            entries=found.entries, intact=False, broken_at=found.entries + 1,
            reason=f"the log ends at entry {found.entries}, before the checkpoint's entry {checkpoint.seq}: "
            "entries were removed from its end",
        )  # fmt: skip
    return found


def _walk(store: Store, checkpoint: Checkpoint | None) -> Verification:
    previous, expected_seq, count = GENESIS, 1, 0
    keyed = False  # entries before the key was set carry no MAC; none may lack one after the first
    for entry in log.walk(store):
        count += 1
        if entry.seq != expected_seq:
            return Verification(
                entries=count,
                intact=False,
                broken_at=expected_seq,
                reason=f"entry {expected_seq} is missing (the next is {entry.seq})",
            )
        if entry.prev_hash != previous:
            return Verification(
                entries=count,
                intact=False,
                broken_at=entry.seq,
                reason=f"entry {entry.seq} does not follow the entry before it",
            )
        digest = entry_hash(
            entry.prev_hash,
            entry.seq,
            entry.at_us,
            entry.actor,
            entry.action,
            entry.target,
            entry.case_id,
            entry.detail,
        )
        if digest != entry.hash:
            return Verification(
                entries=count,
                intact=False,
                broken_at=entry.seq,
                reason=f"entry {entry.seq} was changed after it was written",
            )
        if store.audit_key is not None:
            keyed = keyed or entry.mac is not None
            if keyed and not (
                entry.mac and hmac.compare_digest(entry.mac, entry_mac(store.audit_key, entry.hash))
            ):
                return Verification(
                    entries=count, intact=False, broken_at=entry.seq,
                    reason=f"entry {entry.seq} has no valid MAC: not written with the audit key",
                )  # fmt: skip
        if checkpoint is not None and entry.seq == checkpoint.seq and entry.hash != checkpoint.hash:
            return Verification(
                entries=count, intact=False, broken_at=entry.seq,
                reason=f"entry {entry.seq} differs from the checkpoint: the log was rewritten from there",
            )  # fmt: skip
        previous, expected_seq = entry.hash, entry.seq + 1
    return Verification(entries=count, intact=True, broken_at=None, reason="the chain holds")

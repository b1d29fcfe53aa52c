"""Seeing and replaying quarantined payloads."""

from __future__ import annotations

import time

import msgspec

from reachwatch.connectors.jsonl import normalise_line
from reachwatch.errors import NotFoundError, PayloadError, UsageError
from reachwatch.model import IngestedEvent, RawEvent, WriteBatch
from reachwatch.store import quarantine
from reachwatch.store.database import Store
from reachwatch.store.quarantine import QuarantinedPayload, QuarantineStatus

__all__ = ["QuarantineStatus", "QuarantinedPayload", "RetryReport", "list_items", "reasons", "retry", "show"]


class RetryReport(msgspec.Struct, kw_only=True):
    resolved: list[int] = msgspec.field(default_factory=list)
    failed: dict[int, str] = msgspec.field(default_factory=dict)
    skipped: list[int] = msgspec.field(default_factory=list)


def list_items(
    store: Store, status: QuarantineStatus = "open", limit: int = 50, page: int = 1
) -> list[QuarantinedPayload]:
    if page < 1 or limit < 1:
        raise UsageError("--page and --limit start at 1.")
    return quarantine.list_items(store, status=status, limit=limit, offset=(page - 1) * limit)


def show(store: Store, item_id: int) -> QuarantinedPayload:
    item = quarantine.get_item(store, item_id)
    if item is None:
        raise NotFoundError(f"No quarantined payload has id {item_id}. See `reachwatch quarantine list`.")
    return item


def reasons(store: Store) -> dict[str, int]:
    return quarantine.count_by_reason(store)


def retry(store: Store, ids: list[int] | None, *, max_payload_bytes: int = 1_048_576) -> RetryReport:
    """Run quarantined payloads through normalisation again (all open ones when `ids` is None).

    A payload that now normalises is written exactly as a fresh ingest would and marked resolved;
    one that still fails keeps its place with the new reason and one more attempt counted.
    """
    report = RetryReport()
    for item_id in ids if ids is not None else quarantine.open_ids(store):
        item = show(store, item_id)
        if item.status != "open":
            report.skipped.append(item_id)
            continue
        try:
            normalised = normalise_line(item.payload, max_bytes=max_payload_bytes)
        except PayloadError as exc:
            quarantine.record_failed_attempt(store, item_id, exc.reason)
            report.failed[item_id] = exc.reason
            continue
        raw = RawEvent(
            source=item.source,
            event_key=normalised.event_key,
            received_at_us=time.time_ns() // 1000,
            payload=item.payload,
            cursor=normalised.cursor,
        )
        quarantine.resolve(store, item_id, WriteBatch(events=[IngestedEvent(raw, normalised.records)]))
        report.resolved.append(item_id)
    return report

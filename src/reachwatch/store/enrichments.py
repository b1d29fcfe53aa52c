"""Reads of what the enrichers found."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select

from reachwatch.model import HarmResult
from reachwatch.store import schema
from reachwatch.store.database import Store


def results(store: Store, enricher: str, post_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The enricher's result per post, for the posts that have one."""
    e = schema.enrichments
    found: dict[str, dict[str, Any]] = {}
    with store.connect() as conn:
        for start in range(0, len(post_ids), 500):
            stmt = select(e.c.post_id, e.c.result).where(
                e.c.enricher == enricher, e.c.post_id.in_(post_ids[start : start + 500])
            )
            for post_id, result in conn.execute(stmt):
                found[post_id] = result
    return found


def harm(store: Store, post_ids: list[str]) -> dict[str, HarmResult]:
    """The harm enricher's result per post, typed (posts without one are left out)."""
    return {
        post_id: msgspec.convert(result or {}, HarmResult)
        for post_id, result in results(store, "harm", post_ids).items()
    }


def versions(store: Store, enricher: str, post_ids: list[str]) -> dict[str, str]:
    """The model and version that produced the enricher's result per post."""
    e = schema.enrichments
    with store.connect() as conn:
        stmt = select(e.c.post_id, e.c.version).where(e.c.enricher == enricher, e.c.post_id.in_(post_ids))
        return {str(post_id): str(version) for post_id, version in conn.execute(stmt)}


def sample(store: Store, enricher: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` of the enricher's results, the newest posts' first."""
    e = schema.enrichments
    with store.connect() as conn:
        stmt = select(e.c.result).where(e.c.enricher == enricher).order_by(e.c.post_id.desc()).limit(limit)
        return [result for (result,) in conn.execute(stmt)]

"""Ground truth of generated scenarios, stored beside the data they produced."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from reachwatch.store import schema
from reachwatch.store.database import Store
from reachwatch.store.writer import dialect_insert


def save_truth(store: Store, name: str, seed: int, truth: dict[str, Any]) -> None:
    stmt = dialect_insert(store.dialect, schema.scenarios)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "seed": stmt.excluded.seed,
            "created_at_us": stmt.excluded.created_at_us,
            "truth": stmt.excluded.truth,
        },
    )
    with store.transaction() as conn:
        conn.execute(
            stmt, {"name": name, "seed": seed, "created_at_us": time.time_ns() // 1000, "truth": truth}
        )


def load_truth(store: Store, name: str | None = None) -> dict[str, Any] | None:
    """The named scenario's truth, or the newest one when no name is given."""
    s = schema.scenarios
    stmt = select(s.c.truth).order_by(s.c.created_at_us.desc()).limit(1)
    if name is not None:
        stmt = stmt.where(s.c.name == name)
    with store.connect() as conn:
        value = conn.execute(stmt).scalar_one_or_none()
    return dict(value) if value is not None else None

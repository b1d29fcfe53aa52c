"""Saved searches: rows of `saved_searches`, by name."""

from __future__ import annotations

import msgspec
from sqlalchemy import delete, insert, select, update

from reachwatch.store import schema
from reachwatch.store.database import Store


class SavedSearchRow(msgspec.Struct, kw_only=True):
    id: int
    name: str
    query: str
    owner: str
    saved_at_us: int


def save(store: Store, name: str, query: str, owner: str, at_us: int) -> SavedSearchRow:
    """Keep the query under the name: a new row, or the named one changed (same id)."""
    s = schema.saved_searches
    with store.transaction() as conn:
        found = conn.execute(select(s.c.id).where(s.c.name == name)).first()
        values = {"query": query, "owner": owner, "saved_at_us": at_us}
        if found is None:
            new_id = conn.execute(insert(s).returning(s.c.id), [{"name": name, **values}]).scalar_one()
        else:
            new_id = found.id
            conn.execute(update(s).where(s.c.id == new_id).values(**values))
    return SavedSearchRow(id=int(new_id), name=name, **values)  # type: ignore[arg-type]


def listed(store: Store) -> list[SavedSearchRow]:
    s = schema.saved_searches
    with store.connect() as conn:
        return [SavedSearchRow(**row._mapping) for row in conn.execute(select(s).order_by(s.c.name))]


def by_name(store: Store, name: str) -> SavedSearchRow | None:
    s = schema.saved_searches
    with store.connect() as conn:
        row = conn.execute(select(s).where(s.c.name == name)).first()
    return SavedSearchRow(**row._mapping) if row is not None else None


def remove(store: Store, name: str) -> bool:
    s = schema.saved_searches
    with store.transaction() as conn:
        return bool(conn.execute(delete(s).where(s.c.name == name)).rowcount)

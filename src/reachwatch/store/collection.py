"""Store access for collection: the watchlist, the people registry, and which posts to poll."""

from __future__ import annotations

import msgspec
from sqlalchemy import delete, select, update

from reachwatch.model import Person
from reachwatch.store import schema
from reachwatch.store.database import Store, as_struct
from reachwatch.store.writer import dialect_insert


class WatchEntry(msgspec.Struct, kw_only=True):
    account_id: str
    platform: str
    spec: str
    native_id: str
    handle: str | None = None
    instance: str | None = None
    added_at_us: int


def add_watch(store: Store, entry: WatchEntry) -> None:
    """Add (or refresh) a watched account and mark its account row watched."""
    row = msgspec.structs.asdict(entry)
    stmt = dialect_insert(store.dialect, schema.watchlist)
    with store.transaction() as conn:
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["account_id"],
                set_={name: stmt.excluded[name] for name in ("spec", "native_id", "handle", "instance")},
            ),
            row,
        )
        account = dialect_insert(store.dialect, schema.accounts)
        conn.execute(
            account.on_conflict_do_update(index_elements=["id"], set_={"watched": True}),
            {"id": entry.account_id, "platform": entry.platform, "handle": entry.handle, "watched": True},
        )


def remove_watch(store: Store, account_id: str) -> bool:
    """Stop watching; the account's data stays. False when it was not watched."""
    with store.transaction() as conn:
        removed = conn.execute(delete(schema.watchlist).where(schema.watchlist.c.account_id == account_id))
        conn.execute(update(schema.accounts).where(schema.accounts.c.id == account_id).values(watched=False))
    return bool(removed.rowcount)


def watchlist(store: Store) -> list[WatchEntry]:
    with store.connect() as conn:
        rows = conn.execute(select(schema.watchlist).order_by(schema.watchlist.c.added_at_us))
        return [WatchEntry(**row._asdict()) for row in rows]


def people(store: Store) -> list[Person]:
    with store.connect() as conn:
        rows = conn.execute(select(schema.people).order_by(schema.people.c.id))
        # Column names come back as quoted_name (a str subclass), which msgspec will not take as keys.
        return [as_struct(row, Person) for row in rows]


class RecentPost(msgspec.Struct, array_like=True):
    id: str
    author_id: str
    created_at_us: int


def recent_posts(
    store: Store, author_ids: list[str], since_us: int, limit: int | None = None
) -> list[RecentPost]:
    """Live posts (not reposts) of these authors made since `since_us`, newest first (at most `limit`)."""
    if not author_ids:
        return []
    p = schema.posts
    query = (
        select(p.c.id, p.c.author_id, p.c.created_at_us)
        .where(p.c.author_id.in_(author_ids), p.c.created_at_us >= since_us, p.c.deleted_at_us.is_(None))
        .order_by(p.c.created_at_us.desc())
        .limit(limit)
    )
    with store.connect() as conn:
        return [RecentPost(*row) for row in conn.execute(query)]

"""The reads behind pseudonyms (who is public, an account's handle and followers) and the table of
pseudonyms shown so far with the account behind each."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from reachwatch.store import schema
from reachwatch.store.database import Store
from reachwatch.store.writer import dialect_insert


def known_public(store: Store) -> tuple[set[str], set[str]]:
    """(ids of watched or listed accounts, lower-cased handles of protected people's accounts)."""
    people_handles: set[str] = set()
    a, p = schema.accounts, schema.people
    with store.connect() as conn:
        for (handles,) in conn.execute(select(p.c.handles)):  # platform → the person's handles
            for listed_handles in (handles or {}).values():
                people_handles.update(str(h).lower().lstrip("@") for h in listed_handles)
        watched = set(conn.execute(select(a.c.id).where(a.c.watched)).scalars())
        listed = set(conn.execute(select(schema.watchlist.c.account_id)).scalars())
    return watched | listed, people_handles


def audience(store: Store, ids: list[str]) -> dict[str, tuple[str | None, int, str | None]]:
    """account id → (handle, followers, display name) for those of `ids` the store describes."""
    a = schema.accounts
    found: dict[str, tuple[str | None, int, str | None]] = {}
    with store.connect() as conn:
        for start in range(0, len(ids), 5_000):
            chunk = ids[start : start + 5_000]
            rows = conn.execute(
                select(a.c.id, a.c.handle, a.c.followers, a.c.display_name).where(a.c.id.in_(chunk))
            )
            found.update({row.id: (row.handle, int(row.followers or 0), row.display_name) for row in rows})
    return found


def save_aliases(store: Store, pairs: Iterable[tuple[str, str]]) -> None:
    """Remember (alias, account id) pairs; those known already are left as they are."""
    rows = [{"alias": alias, "account_id": account} for alias, account in pairs]
    if not rows:
        return
    stmt = dialect_insert(store.dialect, schema.aliases).on_conflict_do_nothing(index_elements=["alias"])
    with store.transaction() as conn:
        conn.execute(stmt, rows)


def account_of_alias(store: Store, alias: str) -> str | None:
    t = schema.aliases
    with store.connect() as conn:
        found = conn.execute(select(t.c.account_id).where(t.c.alias == alias)).scalar_one_or_none()
    return str(found) if found is not None else None


def candidates(store: Store) -> Iterable[str]:
    """Every account id the store knows (a pseudonym not remembered yet is looked for among them)."""
    with store.connect() as conn:
        yield from conn.execute(select(schema.accounts.c.id)).scalars()
        yield from conn.execute(select(schema.engagements.c.actor_id).distinct()).scalars()
        yield from conn.execute(select(schema.posts.c.author_id).distinct()).scalars()


def handle_of(store: Store, account_id: str) -> str | None:
    with store.connect() as conn:
        found = conn.execute(
            select(schema.accounts.c.handle).where(schema.accounts.c.id == account_id)
        ).scalar()
    return str(found) if found is not None else None


def accounts_by_handle(store: Store, handle: str) -> list[str]:
    """Ids of the accounts with this handle (any platform; with or without a leading @)."""
    a = schema.accounts
    bare = handle.strip().lstrip("@").lower()
    with store.connect() as conn:
        return list(
            conn.execute(select(a.c.id).where(func.lower(func.ltrim(a.c.handle, "@")) == bare)).scalars()
        )

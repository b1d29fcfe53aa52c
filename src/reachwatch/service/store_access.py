"""Opening the store a user named, with the settings that apply."""

from __future__ import annotations

from pathlib import Path

from reachwatch.config import Settings
from reachwatch.errors import UsageError
from reachwatch.store.database import Store

__all__ = ["Store", "missing_sqlite_file", "open_store"]


def missing_sqlite_file(db: str) -> Path | None:
    """The SQLite file `db` names when it does not exist yet (None for a URL or an existing file)."""
    if "://" in db or db.startswith("sqlite:") or db == ":memory:":
        return None
    path = Path(db).expanduser()
    return None if path.exists() else path.resolve()


def open_store(settings: Settings, *, create: bool = False) -> Store:
    """The store in `settings.db`, migrated if needed. A SQLite file that does not exist is made
    only when `create` is set (`reachwatch init`, `ingest --create`, the demo): a mistyped path is
    refused instead of opening a new, empty store."""
    missing = missing_sqlite_file(settings.db)
    if missing is not None and not create:
        raise UsageError(
            f"There is no store at {missing}. Check the path (--db, REACHWATCH_DB or 'db = ...' in "
            "reachwatch.toml), or make a new store there with `reachwatch init --db PATH` "
            "(or `reachwatch ingest FILE --create`)."
        )
    store = Store.open(settings.db, keep_deleted_text=settings.keep_deleted_text)
    if settings.audit_key is not None:
        store.audit_key = settings.audit_key.get_secret_value().encode()
    return store

"""Opening the store a user named, with the settings that apply."""

from __future__ import annotations

from reachwatch.config import Settings
from reachwatch.store.database import Store

__all__ = ["Store", "open_store"]


def open_store(settings: Settings) -> Store:
    """The store in `settings.db`, created and migrated if needed."""
    return Store.open(settings.db, keep_deleted_text=settings.keep_deleted_text)

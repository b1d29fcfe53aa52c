"""A command's session with the store: the store it named, and the viewer (the access layer) that
masks and audits what the command shows. Every command that prints monitored data opens one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reachwatch.config import Settings, load_settings
from reachwatch.service.store_access import Store, open_store
from reachwatch.service.viewer import Viewer


@contextmanager
def viewing(
    db: str | None, names_under_case: str | None = None, *, settings: Settings | None = None
) -> Iterator[tuple[Store, Viewer]]:
    """The store and this command's viewer (the CLI's named local user; naming ordinary engagers
    only under an open case, audited)."""
    chosen = settings or load_settings(db=db)
    store = open_store(chosen)
    try:
        yield store, Viewer.for_cli(store, chosen, names_under_case)
    finally:
        store.close()

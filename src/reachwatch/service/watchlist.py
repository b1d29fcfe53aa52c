"""The watchlist: accounts named by the user as `platform:name` (`bsky:handle`,
`mastodon:@user@instance`, `x:username`: each platform parses its own form), resolved to stable ids
through the platform, their profile stored as a payload."""

from __future__ import annotations

from reachwatch.connectors import platform
from reachwatch.connectors.base import Fetched, now_us
from reachwatch.connectors.platform import Clients
from reachwatch.errors import NotFoundError, UsageError
from reachwatch.model import QuarantineItem, WriteBatch
from reachwatch.service.ingest import normalise_payload, write_resilient
from reachwatch.store.collection import WatchEntry, add_watch, remove_watch, watchlist
from reachwatch.store.database import Store

__all__ = ["WatchEntry", "add", "list_watched", "parse_spec", "remove"]


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """(platform, name, instance) of a watchlist spec, or a UsageError that shows the forms."""
    prefix, sep, rest = spec.strip().partition(":")
    found = platform.by_prefix(prefix)
    if not sep or found is None or not rest:
        raise UsageError(f"{spec!r} is not an account to watch: write {platform.examples()}.")
    name, instance = found.parse_spec(spec, rest)
    return found.name, name, instance


def _store_profile(store: Store, fetched: Fetched) -> None:
    received = now_us()
    item = normalise_payload(fetched.payload, fetched.source, "watch add", received, 16 << 20)
    batch = WriteBatch(quarantine=[item]) if isinstance(item, QuarantineItem) else WriteBatch(events=[item])
    write_resilient(store, batch, fetched.source)


def add(store: Store, clients: Clients, spec: str) -> WatchEntry:
    """Resolve `spec` through its platform and watch the account it names."""
    name, account, instance = parse_spec(spec)
    resolved = platform.get(name).resolve(clients, account, instance)
    entry = WatchEntry(
        account_id=resolved.account_id,
        platform=name,
        spec=spec,
        native_id=resolved.native_id,
        handle=resolved.handle,
        instance=resolved.instance,
        added_at_us=now_us(),
    )
    _store_profile(store, resolved.fetched)
    add_watch(store, entry)
    return entry


def remove(store: Store, spec_or_id: str) -> WatchEntry:
    """Stop watching the account named by its spec, handle or canonical id."""
    wanted = spec_or_id.strip()
    for entry in watchlist(store):
        if wanted in (entry.spec, entry.account_id, entry.handle, f"{entry.platform}:{entry.handle}"):
            remove_watch(store, entry.account_id)
            return entry
    raise NotFoundError(f"{spec_or_id!r} is not on the watchlist. `reachwatch watch list` shows what is.")


def list_watched(store: Store) -> list[WatchEntry]:
    return watchlist(store)

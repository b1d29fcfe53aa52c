"""The watchlist: accounts named by the user (`bsky:handle`, `mastodon:@user@instance`,
`x:username`), resolved to stable ids through the platform, their profile stored as a payload."""

from __future__ import annotations

import re

from reachwatch.connectors.base import Fetched, now_us
from reachwatch.connectors.bluesky.jetstream import account_id as bluesky_account
from reachwatch.connectors.mastodon.entities import account_id as mastodon_account
from reachwatch.errors import NotFoundError, UsageError
from reachwatch.model import QuarantineItem
from reachwatch.service.ingest import normalise_payload, write_resilient
from reachwatch.service.platforms import Platforms
from reachwatch.store.collection import WatchEntry, add_watch, remove_watch, watchlist
from reachwatch.store.database import Store, WriteBatch

__all__ = ["WatchEntry", "add", "list_watched", "parse_spec", "remove"]

PLATFORM_NAMES = {"bsky": "bluesky", "bluesky": "bluesky", "mastodon": "mastodon", "x": "x", "twitter": "x"}
_MASTODON = re.compile(r"^@?([A-Za-z0-9_.-]+)@([A-Za-z0-9.-]+(?::\d+)?)$")
_X_NAME = re.compile(r"^@?[A-Za-z0-9_]{1,15}$")
_HANDLE = re.compile(r"^@?([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+$|^did:(plc|web):[A-Za-z0-9.:%-]+$")
EXAMPLES = "bsky:handle.bsky.social, mastodon:@user@instance.social or x:username"


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """(platform, name, instance) of a watchlist spec, or a UsageError that shows the forms."""
    prefix, sep, rest = spec.strip().partition(":")
    platform = PLATFORM_NAMES.get(prefix.lower())
    if not sep or platform is None or not rest:
        raise UsageError(f"{spec!r} is not an account to watch: write {EXAMPLES}.")
    if platform == "mastodon":
        match = _MASTODON.match(rest)
        if not match:
            raise UsageError(f"{spec!r}: a Mastodon account is written mastodon:@user@instance.social.")
        return platform, match.group(1), match.group(2).lower()
    if platform == "x":
        if not _X_NAME.match(rest):
            raise UsageError(f"{spec!r}: an X username has 1 to 15 letters, digits or underscores.")
        return platform, rest.lstrip("@"), None
    if not _HANDLE.match(rest):
        raise UsageError(f"{spec!r}: a Bluesky account is a handle (name.bsky.social) or a DID.")
    return platform, rest.lstrip("@").lower() if not rest.startswith("did:") else rest, None


def _store_profile(store: Store, fetched: Fetched) -> None:
    received = now_us()
    item = normalise_payload(fetched.payload, fetched.source, "watch add", received, 16 << 20)
    batch = WriteBatch(quarantine=[item]) if isinstance(item, QuarantineItem) else WriteBatch(events=[item])
    write_resilient(store, batch, fetched.source)


def add(store: Store, platforms: Platforms, spec: str) -> WatchEntry:
    """Resolve `spec` through its platform and watch the account it names."""
    platform, name, instance = parse_spec(spec)
    if platform == "bluesky":
        fetched, profile = platforms.bluesky().profile(name)
        entry = WatchEntry(
            account_id=bluesky_account(profile.did),
            platform=platform,
            spec=spec,
            native_id=profile.did,
            handle=profile.handle,
            added_at_us=now_us(),
        )
    elif platform == "mastodon":
        assert instance is not None
        fetched, found = platforms.mastodon(instance).lookup(name)
        entry = WatchEntry(
            account_id=mastodon_account(found.acct, instance),
            platform=platform,
            spec=spec,
            native_id=found.id,
            handle=f"{found.acct}@{instance}" if "@" not in found.acct else found.acct,
            instance=instance,
            added_at_us=now_us(),
        )
    else:
        fetched, user = platforms.x().user(name)
        entry = WatchEntry(
            account_id=f"x:{user.id}",
            platform=platform,
            spec=spec,
            native_id=user.id,
            handle=user.username,
            added_at_us=now_us(),
        )
    _store_profile(store, fetched)
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

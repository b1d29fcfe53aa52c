"""Bluesky as a platform: handles and DIDs, AppView backfill, the Jetstream firehose."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from reachwatch.connectors.base import LiveSource, Provenance
from reachwatch.connectors.platform import Clients, Pages, Platform, Resolved, Target
from reachwatch.errors import UsageError
from reachwatch.model import CanonicalRecord, Person

if TYPE_CHECKING:
    from reachwatch.connectors.bluesky.backfill import AppViewClient

NAME = "bluesky"
_HANDLE = re.compile(r"^@?([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+$|^did:(plc|web):[A-Za-z0-9.:%-]+$")
_AT = f"{NAME}:at://"
ENGAGER_LISTS = ("app.bsky.feed.getLikes", "app.bsky.feed.getRepostedBy", "app.bsky.feed.getQuotes")


class BlueskySettings(BaseModel, extra="forbid"):
    jetstream_url: str = Field(
        default="wss://jetstream2.us-east.bsky.network/subscribe", description="Jetstream v1 subscribe URL."
    )
    appview_url: str = Field(default="https://public.api.bsky.app", description="AppView for backfill.")
    compress: bool = Field(default=False, description="Ask Jetstream for zstd frames (needs the dictionary).")
    zstd_dictionary: str | None = Field(default=None, description="Path of Jetstream's zstd dictionary.")
    rewind_s: float = Field(default=5.0, ge=0, le=3600, description="Replayed after a reconnect.")


class Bluesky(Platform):
    name = NAME
    aliases = ("bsky",)
    label = "Bluesky"
    example = "bsky:handle.bsky.social"
    settings_model = BlueskySettings
    capture_sources = ("bluesky.appview",)

    def bare_endpoints(self) -> dict[str, tuple[str, str]]:
        from reachwatch.connectors.bluesky.appview import RESPONSES

        return {nsid: ("bluesky.appview", nsid) for nsid in RESPONSES}

    def _client(self, clients: Clients) -> AppViewClient:
        from reachwatch.connectors.bluesky.backfill import AppViewClient

        settings = clients.section(NAME, BlueskySettings)
        return clients.cached(NAME, AppViewClient, lambda: AppViewClient(clients.http(settings.appview_url)))

    def parse_spec(self, spec: str, rest: str) -> tuple[str, str | None]:
        if not _HANDLE.match(rest):
            raise UsageError(f"{spec!r}: a Bluesky account is a handle (name.bsky.social) or a DID.")
        return (rest if rest.startswith("did:") else rest.lstrip("@").lower()), None

    def resolve(self, clients: Clients, name: str, instance: str | None) -> Resolved:
        from reachwatch.connectors.bluesky.jetstream import account_id

        fetched, profile = self._client(clients).profile(name)
        return Resolved(
            account_id=account_id(profile.did), native_id=profile.did, handle=profile.handle, fetched=fetched
        )

    def normalise_capture(self, provenance: Provenance, body: Any, observed_us: int) -> list[CanonicalRecord]:
        from reachwatch.connectors.bluesky import appview

        return appview.normalise_response(provenance.nsid, body, observed_us)

    def author_of(self, record_id: str) -> str | None:
        """`bluesky:at://did/...` → `bluesky:did`."""
        if record_id.startswith(_AT):
            return f"{NAME}:{record_id[len(_AT) :].split('/', 1)[0]}"
        return None

    def post_url(self, post_id: str, author_id: str | None = None) -> str | None:
        """bsky.app's `/profile/DID/post/RKEY`."""
        if not post_id.startswith(_AT):
            return None
        repo, _, rest = post_id[len(_AT) :].partition("/")
        collection, _, rkey = rest.partition("/")
        ok = repo.startswith("did:") and collection == "app.bsky.feed.post" and rkey
        return f"https://bsky.app/profile/{repo}/post/{rkey}" if ok else None

    def account_url(self, account_id: str) -> str | None:
        native = account_id.removeprefix(f"{NAME}:")
        return f"https://bsky.app/profile/{native}" if native.startswith("did:") else None

    def new_posts(
        self, clients: Clients, target: Target, latest: str | None, since_us: int
    ) -> Iterator[Pages]:
        yield self._client(clients).author_feed(target.native_id, since_us=since_us)

    def metrics(self, clients: Clients, posts: Sequence[tuple[str, Target]]) -> Iterator[Pages]:
        if posts:
            yield self._client(clients).posts([self.native_post_id(post_id) for post_id, _ in posts])

    def engagers(self, clients: Clients, post_id: str, target: Target, pages: int) -> Iterator[Pages]:
        client, uri = self._client(clients), self.native_post_id(post_id)
        for nsid in ENGAGER_LISTS:
            yield client.engagers(nsid, uri, pages)
        yield [client.thread(uri)]

    def live_sources(
        self, clients: Clients, targets: Sequence[Target], people: Sequence[Person]
    ) -> list[LiveSource]:
        """Jetstream, read whole and filtered, when anything on Bluesky matters: a watched account
        or a protected person (posts naming them come from anyone)."""
        if not targets and not people:
            return []
        from reachwatch.connectors.bluesky.stream import JetstreamOptions, JetstreamSource

        settings = clients.section(NAME, BlueskySettings)
        options = JetstreamOptions(
            url=settings.jetstream_url,
            rewind_s=settings.rewind_s,
            compress=settings.compress,
            zstd_dictionary=settings.zstd_dictionary,
        )
        return [JetstreamSource(options)]


PLATFORM = Bluesky()

"""The AppView backfill client: author feeds, threads, reposted-by, likes, quotes and profiles over
the public XRPC endpoints, cursor-paginated, each response emitted inside its provenance envelope.

It never interprets more of a response than it needs to page (the cursor, the feed's oldest time);
normalising is appview.normalise_response's job. Endpoint facts: PLATFORMS.md §1.5.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from reachwatch.connectors.base import Fetched, provenance, wrap
from reachwatch.connectors.http import RateLimitedClient
from reachwatch.errors import ConnectorError
from reachwatch.model import micros_from_iso

SOURCE = "bluesky.appview"
PAGE_LIMIT = 100
BATCH_LIMIT = 25  # getPosts and getProfiles take at most 25 at a time


class _Paging(msgspec.Struct):
    cursor: str | None = None


class _FeedTimes(msgspec.Struct):
    class Item(msgspec.Struct):
        class View(msgspec.Struct, rename="camel"):
            indexed_at: str | None = None

        post: View

    feed: list[Item] = msgspec.field(default_factory=list)


def _micros(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return micros_from_iso(value)
    except ValueError:
        return None


class Profile(msgspec.Struct):
    did: str
    handle: str


class AppViewClient:
    """One AppView host; every method yields Fetched payloads ready for the pipeline."""

    def __init__(self, http: RateLimitedClient) -> None:
        self.http = http

    def fetch(self, nsid: str, params: dict[str, Any]) -> tuple[Fetched, bytes]:
        response = self.http.get(f"/xrpc/{nsid}", params=params)
        body = response.content
        meta = provenance(SOURCE, nsid, url=str(response.url))
        return Fetched(SOURCE, wrap(meta, body)), body

    def pages(self, nsid: str, params: dict[str, Any], max_pages: int) -> Iterator[tuple[Fetched, bytes]]:
        """Follow `cursor` until the AppView gives none (or max_pages)."""
        query = dict(params)
        for _ in range(max_pages):
            fetched, body = self.fetch(nsid, query)
            yield fetched, body
            try:
                cursor = msgspec.json.decode(body, type=_Paging).cursor
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise ConnectorError(f"An unreadable page from {nsid} ends its paging: {exc}") from exc
            if not cursor:
                return
            query["cursor"] = cursor

    def profile(self, actor: str) -> tuple[Fetched, Profile]:
        """A profile by handle or DID (followers included): resolves a handle to its stable DID."""
        fetched, body = self.fetch("app.bsky.actor.getProfile", {"actor": actor})
        try:
            return fetched, msgspec.json.decode(body, type=Profile)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ConnectorError(f"The AppView's profile of {actor!r} could not be read: {exc}") from exc

    def author_feed(self, actor: str, *, since_us: int = 0, max_pages: int = 10) -> Iterator[Fetched]:
        """The actor's posts and reposts, newest first, until posts older than since_us."""
        params = {"actor": actor, "limit": PAGE_LIMIT, "filter": "posts_with_replies"}
        for fetched, body in self.pages("app.bsky.feed.getAuthorFeed", params, max_pages):
            yield fetched
            try:
                feed = msgspec.json.decode(body, type=_FeedTimes).feed
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise ConnectorError(f"An unreadable author feed page of {actor}: {exc}") from exc
            times = [_micros(item.post.indexed_at) for item in feed]
            known = [time for time in times if time is not None]
            if since_us and known and min(known) < since_us:
                return

    def thread(self, uri: str, depth: int = 10) -> Fetched:
        return self.fetch("app.bsky.feed.getPostThread", {"uri": uri, "depth": depth, "parentHeight": 0})[0]

    def engagers(self, nsid: str, uri: str, max_pages: int = 50) -> Iterator[Fetched]:
        """getRepostedBy, getLikes or getQuotes of one post, every page."""
        for fetched, _ in self.pages(nsid, {"uri": uri, "limit": PAGE_LIMIT}, max_pages):
            yield fetched

    def posts(self, uris: Sequence[str]) -> Iterator[Fetched]:
        """Current counts of many posts, 25 per request."""
        for start in range(0, len(uris), BATCH_LIMIT):
            yield self.fetch("app.bsky.feed.getPosts", {"uris": list(uris[start : start + BATCH_LIMIT])})[0]

    def profiles(self, actors: Sequence[str]) -> Iterator[Fetched]:
        for start in range(0, len(actors), BATCH_LIMIT):
            yield self.fetch(
                "app.bsky.actor.getProfiles", {"actors": list(actors[start : start + BATCH_LIMIT])}
            )[0]

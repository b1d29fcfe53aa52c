"""The X API v2 client (bearer token): user lookup and timeline, tweet lookup with public metrics,
quote tweets, retweeted-by, liking users and recent search, paged by `next_token`.

Every page is emitted inside its provenance envelope, keeping the request URL as twarc2 does, so
the same normaliser reads live pages and twarc2 files. Facts: PLATFORMS.md §3.1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from reachwatch.connectors.base import Fetched, provenance, wrap
from reachwatch.connectors.http import RateLimitedClient
from reachwatch.errors import ConnectorError

SOURCE = "x.api2"
TWEET_FIELDS = (
    "author_id,created_at,conversation_id,lang,referenced_tweets,public_metrics,entities,note_tweet"
)
USER_FIELDS = "created_at,description,public_metrics,username,name"
EXPANSIONS = "author_id,referenced_tweets.id,referenced_tweets.id.author_id,entities.mentions.username"


class _Meta(msgspec.Struct):
    next_token: str | None = None


class _Paging(msgspec.Struct):
    meta: _Meta = msgspec.field(default_factory=_Meta)


class XUser(msgspec.Struct):
    id: str
    username: str


class _UserPage(msgspec.Struct):
    data: XUser | None = None


def _tweet_params() -> dict[str, Any]:
    return {"tweet.fields": TWEET_FIELDS, "user.fields": USER_FIELDS, "expansions": EXPANSIONS}


class XClient:
    """API v2 over a RateLimitedClient that carries the bearer token."""

    def __init__(self, http: RateLimitedClient) -> None:
        self.http = http

    def fetch(
        self, path: str, endpoint: str, params: dict[str, Any], about: dict[str, str]
    ) -> tuple[Fetched, bytes]:
        response = self.http.get(path, params=params)
        meta = provenance(SOURCE, endpoint, url=str(response.url), params={"endpoint": endpoint, **about})
        return Fetched(SOURCE, wrap(meta, response.content)), response.content

    def pages(
        self,
        path: str,
        endpoint: str,
        params: dict[str, Any],
        about: dict[str, str],
        max_pages: int,
        token_name: str = "pagination_token",
    ) -> Iterator[Fetched]:
        query = dict(params)
        for _ in range(max_pages):
            fetched, body = self.fetch(path, endpoint, query, about)
            yield fetched
            try:
                token = msgspec.json.decode(body, type=_Paging).meta.next_token
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise ConnectorError(f"An unreadable page from {path} ends its paging: {exc}") from exc
            if not token:
                return
            query[token_name] = token

    def user(self, username: str) -> tuple[Fetched, XUser]:
        fetched, body = self.fetch(
            f"/2/users/by/username/{username}", "users", {"user.fields": USER_FIELDS}, {}
        )
        found = msgspec.json.decode(body, type=_UserPage).data
        if found is None:
            raise ConnectorError(f"X has no user @{username} (or it is suspended). Check the name.")
        return fetched, found

    def user_tweets(
        self, user_id: str, *, since_id: str | None = None, max_pages: int = 5
    ) -> Iterator[Fetched]:
        params = {**_tweet_params(), "max_results": 100}
        if since_id:
            params["since_id"] = since_id
        yield from self.pages(f"/2/users/{user_id}/tweets", "tweets", params, {}, max_pages)

    def tweets(self, ids: Sequence[str]) -> Iterator[Fetched]:
        """Current public_metrics (impressions included) of many tweets, 100 per request."""
        for start in range(0, len(ids), 100):
            params = {**_tweet_params(), "ids": ",".join(ids[start : start + 100])}
            yield self.fetch("/2/tweets", "tweets", params, {})[0]

    def quote_tweets(self, tweet_id: str, max_pages: int = 10) -> Iterator[Fetched]:
        params = {**_tweet_params(), "max_results": 100}
        yield from self.pages(f"/2/tweets/{tweet_id}/quote_tweets", "tweets", params, {}, max_pages)

    def users_of(self, tweet_id: str, endpoint: str, max_pages: int = 10) -> Iterator[Fetched]:
        """retweeted_by or liking_users of one tweet."""
        params = {"user.fields": USER_FIELDS, "max_results": 100}
        about = {"tweet": tweet_id}
        yield from self.pages(f"/2/tweets/{tweet_id}/{endpoint}", endpoint, params, about, max_pages)

    def search_recent(
        self, query: str, *, since_id: str | None = None, max_pages: int = 5
    ) -> Iterator[Fetched]:
        params = {**_tweet_params(), "query": query, "max_results": 100}
        if since_id:
            params["since_id"] = since_id
        yield from self.pages("/2/tweets/search/recent", "tweets", params, {}, max_pages, "next_token")

"""Mastodon REST (statuses, context, reblogged_by, favourited_by, lookups) and HTTP streaming (SSE).

Pages follow the `Link: <…>; rel="next"` header, as the API asks (ids of reblogged_by and
favourited_by pages are internal). Every body is emitted inside its provenance envelope with the
instance it came from, since status ids only mean something there. Facts: PLATFORMS.md §2.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import msgspec

from reachwatch.connectors.base import Backoff, Emit, Fetched, Stopper, provenance, wrap
from reachwatch.connectors.http import RateLimitedClient
from reachwatch.errors import ConnectorError

log = logging.getLogger(__name__)

REST_SOURCE = "mastodon.rest"
STREAM_SOURCE = "mastodon.streaming"


class LookedUp(msgspec.Struct):
    id: str
    acct: str
    username: str
    followers_count: int | None = None


def instance_of(base_url: str) -> str:
    return urlparse(base_url).netloc


class MastodonClient:
    """One instance's REST API."""

    def __init__(self, http: RateLimitedClient, instance: str) -> None:
        self.http = http
        self.instance = instance  # the host the ids belong to, whatever URL reaches it

    def _wrap(self, endpoint: str, response: httpx.Response, params: dict[str, str]) -> Fetched:
        meta = provenance(REST_SOURCE, endpoint, url=str(response.url), instance=self.instance, params=params)
        return Fetched(REST_SOURCE, wrap(meta, response.content))

    def pages(
        self, path: str, endpoint: str, params: dict[str, Any], about: dict[str, str], max_pages: int
    ) -> Iterator[Fetched]:
        response = self.http.get(path, params=params)
        for page in range(max_pages):
            yield self._wrap(endpoint, response, about)
            following = response.links.get("next", {}).get("url")
            if not following or response.content.strip() in (b"[]", b"") or page + 1 >= max_pages:
                return
            response = self.http.get(following)

    def lookup(self, acct: str) -> tuple[Fetched, LookedUp]:
        response = self.http.get("/api/v1/accounts/lookup", params={"acct": acct})
        try:
            found = msgspec.json.decode(response.content, type=LookedUp)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ConnectorError(
                f"{self.instance} answered the lookup of {acct!r} unreadably: {exc}"
            ) from exc
        return self._wrap("account", response, {}), found

    def account_statuses(
        self, account_id: str, *, since_id: str | None = None, max_pages: int = 5
    ) -> Iterator[Fetched]:
        params: dict[str, Any] = {"limit": 40}
        if since_id:
            params["since_id"] = since_id
        yield from self.pages(f"/api/v1/accounts/{account_id}/statuses", "statuses", params, {}, max_pages)

    def status(self, status_id: str) -> Fetched:
        response = self.http.get(f"/api/v1/statuses/{status_id}")
        return self._wrap("status", response, {"status": status_id})

    def context(self, status_id: str) -> Fetched:
        response = self.http.get(f"/api/v1/statuses/{status_id}/context")
        return self._wrap("context", response, {"status": status_id})

    def actors(self, status_id: str, endpoint: str, max_pages: int = 20) -> Iterator[Fetched]:
        """reblogged_by or favourited_by of one status, every page."""
        path = f"/api/v1/statuses/{status_id}/{endpoint}"
        yield from self.pages(path, endpoint, {"limit": 80}, {"status": status_id}, max_pages)

    def hashtag(self, tag: str, *, since_id: str | None = None, max_pages: int = 3) -> Iterator[Fetched]:
        params: dict[str, Any] = {"limit": 40}
        if since_id:
            params["since_id"] = since_id
        yield from self.pages(f"/api/v1/timelines/tag/{tag}", "statuses", params, {"tag": tag}, max_pages)


class MastodonStreamOptions(msgspec.Struct, kw_only=True):
    base_url: str
    instance: str | None = None  # the host the ids belong to; by default the base URL's
    stream: str = "public"  # public, public/local, hashtag, user, ...
    tag: str | None = None
    token: str | None = None
    read_timeout_s: float = 90.0  # heartbeats come every few seconds; silence this long is a dead link


class MastodonStream:
    """A LiveSource over the SSE streaming API (`GET /api/v1/streaming/<stream>`)."""

    def __init__(
        self,
        options: MastodonStreamOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.options = options
        self.instance = options.instance or instance_of(options.base_url)
        suffix = f":{options.tag}" if options.tag else ""
        self.name = f"{STREAM_SOURCE}:{self.instance}:{options.stream}{suffix}"
        self.backoff = backoff or Backoff(base=1.0, cap=60.0)
        self.transport = transport
        self.connects = 0
        self.events = 0

    def run(self, emit: Emit, stopper: Stopper, cursor: str | None) -> None:
        headers = {"authorization": f"Bearer {self.options.token}"} if self.options.token else {}
        params = {"tag": self.options.tag} if self.options.tag else {}
        timeout = httpx.Timeout(10.0, read=self.options.read_timeout_s)
        with httpx.Client(
            base_url=self.options.base_url, transport=self.transport, timeout=timeout
        ) as client:
            while not stopper.stopped:
                try:
                    with client.stream(
                        "GET", f"/api/v1/streaming/{self.options.stream}", params=params, headers=headers
                    ) as response:
                        status = response.status_code
                        if status in (401, 403):
                            raise ConnectorError(
                                f"{self.instance} refused the {self.options.stream} stream (HTTP {status}): "
                                "since Mastodon 4.2 streams need a user token; "
                                "set REACHWATCH_MASTODON__TOKEN.",
                                status=status,
                            )
                        if 400 <= status < 500 and status not in (408, 429):
                            raise ConnectorError(
                                f"{self.instance} has no {self.options.stream} stream (HTTP {status}).",
                                status=status,
                            )
                        response.raise_for_status()
                        self.connects += 1
                        self.backoff.reset()
                        for event, data in parse_sse(response.iter_lines(), stopper):
                            self.events += 1
                            emit(self._fetched(event, data))
                except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                    delay = self.backoff.next_delay()
                    log.warning(
                        "The %s stream of %s dropped (%s); reconnecting in %.1f s.",
                        self.options.stream,
                        self.instance,
                        exc,
                        delay,
                    )
                    stopper.sleep(delay)

    def _fetched(self, event: str, data: str) -> Fetched:
        params = {"stream": self.options.stream}
        meta = provenance(STREAM_SOURCE, "stream", instance=self.instance, params=params)
        body = msgspec.json.encode({"event": event, "payload": data})
        return Fetched(self.name, wrap(meta, body))


def parse_sse(lines: Iterator[str], stopper: Stopper | None = None) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a server-sent-events stream; heartbeats (`:` lines) are skipped.

    An event is complete at its blank line: one cut off by a dropped connection is discarded, as
    the SSE specification says, never passed on half-read.
    """
    event = "message"
    data: list[str] = []
    for line in lines:
        if stopper is not None and stopper.stopped:
            return
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))

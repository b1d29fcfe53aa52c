"""Small streams for the alert tests: a watched account, a protected person, a threatening post
naming her, and engagements that arrive later; and receivers started on loopback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

from reachwatch.connectors.base import Fetched
from reachwatch.model import Account, Engagement, EngagementKind, MetricSnapshot, Person, Post

T0 = 1_790_000_000_000_000
WATCHED = "bluesky:did:plc:watched"
DANA = Person(id="dana-whitfield", name="Dana Whitfield", aliases=["the Safeguarding Minister"])
THREAT_POST = "bluesky:at://did:plc:watched/app.bsky.feed.post/t1"
CALM_POST = "bluesky:at://did:plc:watched/app.bsky.feed.post/c1"

RULES = """
channels:
  ops:
    type: webhook
    url: "{url}"
    max_attempts: 3
rules:
  - id: threat-naming-protected
    title: Threat naming a protected person
    severity: high
    when:
      watched_author: true
      protected_person_named: true
      harm_flag: {{any_of: [threat]}}
    dedup: [post]
    escalate:
      - severity: critical
        when: {{engagements: {{at_least: 50}}}}
    notify: [ops]
"""


def fetched(record: msgspec.Struct, source: str = "test") -> Fetched:
    """A canonical record as a payload (its `type` tag included), the way a source emits it."""
    return Fetched(source=source, payload=msgspec.json.encode(record))


def opening() -> list[Fetched]:
    return [
        fetched(DANA),
        fetched(
            Account(
                id=WATCHED,
                platform="bluesky",
                handle="maxharlan.bsky.social",
                followers=2_000_000,
                watched=True,
            )
        ),
        fetched(
            Post(
                id=THREAT_POST,
                platform="bluesky",
                author_id=WATCHED,
                created_at_us=T0,
                text="Dana Whitfield should be hanged for this",
                lang="en",
            )
        ),
        fetched(
            Post(
                id=CALM_POST,
                platform="bluesky",
                author_id=WATCHED,
                created_at_us=T0 + 1,
                text="Dana Whitfield spoke about the budget today",
                lang="en",
            )
        ),
    ]


def engagements(post_id: str, start: int, count: int) -> list[Fetched]:
    return [
        fetched(
            Engagement(
                id=f"bluesky:at://did:plc:fan{n}/app.bsky.feed.repost/{post_id[-2:]}{n}",
                kind=EngagementKind.REPOST,
                actor_id=f"bluesky:did:plc:fan{n}",
                post_id=post_id,
                created_at_us=T0 + 60_000_000 + n * 1_000_000,
            )
        )
        for n in range(start, start + count)
    ]


def metrics(post_id: str, reposts: int) -> Fetched:
    return fetched(
        MetricSnapshot(post_id=post_id, observed_at_us=T0 + 7_200_000_000, reposts=reposts, source="t")
    )


class Receiver:
    """An HTTP server on loopback recording what it was sent; answers `statuses` in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        self.arrived = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    receiver.arrived.set()
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()

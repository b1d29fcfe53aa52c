"""Bad input from any platform: a clear PayloadError with a reason code (so it is quarantined with
its bytes), never a crash; hostile text kept as inert text."""

from __future__ import annotations

import msgspec
import pytest

from reachwatch.connectors.base import provenance, wrap
from reachwatch.connectors.jsonl import normalise_line
from reachwatch.errors import PayloadError
from reachwatch.model import Post
from tests.fakes.platforms import BlueskyWorld, MastodonWorld, XWorld


def capture(source: str, nsid: str, body: object, **fields: object) -> bytes:
    return wrap(provenance(source, nsid, **fields), msgspec.json.encode(body))  # type: ignore[arg-type]


def code_of(line: bytes) -> str:
    with pytest.raises(PayloadError) as caught:
        normalise_line(line)
    return caught.value.code


def test_absurd_counts_are_refused() -> None:
    world = XWorld()
    tweet = world.tweet("1", "2", "hi", 1)
    tweet["public_metrics"]["like_count"] = 10**30
    assert (
        code_of(capture("x.api2", "tweets", {"data": [tweet]}, params={"endpoint": "tweets"})) == "wrong-type"
    )
    tweet["public_metrics"]["like_count"] = -5
    assert (
        code_of(capture("x.api2", "tweets", {"data": [tweet]}, params={"endpoint": "tweets"})) == "wrong-type"
    )


def test_missing_fields_and_schema_drift() -> None:
    world = XWorld()
    tweet = world.tweet("1", "2", "hi", 1)
    del tweet["author_id"]
    assert (
        code_of(capture("x.api2", "tweets", {"data": [tweet]}, params={"endpoint": "tweets"}))
        == "missing-field"
    )
    status = MastodonWorld().status("9", MastodonWorld().account("1", "a"), "<p>x</p>", 1)
    status["account"] = "not an object"
    assert code_of(capture("mastodon.rest", "status", status, instance="s.example")) == "wrong-type"
    assert code_of(capture("mastodon.rest", "status", status)) in ("missing-field", "wrong-type")
    view = BlueskyWorld().posts()[0]
    view["record"]["text"] = 42
    assert code_of(capture("bluesky.appview", "app.bsky.feed.getPosts", {"posts": [view]})) == "wrong-type"


def test_unknown_kinds_and_sources() -> None:
    assert code_of(capture("bluesky.appview", "app.bsky.feed.getTimeline", {})) == "unknown-kind"
    assert code_of(capture("myspace.api", "feed", {})) == "unknown-kind"
    assert code_of(capture("mastodon.rest", "bookmarks", [], instance="s.example")) == "unknown-kind"
    assert code_of(b'{"__twarc": {"url": "https://api.twitter.com/2/tweets"}, "data": []}') == "missing-field"


def test_truncated_and_non_json_bodies() -> None:
    good = capture("mastodon.rest", "statuses", [], instance="s.example")
    assert code_of(good[: len(good) // 2]) in ("truncated", "invalid-json")
    envelope = b'{"__reachwatch": {"source": "x.api2", "nsid": "t", "retrieved_at": "2026-01-01T00:00:00Z"}, '
    assert code_of(envelope + b'"body": nope}') == "invalid-json"


def test_hostile_html_and_control_characters_become_inert_text() -> None:
    world = MastodonWorld()
    html = (
        '<p>&lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror="alert(2)">hi\u202e\x00'
        '<a href="javascript:alert(3)">link</a></p>'
    )
    status = world.status("9", world.account("1", "a"), html, 1)
    records = normalise_line(capture("mastodon.rest", "status", status, instance="s.example")).records
    (post,) = [r for r in records if isinstance(r, Post)]
    assert post.text.startswith("<script>alert(1)</script> hi")  # the text as written, never markup
    assert "\x00" not in post.text  # NUL cannot be stored; replaced
    assert post.urls == []  # a javascript: link is not a link

"""Bad input from any platform: a clear PayloadError with a reason code (so it is quarantined with
its bytes), never a crash; hostile text kept as inert text."""

from __future__ import annotations

import contextlib

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


V1_TWEET = {
    "created_at": "Thu Jun 08 15:23:27 +0000 2017", "id_str": "872836479608733696", "text": "hello",
    "user": {"id_str": "12", "screen_name": "someone", "followers_count": 3},
    "entities": {"hashtags": [], "urls": [], "user_mentions": []},
}  # fmt: skip


def test_hostile_lines_are_quarantined_and_the_good_lines_around_them_kept(tmp_path: object) -> None:
    """Deep nesting, a v1.1 tweet whose entities hold a number where objects belong, and a line far
    over the payload limit: each is quarantined (the long one cut, with its size and hash), the
    lines around them are ingested, and a second run resumes without stopping at them."""
    import json
    from pathlib import Path

    from reachwatch.service.ingest import IngestOptions, ingest_file
    from reachwatch.store.database import Store
    from tests.conftest import store_fingerprint

    good = [json.dumps(V1_TWEET | {"id_str": str(100 + n), "text": f"good {n}"}).encode() for n in range(3)]
    hostile = [
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        json.dumps(V1_TWEET | {"id_str": "7", "entities": {"urls": [5]}}).encode(),
        b'{"text": "' + b"x" * 3_000_000 + b'"}',
    ]
    path = Path(str(tmp_path)) / "mixed.jsonl"
    path.write_bytes(b"\n".join([good[0], hostile[0], good[1], hostile[1], hostile[2], good[2]]) + b"\n")
    store = Store.open(str(Path(str(tmp_path)) / "s.db"))
    try:
        options = IngestOptions(max_payload_bytes=1_048_576, max_kept_bytes=2_097_152)
        report = ingest_file(store, path, options)
        assert (report.events, report.quarantined) == (3, 3)
        counts = store_fingerprint(store)
        assert counts["posts"] == 3
        from reachwatch.service import quarantine

        items = {item.reason.split(":")[0]: item for item in quarantine.list_items(store, "all")}
        assert set(items) == {"too-deep", "unreadable", "too-large"}
        cut = quarantine.show(store, items["too-large"].id).payload
        assert len(cut) < 2_200_000
        assert b"3,000,013 bytes in all, sha256 " in cut
        again = ingest_file(store, path, options)  # resumes after the last line: nothing stops it
        assert again.events == 0
        assert store_fingerprint(store) == counts
    finally:
        store.close()


def test_fuzzed_payloads_are_a_payload_error_or_records() -> None:
    """Any JSON in place of any field of real-shaped payloads: records, or a PayloadError."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=10,
    )
    jetstream = {
        "did": "did:plc:abc", "time_us": 1_700_000_000_000_000, "kind": "commit",
        "commit": {"rev": "1", "operation": "create", "collection": "app.bsky.feed.post", "rkey": "3k",
                   "record": {"$type": "app.bsky.feed.post", "text": "hi",
                              "createdAt": "2024-01-01T00:00:00Z"}},
    }  # fmt: skip
    templates = [V1_TWEET, jetstream]

    def paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        found = [prefix] if prefix else []
        if isinstance(value, dict):
            for key, inner in value.items():
                found += paths(inner, (*prefix, key))
        return found

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(range(len(templates))), st.data(), values)
    def check(which: int, data: st.DataObject, replacement: object) -> None:
        payload = json.loads(json.dumps(templates[which]))
        where = data.draw(st.sampled_from(paths(payload)))
        target = payload
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = replacement
        with contextlib.suppress(PayloadError):  # anything else fails the test
            normalise_line(json.dumps(payload).encode())

    import json

    check()


def test_a_post_dated_past_year_9999_is_quarantined() -> None:
    """Within int64 but past any date a page can show: refused at ingest, not stored."""
    far = {"type": "post", "id": "bluesky:at://did:plc:a/app.bsky.feed.post/f", "platform": "bluesky",
           "author_id": "bluesky:did:plc:a", "created_at_us": 2**62, "text": "from the future"}  # fmt: skip
    assert code_of(msgspec.json.encode(far)) in ("invalid-value", "wrong-type")
    tweet = V1_TWEET | {"created_at": "Thu Jun 08 15:23:27 +0000 99999"}
    assert code_of(msgspec.json.encode(tweet)) in ("invalid-value", "wrong-type", "unreadable")


def test_nul_characters_neither_wedge_the_store_nor_answer_500(store: object) -> None:
    """Found by the probe on PostgreSQL, which refuses NUL in text and \\u0000 in JSONB: a NUL in a
    hashtag, a handle, an engagement id (the COPY path), a quarantine reason, a query parameter or
    a login name. Each is one odd character (U+FFFD) in what is stored; the raw bytes keep it."""
    import io
    import json

    from fastapi.testclient import TestClient

    from reachwatch.service import quarantine
    from reachwatch.service.ingest import IngestOptions, ingest_stream
    from reachwatch.store.database import Store
    from reachwatch.web.app import create_app

    assert isinstance(store, Store)
    nul = "\u0000"
    entities = {"hashtags": [{"text": f"tag{nul}x"}], "urls": [], "user_mentions": []}
    user = {"id_str": "13", "screen_name": f"bad{nul}name", "followers_count": 1}
    tweets = [V1_TWEET | {"id_str": "201", "entities": entities}, V1_TWEET | {"id_str": "202", "user": user}]
    engagement = {
        "type": "engagement", "id": f"bluesky:at://did:plc:a/app.bsky.feed.like/l{nul}1", "kind": "like",
        "actor_id": "bluesky:did:plc:a", "post_id": "bluesky:at://did:plc:b/app.bsky.feed.post/p1",
        "created_at_us": 1_700_000_000_000_000,
    }  # fmt: skip
    broken = {"type": "post", "id": f"nowhere{nul}:1", "platform": "bluesky"}
    lines = [json.dumps(row) for row in (*tweets, engagement, broken)]
    report = ingest_stream(store, io.BytesIO(("\n".join(lines) + "\n").encode()), "nul", IngestOptions())
    assert (report.events, report.quarantined) == (3, 1)
    (item,) = quarantine.list_items(store, "all")
    assert nul not in item.reason
    assert b"\\u0000" in quarantine.show(store, item.id).payload
    client = TestClient(create_app(store), raise_server_exceptions=False)
    for path in ("/post?id=x%00y", "/account?id=%00", "/search?q=a%00b&author=%00", "/api/v1/post?id=%00"):
        assert client.get(path).status_code < 500, path
    login = client.post("/login", data={"name": f"admin{nul}", "password": "x"}, follow_redirects=False)
    assert login.status_code < 500

"""Jetstream v1 events (real captures) into canonical records, and every kind of bad line."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conftest import shared_file
from reachwatch.connectors.jsonl import normalise_line
from reachwatch.errors import PayloadError
from reachwatch.model import Account, Deletion, Engagement, Follow, Post


def test_golden_events_normalise_to_the_records_they_describe(golden_lines: list[bytes]) -> None:
    like, reply, repost, follow, profile, foreign_delete, foreign_update, identity, account, block = (
        normalise_line(line) for line in golden_lines
    )
    (record,) = like.records
    assert isinstance(record, Engagement)
    assert record.kind == "like"
    assert record.actor_id == "bluesky:did:plc:mcc5yghbk7tixqryac2yxku7"
    assert record.post_id == "bluesky:at://did:plc:vfnmgxg2yscfliemmcxzyfyh/app.bsky.feed.post/3mmoodizfwc2j"
    assert record.created_at_us == 1779719008778000  # createdAt 2026-05-25T14:23:28.778Z
    assert like.cursor == "1779719009132431"

    post, reply_engagement = reply.records
    assert isinstance(post, Post)
    assert post.text == "Try RSV for a good time !!"
    assert post.lang == "en"
    assert (
        post.reply_to
        == post.reply_root
        == ("bluesky:at://did:plc:j76trmiofvaxxpvx2vnb2vwf/app.bsky.feed.post/3mmojbrjwbs26")
    )
    assert isinstance(reply_engagement, Engagement)
    assert (reply_engagement.kind, reply_engagement.id) == ("reply", post.id)

    assert isinstance(repost.records[0], Engagement)
    assert repost.records[0].kind == "repost"
    assert isinstance(follow.records[0], Follow)
    assert follow.records[0].followed_id == "bluesky:did:plc:anc6s2kher6ltrhhglxrzxsa"
    assert isinstance(profile.records[0], Account)
    assert profile.records[0].display_name == "Multiversal Lokis Unit🔞"
    assert foreign_delete.records == []
    assert foreign_update.records == []
    assert block.records == []
    assert isinstance(identity.records[0], Account)
    assert isinstance(account.records[0], Account)
    assert account.records[0].status == "active"
    keys = {event.event_key for event in (like, reply, repost, follow, profile, identity, account)}
    assert len(keys) == 7


def test_production_capture_matches_its_manifest() -> None:
    path = shared_file("payloads", "bluesky", "jetstream", "expected_v1.jsonl")
    manifest = json.loads(path.with_name("expected_v1_manifest.json").read_text())
    kinds: Counter[str] = Counter()
    for line in path.read_bytes().splitlines():
        for record in normalise_line(line).records:
            kinds[
                type(record).__name__
                + ":"
                + str(getattr(record, "kind", "") or getattr(record, "target", ""))
            ] += 1
    assert manifest["v1_events"] == 152
    assert kinds["Engagement:like"] == 105
    assert kinds["Engagement:repost"] == 15
    assert kinds["Post:"] == 17
    assert kinds["Follow:"] == 6
    assert kinds["Deletion:follow"] == 3
    assert kinds["Deletion:post"] == 1


def _commit(collection: str, record: object, operation: str = "create") -> bytes:
    return json.dumps(
        {
            "did": "did:plc:aaaa",
            "time_us": 1_700_000_000_000_000,
            "kind": "commit",
            "commit": {
                "rev": "3k",
                "operation": operation,
                "collection": collection,
                "rkey": "3kk",
                "record": record,
                "cid": "bafyreiq",
            },
        }
    ).encode()


def test_quote_with_media_and_facets_are_read() -> None:
    quoted = "at://did:plc:bbbb/app.bsky.feed.post/3zz"
    text = "see @bob.test https://example.org #Tag"
    line = _commit(
        "app.bsky.feed.post",
        {
            "text": text,
            "createdAt": "2023-11-14T22:13:19.000Z",
            "embed": {
                "$type": "app.bsky.embed.recordWithMedia",
                "record": {"record": {"uri": quoted, "cid": "bafy"}},
                "media": {},
            },
            "facets": [
                {
                    "index": {"byteStart": 4, "byteEnd": 13},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:bob"}],
                },
                {
                    "index": {"byteStart": 14, "byteEnd": 33},
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.org"}],
                },
                {
                    "index": {"byteStart": 34, "byteEnd": 38},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Tag"}],
                },
            ],
        },
    )
    post, quote = normalise_line(line).records
    assert isinstance(post, Post)
    assert isinstance(quote, Engagement)
    assert post.quote_of == "bluesky:" + quoted
    assert quote.kind == "quote"
    assert post.urls == ["https://example.org"]
    assert post.mentions == ["bluesky:did:plc:bob"]
    assert post.hashtags == ["Tag"]


def test_future_created_at_is_clamped_to_the_network_time() -> None:
    line = _commit(
        "app.bsky.feed.like",
        {
            "createdAt": "2099-01-01T00:00:00Z",
            "subject": {"uri": "at://did:plc:x/app.bsky.feed.post/1", "cid": "b"},
        },
    )
    (like,) = normalise_line(line).records
    assert isinstance(like, Engagement)
    assert like.created_at_us == 1_700_000_000_000_000


def test_delete_of_a_like_becomes_a_deletion() -> None:
    (deletion,) = normalise_line(_commit("app.bsky.feed.like", None, operation="delete")).records
    assert isinstance(deletion, Deletion)
    assert (deletion.target, deletion.kind) == ("engagement", "like")


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b'{"did": "did:plc:a", "time_us": 1, "kind": "commit", "commit": {"rev"', "truncated"),
        (b"{not json}", "invalid-json"),
        (b'{"did": "did:plc:a", "time_us": "soon", "kind": "commit"}', "wrong-type"),
        (b'{"did": "did:plc:a", "time_us": 1, "kind": "rainbow"}', "unknown-kind"),
        (b'{"did": "did:plc:a", "time_us": 1, "kind": "commit"}', "missing-field"),
        (b'{"did": "did:plc:a", "time_us": -5, "kind": "identity"}', "invalid-value"),
        (b'{"hello": "world"}', "unknown-format"),
        (b"[1, 2, 3]", "wrong-type"),
        (b'{"did": "did:plc:\xff\xfe", "time_us": 1, "kind": "identity"}', "invalid-utf8"),
        (_commit("app.bsky.feed.post", {"text": 42, "createdAt": "2024-01-01T00:00:00Z"}), "wrong-type"),
        (
            _commit("app.bsky.feed.like", {"createdAt": "x", "subject": {"uri": "https://evil", "cid": "c"}}),
            "bad-reference",
        ),
        (
            _commit("app.bsky.feed.post", {"text": "x" * 100_001, "createdAt": "2024-01-01T00:00:00Z"}),
            "wrong-type",
        ),
    ],
)
def test_bad_lines_raise_payload_errors_with_a_reason_code(line: bytes, code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        normalise_line(line)
    assert caught.value.code == code
    assert str(caught.value)


def test_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(PayloadError, match="over the limit") as caught:
        normalise_line(b"{" + b" " * 2_000_000 + b"}", max_bytes=1_048_576)
    assert caught.value.code == "too-large"


def test_hostile_text_is_kept_verbatim_in_the_record() -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> \x1b[31mred'
    (post,) = normalise_line(
        _commit("app.bsky.feed.post", {"text": hostile, "createdAt": "2024-01-01T00:00:00Z"})
    ).records
    assert isinstance(post, Post)
    assert post.text == hostile  # stored as data; escaping is the job of every place that shows it

"""Every real sample payload in ../shared/data/payloads parses, with field-level checks."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from reachwatch.connectors.base import provenance, wrap
from reachwatch.connectors.jsonl import normalise_line
from reachwatch.connectors.mastodon.client import parse_sse
from reachwatch.errors import PayloadError
from reachwatch.model import (
    Account,
    AccountSnapshot,
    CanonicalRecord,
    Deletion,
    Engagement,
    EngagementKind,
    MetricSnapshot,
    Post,
)
from tests.conftest import shared_file

INSTANCE = "localhost:3000"


def of_type(records: list[CanonicalRecord], kind: type) -> list:  # type: ignore[type-arg]
    return [record for record in records if isinstance(record, kind)]


def capture(source: str, nsid: str, body: bytes, **fields: object) -> bytes:
    return wrap(provenance(source, nsid, **fields), body)  # type: ignore[arg-type]


def mastodon(path: str, endpoint: str, **params: str) -> list[CanonicalRecord]:
    body = shared_file("payloads", "mastodon", "mastodonpy_cassettes", *path.split("/")).read_bytes()
    line = capture("mastodon.rest", endpoint, body, instance=INSTANCE, params=params)
    return normalise_line(line).records


# -- Bluesky ------------------------------------------------------------------------------------
def test_appview_thread_with_media_embed() -> None:
    path = shared_file(
        "payloads",
        "bluesky",
        "appview",
        "app.bsky.feed.getPostThread__thread_view_post_with_embed_media.json",
    )
    line = capture("bluesky.appview", "app.bsky.feed.getPostThread", path.read_bytes())
    records = normalise_line(line).records
    root = "bluesky:at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kaheyt6vpc22"
    posts = {post.id: post for post in of_type(records, Post)}
    assert root in posts
    assert posts[root].author_id == "bluesky:did:plc:kvwvcn5iqfooopmyzvb4qzba"
    assert (
        posts[root].quote_of
        == "bluesky:at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kahesw26il2z"
    )
    snapshot = next(s for s in of_type(records, MetricSnapshot) if s.post_id == root)
    assert (snapshot.replies, snapshot.reposts, snapshot.likes, snapshot.quotes) == (0, 0, 0, None)


def test_appview_follows_gives_profiles() -> None:
    path = shared_file("payloads", "bluesky", "appview", "app.bsky.graph.getFollows__get_follows.json")
    records = normalise_line(
        capture("bluesky.appview", "app.bsky.graph.getFollows", path.read_bytes())
    ).records
    body = json.loads(path.read_bytes())
    assert {a.id for a in of_type(records, Account)} == {
        f"bluesky:{p['did']}" for p in [body["subject"], *body["follows"]]
    }


def test_every_production_jetstream_event_parses() -> None:
    path = shared_file("payloads", "bluesky", "jetstream", "expected_v1.jsonl")
    manifest = json.loads(
        shared_file("payloads", "bluesky", "jetstream", "expected_v1_manifest.json").read_text()
    )
    kinds: dict[str, int] = {}
    for line in path.read_bytes().splitlines():
        for record in normalise_line(line).records:
            if isinstance(record, Engagement):
                kinds[record.kind.value] = kinds.get(record.kind.value, 0) + 1
    assert kinds["like"] == 105
    assert kinds["repost"] == 15
    assert manifest  # the capture's own metadata is there to compare against by hand


# -- Mastodon -----------------------------------------------------------------------------------
def test_mastodon_boost_is_a_repost_of_the_original() -> None:
    records = mastodon("test_status_reblog_unreblog/01_POST_v1_statuses_ID_reblog.json", "status")
    (repost,) = of_type(records, Engagement)
    assert repost.kind is EngagementKind.REPOST
    assert repost.id == f"mastodon:{INSTANCE}/117020586027094262"
    assert repost.post_id == f"mastodon:{INSTANCE}/117020586019094258"
    assert repost.actor_id == f"mastodon:mastodonpy_test@{INSTANCE}"
    (original,) = of_type(records, Post)
    assert original.text == "Toot!"


def test_mastodon_quote_and_its_fallback_text() -> None:
    records = mastodon("test_status_post_with_quote/01_POST_v1_statuses.json", "status")
    quoting = next(p for p in of_type(records, Post) if p.id.endswith("117020582925004921"))
    assert quoting.quote_of == f"mastodon:{INSTANCE}/117020582917124092"
    assert quoting.text == "yoooooooo"  # the "RE: <link>" fallback paragraph is not text
    assert any(e.kind is EngagementKind.QUOTE for e in of_type(records, Engagement))


def test_mastodon_reply_mentions_and_counts() -> None:
    records = mastodon("test_status_reply/02_POST_v1_statuses.json", "status")
    (post,) = of_type(records, Post)
    assert post.reply_to == f"mastodon:{INSTANCE}/117020583245459824"
    assert post.mentions == [f"mastodon:mastodonpy_test_2@{INSTANCE}"]
    (reply,) = of_type(records, Engagement)
    assert reply.kind is EngagementKind.REPLY
    assert of_type(records, MetricSnapshot)[0].likes == 0


def test_mastodon_followers_only_statuses_are_never_kept() -> None:
    """A real followers-only status and its self-boost: not public, so nothing of them is kept."""
    folder = "test_status_reblogged_by"
    assert mastodon(f"{folder}/03_POST_v1_statuses.json", "status") == []
    assert mastodon(f"{folder}/04_POST_v1_statuses_ID_reblog.json", "status") == []
    public = mastodon("test_status_reply/02_POST_v1_statuses.json", "status")
    assert of_type(public, Post)


def test_mastodon_reblogged_by_needs_and_uses_the_status_it_is_about() -> None:
    path = "test_status_reblogged_by/02_GET_v1_statuses_ID_reblogged_by.json"
    records = mastodon(path, "reblogged_by", status="42")
    (repost,) = of_type(records, Engagement)
    assert repost.post_id == f"mastodon:{INSTANCE}/42"
    assert repost.actor_id == f"mastodon:mastodonpy_test_2@{INSTANCE}"
    assert repost.time_observed
    with pytest.raises(PayloadError, match="without the status"):
        mastodon(path, "reblogged_by")


def test_mastodon_account_lookup_gives_follower_snapshot() -> None:
    records = mastodon("test_account/01_GET_v1_accounts_ID.json", "account")
    (account,) = of_type(records, Account)
    assert account.id == f"mastodon:mastodonpy_test@{INSTANCE}"
    assert of_type(records, AccountSnapshot)[0].followers == 0


def test_every_mastodon_cassette_status_parses() -> None:
    index = shared_file("payloads", "mastodon", "mastodonpy_cassettes", "index.jsonl")
    parsed = 0
    for entry in map(json.loads, index.read_text().splitlines()):
        name = entry["file"]
        if entry["status"] != 200 or not name.endswith(".json") or "statuses" not in name:
            continue
        body = json.loads((index.parent / name).read_bytes())
        endpoint = "statuses" if isinstance(body, list) else "context" if "ancestors" in body else "status"
        if name.endswith(("reblogged_by.json", "favourited_by.json", "_history.json", "_source.json")):
            continue
        line = capture("mastodon.rest", endpoint, (index.parent / name).read_bytes(), instance=INSTANCE)
        normalise_line(line)
        parsed += 1
    assert parsed >= 40


def test_mastodon_sse_stream_events() -> None:
    path = shared_file(
        "payloads",
        "mastodon",
        "mastodonpy_cassettes",
        "test_stream_user_local",
        "05_GET_v1_streaming_user.sse",
    )
    events = list(parse_sse(iter(path.read_text().splitlines())))
    assert [event for event, _ in events].count("update") >= 1
    update = next(data for event, data in events if event == "update")
    body = msgspec.json.encode({"event": "update", "payload": update})
    records = normalise_line(capture("mastodon.streaming", "stream", body, instance=INSTANCE)).records
    assert of_type(records, Post)[0].text == "it's cool guy"


def test_mastodon_documented_stream_examples() -> None:
    path = shared_file("payloads", "mastodon", "docs_examples", "streaming_sse_examples.jsonl")
    deletions = posts = 0
    for example in map(json.loads, path.read_text().splitlines()):
        body = msgspec.json.encode({"event": example["event"], "payload": example["data"]})
        records = normalise_line(
            capture("mastodon.streaming", "stream", body, instance="mastodon.social")
        ).records
        deletions += len(of_type(records, Deletion))
        posts += len(of_type(records, Post))
    assert deletions == 6
    assert posts >= 12


# -- X ------------------------------------------------------------------------------------------
def test_twarc2_retweet_is_an_engagement_with_counts_of_the_original() -> None:
    path = shared_file("payloads", "x_twitter", "twarc2_v2_api", "two_tweets.jsonl")
    records = normalise_line(path.read_bytes().splitlines()[0]).records
    repost = next(e for e in of_type(records, Engagement) if e.id == "x:1394735776701816833")
    assert repost.kind is EngagementKind.REPOST
    assert repost.post_id == "x:1391677057810288641"
    assert repost.actor_id == "x:1379899464345923590"
    assert "x:1394735776701816833" not in {p.id for p in of_type(records, Post)}
    followers = {s.account_id: s.followers for s in of_type(records, AccountSnapshot)}
    assert followers["x:1379899464345923590"] == 0


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name
        for p in (Path(__file__).resolve().parents[2] / "shared/data/payloads/x_twitter/twarc2_v2_api").glob(
            "*.jsonl"
        )
        if not p.name.endswith("_compliance.jsonl")
    )
    or ["absent"],
)
def test_every_twarc2_file_parses(name: str) -> None:
    path = shared_file("payloads", "x_twitter", "twarc2_v2_api", name)
    good = tweets = 0
    refused: list[str] = []
    for line in path.read_bytes().splitlines():
        try:
            records = normalise_line(line).records
        except PayloadError as exc:
            refused.append(exc.code)
            continue
        good += 1
        tweets += len(of_type(records, Post)) + len(
            [e for e in of_type(records, Engagement) if e.kind == "repost"]
        )
    assert good > 0
    # only the capture's deliberately cut last line is refused
    assert refused == (["truncated"] if name == "streaming_output_with_error.jsonl" else [])
    if name not in ("counts.jsonl", "lists.jsonl", "users.jsonl"):
        assert tweets > 0


def test_impressions_become_views() -> None:
    path = shared_file("payloads", "x_twitter", "docs_example", "data_dictionary_tweets_lookup_example.json")
    records = normalise_line(
        capture("x.api2", "tweets", path.read_bytes(), params={"endpoint": "tweets"})
    ).records
    snapshot = next(s for s in of_type(records, MetricSnapshot) if s.post_id == "x:1212092628029698048")
    assert snapshot.views is not None
    assert snapshot.views > 0


def test_v1_tweets_retweets_quotes_and_replies() -> None:
    path = shared_file("payloads", "x_twitter", "v1.1", "original_format_examples.jsonl")
    reposts = quotes = replies = 0
    for line in path.read_bytes().splitlines():
        records = normalise_line(line).records
        for engagement in of_type(records, Engagement):
            reposts += engagement.kind is EngagementKind.REPOST
            quotes += engagement.kind is EngagementKind.QUOTE
            replies += engagement.kind is EngagementKind.REPLY
    assert reposts == 3
    assert quotes >= 8
    assert replies >= 4


def test_v1_public_api_sample() -> None:
    path = shared_file("payloads", "x_twitter", "v1.1", "public_api_sample.jsonl")
    lines = path.read_bytes().splitlines()
    first = json.loads(lines[0])
    records = normalise_line(lines[0]).records
    post = next(p for p in of_type(records, Post) if p.id == f"x:{first['id_str']}")
    assert post.hashtags == ["QuoteTweet", "hashtags"]
    assert post.quote_of is not None
    assert all(normalise_line(line).records for line in lines)


def test_activity_streams_tweets_are_quarantined_with_a_reason() -> None:
    path = shared_file("payloads", "x_twitter", "v1.1", "activity_streams_examples.jsonl")
    with pytest.raises(PayloadError) as caught:
        normalise_line(path.read_bytes().splitlines()[0])
    assert caught.value.code == "unknown-format"

"""AppView responses (real recorded views) into posts, metric snapshots, accounts and follower snapshots."""

from __future__ import annotations

import json

import pytest

from conftest import shared_file
from reachwatch.connectors.bluesky.appview import normalise_response
from reachwatch.errors import PayloadError
from reachwatch.model import Account, AccountSnapshot, MetricSnapshot, Post

OBSERVED = 1_800_000_000_000_000


def test_real_post_view_gives_the_post_and_its_counts() -> None:
    recorded = json.loads(
        shared_file(
            "payloads",
            "bluesky",
            "appview",
            "app.bsky.feed.getPostThread__thread_view_post_with_embed_media.json",
        ).read_text()
    )
    view = recorded["thread"]["post"]
    records = normalise_response("app.bsky.feed.getPosts", {"posts": [view]}, OBSERVED)
    (account,) = [r for r in records if isinstance(r, Account)]
    (post,) = [r for r in records if isinstance(r, Post)]
    (snapshot,) = [r for r in records if isinstance(r, MetricSnapshot)]
    assert account.handle == "test.marshal.dev"
    assert post.id == "bluesky:" + view["uri"]
    assert post.text == view["record"]["text"]
    assert (snapshot.replies, snapshot.reposts, snapshot.likes) == (0, 0, 0)
    assert snapshot.quotes is None  # recorded in 2023, before quoteCount existed: unknown, not zero
    assert snapshot.observed_at_us == OBSERVED


def test_real_profile_views_give_accounts() -> None:
    recorded = json.loads(
        shared_file(
            "payloads", "bluesky", "appview", "app.bsky.graph.getFollows__get_follows.json"
        ).read_text()
    )
    records = normalise_response("app.bsky.actor.getProfiles", {"profiles": recorded["follows"]}, OBSERVED)
    accounts = [r for r in records if isinstance(r, Account)]
    assert len(accounts) == len(recorded["follows"])
    assert accounts[0].handle == "why.bsky.team"
    assert accounts[0].created_at_us is not None
    # profileView carries no follower counts, so no snapshot is invented
    assert not [r for r in records if isinstance(r, AccountSnapshot)]


def test_profile_with_counts_gives_a_follower_snapshot() -> None:
    body = {
        "profiles": [
            {
                "did": "did:plc:abc",
                "handle": "a.test",
                "followersCount": 212_000_000,
                "followsCount": 10,
                "postsCount": 99,
            }
        ]
    }
    account, snapshot = normalise_response("app.bsky.actor.getProfiles", body, OBSERVED)
    assert isinstance(account, Account)
    assert account.followers == 212_000_000
    assert isinstance(snapshot, AccountSnapshot)
    assert (snapshot.followers, snapshot.observed_at_us) == (212_000_000, OBSERVED)


@pytest.mark.parametrize(
    ("nsid", "body", "code"),
    [
        ("app.bsky.feed.getTimeline", {}, "unknown-kind"),
        ("app.bsky.actor.getProfiles", {"profiles": [{"handle": "no-did"}]}, "wrong-type"),
        (
            "app.bsky.actor.getProfiles",
            {"profiles": [{"did": "did:plc:a", "followersCount": -3}]},
            "wrong-type",
        ),
        (
            "app.bsky.feed.getPosts",
            {
                "posts": [
                    {
                        "uri": "at://did:plc:other/app.bsky.feed.post/1",
                        "author": {"did": "did:plc:a"},
                        "record": {"text": "x", "createdAt": "2024-01-01T00:00:00Z"},
                    }
                ]
            },
            "bad-reference",
        ),
    ],
)
def test_bad_responses_are_payload_errors(nsid: str, body: dict[str, object], code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        normalise_response(nsid, body, OBSERVED)
    assert caught.value.code == code

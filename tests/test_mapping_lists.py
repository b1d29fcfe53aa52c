"""Imported tables carry what coordination needs: hashtags, mentions and links from list columns
(a JSON list or delimited text) or, when no column has them, from the text; a row naming the
reposted post is a repost engagement, as the platform connectors read one."""

from __future__ import annotations

from pathlib import Path

from reachwatch.connectors.files.mapping import ColumnMapping, normalise_row
from reachwatch.model import Engagement, EngagementKind, Post
from reachwatch.service.ingest import IngestOptions, ingest_table
from reachwatch.store import coordination as coordination_rows
from reachwatch.store.database import Store

TROLLS = Path(__file__).parent / "fixtures" / "troll_tweets_sample.csv"
# A FiveThirtyEight-style troll-tweet table (russian-troll-tweets' columns), mapped to X ids.
TROLL_MAPPING = ColumnMapping(
    name="troll-tweets", platform="x", id="tweet_id", author_id="external_author_id", author_handle="author",
    created_at="publish_date", created_at_format="%m/%d/%Y %H:%M", text="content", lang="language",
    followers="followers", repost_of="retweet_of",
)  # fmt: skip


def test_list_columns_json_or_delimited() -> None:
    mapping = ColumnMapping(
        name="lists", platform="x", id="id", author_id="author", created_at="at", text="text",
        hashtags=["tags", "more"], mentions="who", urls="links",
    )  # fmt: skip
    row = {"id": "1", "author": "9", "at": "2016-10-01T10:00:00Z", "text": "no tags here #ignored",
           "tags": '["Brexit", "#MAGA"]', "more": "vote; leave|now", "who": "@alice, bob",
           "links": "https://a.example/x https://b.example/y"}  # fmt: skip
    post = next(r for r in normalise_row(mapping, row, 0) if isinstance(r, Post))
    assert post.hashtags == ["Brexit", "MAGA", "vote", "leave", "now"]
    assert post.mentions == ["x:alice", "x:bob"]
    assert post.urls == ["https://a.example/x", "https://b.example/y"]


def test_taken_from_the_text_when_no_column_has_them() -> None:
    mapping = ColumnMapping(name="t", platform="x", id="id", author_id="a", created_at="at", text="text")
    text = "RT @TEN_GOP: #Hillary lied &amp;#39; again #1 https://t.co/abc mail me a@b.org"
    row = {"id": "1", "a": "9", "at": "2016-10-01T10:00:00Z", "text": text}
    post = next(r for r in normalise_row(mapping, row, 0) if isinstance(r, Post))
    assert post.hashtags == ["Hillary"]
    assert post.mentions == ["x:TEN_GOP"]
    assert post.urls == ["https://t.co/abc"]
    off = ColumnMapping(name="t", platform="x", id="id", author_id="a", created_at="at", text="text",
                        extract_from_text=False)  # fmt: skip
    plain = next(r for r in normalise_row(off, row, 0) if isinstance(r, Post))
    assert (plain.hashtags, plain.mentions, plain.urls) == ([], [], [])


def test_a_repost_row_is_a_repost_engagement() -> None:
    row = {
        "tweet_id": "5", "external_author_id": "77", "author": "TEN_GOP", "publish_date": "10/1/2016 10:00",
        "content": "RT @x: hi", "language": "English", "followers": "100", "retweet_of": "4",
    }  # fmt: skip
    records = normalise_row(TROLL_MAPPING, row, 0)
    (repost,) = [r for r in records if isinstance(r, Engagement)]
    assert (repost.kind, repost.actor_id, repost.post_id, repost.id) == (
        EngagementKind.REPOST,
        "x:77",
        "x:4",
        "x:5",
    )
    assert not [r for r in records if isinstance(r, Post)]


def test_an_imported_troll_table_feeds_co_hashtag_and_co_repost(store: Store) -> None:
    report = ingest_table(store, TROLLS, TROLL_MAPPING, IngestOptions(enrich=False), None)
    assert report.quarantined == 0
    hashtags = coordination_rows.post_entities(store, 0, 2**62, "hashtags")
    reposts = coordination_rows.reposts(store, 0, 2**62)
    assert len(hashtags.accounts) >= 4  # before: 0 actions from an imported table
    assert len(reposts.accounts) >= 3

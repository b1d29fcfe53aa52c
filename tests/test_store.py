"""The store, on SQLite and PostgreSQL alike: migrations, idempotent upserts, deletions, search."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from reachwatch.errors import StoreError, UsageError
from reachwatch.model import (
    Account,
    AccountSnapshot,
    Deletion,
    Engagement,
    EngagementKind,
    IngestedEvent,
    MetricSnapshot,
    Person,
    Post,
    QuarantineItem,
    RawEvent,
    WriteBatch,
)
from reachwatch.store import queries
from reachwatch.store.database import MIGRATIONS, Store, database_url
from reachwatch.store.schema import metadata

AUTHOR = "bluesky:did:plc:author"
FAN = "bluesky:did:plc:fan"
POST_ID = "bluesky:at://did:plc:author/app.bsky.feed.post/1"


def _post(text: str = "Dana Whitfield should resign", post_id: str = POST_ID, at: int = 1_000) -> Post:
    return Post(
        id=post_id,
        platform="bluesky",
        author_id=AUTHOR,
        created_at_us=at,
        text=text,
        urls=["https://a.example"],
    )


def _like(n: int, post_id: str = POST_ID) -> Engagement:
    return Engagement(
        id=f"bluesky:at://did:plc:fan{n}/app.bsky.feed.like/{n}",
        kind=EngagementKind.LIKE,
        actor_id=f"bluesky:did:plc:fan{n}",
        post_id=post_id,
        created_at_us=2_000 + n,
    )


def _raw(key: str) -> RawEvent:
    return RawEvent(source="test", event_key=key, received_at_us=1, payload=b"{}")


def test_schema_is_at_head_and_matches_the_table_definitions(store: Store) -> None:
    assert store.schema_version() == store.head_version() == "0010"
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == store.head_version()  # same head
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # posts.search_vector (PostgreSQL) and posts_fts (SQLite) exist only in the migration, on purpose.
    relevant = [d for d in diff if "search_vector" not in str(d) and "posts_fts" not in str(d)]
    assert relevant == []


def test_reopening_a_migrated_store_changes_nothing(store_url: str) -> None:
    first = Store.open(store_url)
    first.write_records([_post()])
    first.close()
    second = Store.open(store_url)
    assert queries.stats(second).posts == 1
    second.close()


def test_batch_is_written_with_its_cursor_and_replays_change_nothing(store: Store) -> None:
    batch = WriteBatch(
        events=[IngestedEvent(_raw("k1"), [_post(), _like(1)]), IngestedEvent(_raw("k2"), [_like(2)])],
        cursor=("test", "42"),
    )
    first = store.write_batch(batch)
    second = store.write_batch(batch)
    assert (first.raw_new, first.duplicates) == (2, 0)
    assert (second.raw_new, second.duplicates) == (0, 2)
    stats = queries.stats(store)
    assert stats.raw_events == 2
    assert stats.posts == 1
    assert stats.engagements == {"like": 2}
    assert stats.accounts == 3  # the author and two fans, as stubs
    assert store.get_cursor("test") == "42"


def test_the_same_engagement_from_two_payloads_is_stored_once(store: Store) -> None:
    # e.g. a like seen live and again in a backfill: two raw events, one engagement
    batch = WriteBatch(
        events=[
            IngestedEvent(_raw("live"), [_like(1)]),
            IngestedEvent(_raw("backfill"), [_like(1), _like(2)]),
        ]
    )
    result = store.write_batch(batch)
    assert (result.raw_new, result.duplicates) == (2, 0)
    store.write_batch(WriteBatch(events=[IngestedEvent(_raw("later"), [_like(2)])]))
    assert queries.post_counts(store, POST_ID).likes == 2
    assert queries.stats(store).raw_events == 3


def test_known_fields_are_never_erased_by_unknown_ones(store: Store) -> None:
    store.write_records(
        [Account(id=AUTHOR, platform="bluesky", handle="author.test", followers=10, watched=True)]
    )
    store.write_records([Account(id=AUTHOR, platform="bluesky", display_name="The Author")])
    store.write_records([Account(id=AUTHOR, platform="bluesky", followers=12)])
    stats = queries.stats(store)
    assert stats.watched_accounts == 1
    store.write_records([_post()])
    (hit,) = queries.search(store, "Whitfield")
    assert hit.author_handle == "author.test"
    (top,) = queries.top_amplifiers(store) or [None]  # no reposts yet
    assert top is None


def test_deletion_marks_and_survives_a_late_create(store: Store) -> None:
    store.write_records([Deletion(target="post", id=POST_ID, deleted_at_us=9_000, actor_id=AUTHOR)])
    store.write_records([_post()])  # the create arrives after its delete (out of order)
    (hit,) = queries.search(store, "Whitfield")
    assert hit.deleted
    assert queries.deleted_post_ids(store, [POST_ID]) == {POST_ID}


def test_deleted_text_can_be_erased_by_policy(store_url: str) -> None:
    erasing = Store.open(store_url, keep_deleted_text=False)
    erasing.write_records([_post("Dana Whitfield should resign")])
    assert len(queries.search(erasing, "resign")) == 1
    erasing.write_records([Deletion(target="post", id=POST_ID, deleted_at_us=9_000, actor_id=AUTHOR)])
    assert queries.search(erasing, "resign") == []  # the text is gone, from the index too
    assert queries.deleted_post_ids(erasing, [POST_ID]) == {POST_ID}
    erasing.write_records([_post("Dana Whitfield should resign")])  # a late replay cannot restore it
    assert queries.search(erasing, "resign") == []
    erasing.close()


def test_deleted_engagements_stop_counting(store: Store) -> None:
    store.write_records([_post(), _like(1), _like(2)])
    store.write_records(
        [
            Deletion(
                target="engagement",
                id=_like(1).id,
                deleted_at_us=5_000,
                kind=EngagementKind.LIKE,
                actor_id=_like(1).actor_id,
            )
        ]
    )
    assert queries.post_counts(store, POST_ID).likes == 1
    assert queries.post_counts(store, POST_ID, at_us=4_000).likes == 2
    # a deletion seen before its like: the like stays deleted when it arrives
    store.write_records(
        [
            Deletion(
                target="engagement",
                id=_like(3).id,
                deleted_at_us=5_000,
                kind=EngagementKind.LIKE,
                actor_id=_like(3).actor_id,
            )
        ]
    )
    store.write_records([_like(3)])
    assert queries.post_counts(store, POST_ID).likes == 1


def test_snapshots_and_people_are_stored(store: Store) -> None:
    store.write_records(
        [
            MetricSnapshot(post_id=POST_ID, observed_at_us=10, likes=5, reposts=2, source="t"),
            MetricSnapshot(post_id=POST_ID, observed_at_us=20, likes=9, reposts=3, source="t"),
            AccountSnapshot(account_id=AUTHOR, observed_at_us=10, followers=100, source="t"),
            Person(
                id="dana-whitfield",
                name="Dana Whitfield",
                aliases=["Ms Whitfield"],
                handles={"bluesky": ["d.test"]},
            ),
        ]
    )
    latest = queries.latest_snapshot(store, POST_ID)
    assert latest is not None
    assert (latest.likes, latest.reposts, latest.observed_at_us) == (9, 3, 20)
    stats = queries.stats(store)
    assert (stats.metric_snapshots, stats.account_snapshots, stats.people) == (2, 1, 1)


def test_top_posts_and_amplifiers(store: Store) -> None:
    other = "bluesky:at://did:plc:author/app.bsky.feed.post/2"
    store.write_records(
        [
            _post(),
            _post("another post", other),
            _like(1),
            _like(2),
            _like(3, other),
            Account(id="bluesky:did:plc:big", platform="bluesky", handle="big.test", followers=1_000_000),
            Engagement(
                id="bluesky:at://did:plc:big/app.bsky.feed.repost/1",
                kind=EngagementKind.REPOST,
                actor_id="bluesky:did:plc:big",
                post_id=POST_ID,
                created_at_us=3_000,
            ),
            Engagement(
                id="bluesky:at://did:plc:small/app.bsky.feed.repost/1",
                kind=EngagementKind.REPOST,
                actor_id="bluesky:did:plc:small",
                post_id=POST_ID,
                created_at_us=2_500,
            ),
        ]
    )
    top = queries.top_posts(store, limit=2)
    assert [post.id for post in top] == [POST_ID, other]
    assert (top[0].likes, top[0].reposts, top[0].total) == (2, 2, 4)
    amplifiers = queries.top_amplifiers(store, post_id=POST_ID)
    assert [amp.handle for amp in amplifiers] == ["big.test", None]
    assert amplifiers[0].followers == 1_000_000


def test_full_text_search_finds_words_and_is_safe_with_operators(store: Store) -> None:
    store.write_records(
        [
            _post("The minister should be jailed", "bluesky:at://did:plc:author/app.bsky.feed.post/a", 1),
            _post(
                "Lovely weather for the minister's garden party",
                "bluesky:at://did:plc:author/app.bsky.feed.post/b",
                2,
            ),
            _post(
                '<script>alert("jailed")</script> NEAR OR AND',
                "bluesky:at://did:plc:author/app.bsky.feed.post/c",
                3,
            ),
        ]
    )
    assert {hit.id[-1] for hit in queries.search(store, "jailed")} == {"a", "c"}
    assert [hit.id[-1] for hit in queries.search(store, "minister jailed")] == ["a"]
    # FTS operators and quotes in user text are searched as words, never parsed as syntax
    assert [hit.id[-1] for hit in queries.search(store, 'NEAR OR "AND" *')] in (["c"], [])
    (hostile,) = queries.search(store, "script alert")
    assert hostile.text.startswith("<script>")
    assert len(queries.search(store, "minister", limit=1)) == 1
    assert len(queries.search(store, "minister", limit=1, offset=1)) == 1
    with pytest.raises(UsageError):
        queries.search(store, '  "" ')


def test_relevance_puts_the_best_match_first_newest_the_latest(store: Store) -> None:
    store.write_records(
        [
            _post("jailed jailed jailed", "bluesky:at://did:plc:author/app.bsky.feed.post/best", 1),
            _post(
                "a long post that mentions being jailed once among many other words here",
                "bluesky:at://did:plc:author/app.bsky.feed.post/late",
                2,
            ),
        ]
    )
    assert [hit.id[-4:] for hit in queries.search(store, "jailed", order="relevance")] == ["best", "late"]
    assert [hit.id[-4:] for hit in queries.search(store, "jailed", order="newest")] == ["late", "best"]


def test_newest_is_by_the_posts_time_not_their_ids(store: Store) -> None:
    """Bluesky ids are random with respect to time, and a batch is written in id order."""
    store.write_records(
        [
            _post("jailed first", "bluesky:at://did:plc:author/app.bsky.feed.post/zzzz", 1),
            _post("jailed second", "bluesky:at://did:plc:author/app.bsky.feed.post/aaaa", 2),
        ]
    )
    assert [hit.id[-4:] for hit in queries.search(store, "jailed", order="newest")] == ["aaaa", "zzzz"]
    assert [hit.id[-4:] for hit in queries.search(store, "jailed", order="relevance", limit=1)] in (
        ["aaaa"],
        ["zzzz"],
    )


def test_quarantine_rows_keep_their_bytes(store: Store) -> None:
    raw = b"\xff\xfe not json \x00"
    store.write_batch(
        WriteBatch(
            quarantine=[
                QuarantineItem(
                    source="t", received_at_us=1, reason="invalid-json: x", payload=raw, position="line 3"
                )
            ]
        )
    )
    from reachwatch.store import quarantine

    (item,) = quarantine.list_items(store)
    assert item.payload == raw
    assert item.position == "line 3"
    assert quarantine.count_by_reason(store) == {"invalid-json": 1}


def test_database_url_forms() -> None:
    assert database_url("data/x.db") == "sqlite:///data/x.db"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(StoreError, match="SQLite file path or a postgresql:// URL"):
        database_url("mysql://u@h/db")


def test_missing_folder_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(StoreError, match="folder does not exist"):
        Store.open("/nonexistent-folder-xyz/store.db")


def test_workers_opening_a_new_store_together_migrate_it_once(store_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def open_and_close(_: int) -> str | None:
        opened = Store.open(store_url)
        version = opened.schema_version()
        opened.close()
        return version

    with ThreadPoolExecutor(max_workers=4) as pool:
        versions = list(pool.map(open_and_close, range(4)))
    assert versions == ["0010"] * 4

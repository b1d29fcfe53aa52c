"""The engager table on a small hand-made store: what each account did, how soon, who it is."""

from __future__ import annotations

import pytest

from reachwatch.errors import NotFoundError, UsageError
from reachwatch.model import Account, Deletion, Engagement, EngagementKind, Post
from reachwatch.service.engagers import EngagerSort, engager_table
from reachwatch.store.database import Store

T0 = 1_790_000_000_000_000
MIN = 60_000_000
DAY = 24 * 60 * MIN
AUTHOR = "bluesky:did:plc:author"
POST = "bluesky:at://did:plc:author/app.bsky.feed.post/now"
EARLIER = "bluesky:at://did:plc:author/app.bsky.feed.post/before"


def engagement(actor: str, kind: EngagementKind, post: str, at: int, n: int = 0) -> Engagement:
    return Engagement(
        id=f"bluesky:at://did:plc:{actor}/app.bsky.feed.{kind.value}/{post[-3:]}{n}",
        kind=kind,
        actor_id=f"bluesky:did:plc:{actor}",
        post_id=post,
        created_at_us=at,
    )


@pytest.fixture
def filled(store: Store) -> Store:
    store.write_records(
        [
            Post(id=POST, platform="bluesky", author_id=AUTHOR, created_at_us=T0),
            Post(id=EARLIER, platform="bluesky", author_id=AUTHOR, created_at_us=T0 - 2 * DAY),
            Account(
                id="bluesky:did:plc:big", platform="bluesky", followers=90_000, created_at_us=T0 - 400 * DAY
            ),
            Account(id="bluesky:did:plc:new", platform="bluesky", followers=3, created_at_us=T0 - 2 * DAY),
            engagement("big", EngagementKind.REPOST, POST, T0 + 2 * MIN),
            engagement("big", EngagementKind.LIKE, POST, T0 + 3 * MIN),
            engagement("new", EngagementKind.REPOST, POST, T0 + 90 * MIN),
            engagement("fan", EngagementKind.LIKE, POST, T0 + 5 * MIN),
            engagement("gone", EngagementKind.LIKE, POST, T0 + 6 * MIN),
            Deletion(
                target="engagement",
                id=engagement("gone", EngagementKind.LIKE, POST, 0).id,
                deleted_at_us=T0 + 7 * MIN,
            ),
            engagement("fan", EngagementKind.LIKE, EARLIER, T0 - DAY, 1),
            engagement("fan", EngagementKind.REPOST, EARLIER, T0 - DAY, 2),
        ]
    )
    return store


def test_table_of_a_post(filled: Store) -> None:
    table = engager_table(filled, POST)
    assert table.total == 3  # the deleted like's account is not an engager
    rows = {row.account_id.rsplit(":", 1)[1]: row for row in table.rows}
    assert rows["big"].kinds == ["like", "repost"]
    assert rows["big"].actions == 2
    assert rows["big"].delay_s == 120
    assert rows["big"].first_hour
    assert not rows["new"].first_hour
    assert rows["new"].account_age_days == pytest.approx(2 + 90 / (24 * 60))
    assert rows["fan"].prior_engagements == 2
    assert table.rows[0].account_id.endswith("big")  # first to engage
    assert [r.account_id.rsplit(":", 1)[1] for r in table.top_amplifiers] == ["big", "new"]
    assert table.first_hour_amplifiers == 1


def test_sorting_paging_and_account_mode(filled: Store) -> None:
    by_followers = engager_table(filled, POST, sort=EngagerSort.FOLLOWERS, limit=1, page=1)
    assert by_followers.rows[0].followers == 90_000
    assert len(by_followers.rows) == 1
    second = engager_table(filled, POST, sort=EngagerSort.FOLLOWERS, limit=1, page=2)
    assert second.rows[0].followers == 3
    account = engager_table(filled, AUTHOR)
    assert account.posts == 2
    assert account.total == 3
    with pytest.raises(NotFoundError):
        engager_table(filled, "bluesky:did:plc:nobody")
    with pytest.raises(UsageError):
        engager_table(filled, POST, page=0)

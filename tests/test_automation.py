"""Automation-likeness: a clockwork amplifier scores high and says why; a person scores low."""

from __future__ import annotations

import numpy as np
import pytest

from reachwatch.analysis.automation import WEIGHTS, Profile, score_account
from reachwatch.model import Account, Engagement, EngagementKind, Post
from reachwatch.service.automation import score_accounts
from reachwatch.store.database import Store

DAY = 86_400_000_000
NOW = 1_790_000_000_000_000


def drivers(result: object) -> dict[str, float]:
    return {d.feature: d.contribution for d in result.drivers}  # type: ignore[attr-defined]


def test_clockwork_amplifier_scores_high_with_its_reasons() -> None:
    times = NOW - 3 * DAY + np.arange(2_000) * 120_000_000  # every two minutes, day and night
    bot = Profile(
        handle="news48213977.bsky.social", created_at_us=NOW - 5 * DAY, followers=3, following=4_000
    )
    result = score_account(times, ["repost"] * 2_000, bot, NOW)
    found = drivers(result)
    assert result.score > 0.8
    for feature in ("rate", "regularity", "around the clock", "handle pattern", "amplification only"):
        assert found[feature] == pytest.approx(WEIGHTS[feature])
    assert result.drivers[0].contribution >= result.drivers[-1].contribution
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_a_person_scores_low() -> None:
    rng = np.random.default_rng(1)
    days = rng.integers(0, 60, 90) * DAY
    waking = rng.integers(8 * 3600, 22 * 3600, 90) * 1_000_000
    person = Profile(
        handle="jo-writes.bsky.social", display_name="Jo", description="teacher",
        created_at_us=NOW - 900 * DAY, followers=400, following=300,
    )  # fmt: skip
    kinds = ["post"] * 40 + ["reply"] * 30 + ["like"] * 20
    result = score_account(NOW - 60 * DAY + days + waking, kinds, person, NOW)
    assert result.score < 0.15
    assert drivers(result)["regularity"] == 0


def test_bursts_and_too_little_data() -> None:
    burst = np.array([0, 5, 10, 15, 20, 3_600, 7_200]) * 1_000_000 + NOW - DAY
    result = score_account(burst, ["repost"] * 7, Profile(), NOW)
    by_feature = {d.feature: d for d in result.drivers}
    assert by_feature["bursts"].value == "71% of actions in bursts"
    assert by_feature["regularity"].points == -1  # six gaps: not measured, adds nothing
    assert by_feature["young account"].contribution == 0
    empty = score_account(np.zeros(0, np.int64), [], Profile(), NOW)
    assert empty.score == pytest.approx(WEIGHTS["default profile"])  # nothing but a blank profile


def test_over_the_store(store: Store) -> None:
    author = "bluesky:did:plc:author"
    post = "bluesky:at://did:plc:author/app.bsky.feed.post/p"
    records: list[object] = [
        Post(id=post, platform="bluesky", author_id=author, created_at_us=NOW - 2 * DAY, text="hi"),
        Account(
            id="bluesky:did:plc:bot", platform="bluesky", handle="bot83712934.test", created_at_us=NOW - DAY
        ),
    ]
    for k in range(30):
        records.append(
            Engagement(
                id=f"bluesky:at://did:plc:bot/app.bsky.feed.like/{k}", kind=EngagementKind.LIKE,
                actor_id="bluesky:did:plc:bot", post_id=post, created_at_us=NOW - DAY + k * 10_000_000,
            )
        )  # fmt: skip
    store.write_records(records)  # type: ignore[arg-type]
    (top, *rest) = score_accounts(store, now_us=NOW)
    assert top.account == "bluesky:did:plc:bot"
    assert top.result.actions == 30
    assert rest == []  # the author has one action: under min_actions
    (named,) = score_accounts(store, [author], now_us=NOW)
    assert named.result.actions == 1

"""The scenario generator: deterministic, in real wire formats, and true to its own ground truth."""

from __future__ import annotations

from collections import Counter

from reachwatch.connectors.jsonl import normalise_line
from reachwatch.model import Engagement, Post
from reachwatch.scenario.generator import ScenarioConfig, build_scenario

SMALL = ScenarioConfig(seed=5, baseline_days=10, population=1_500, coordinated=25, observe_hours=48)


def test_same_seed_same_scenario_other_seed_other_scenario() -> None:
    first, truth = build_scenario(SMALL)
    second, _ = build_scenario(SMALL)
    third, _ = build_scenario(ScenarioConfig(seed=6, baseline_days=10, population=1_500, coordinated=25))
    assert first == second
    assert first != third
    assert truth.trigger_post_id.startswith("bluesky:at://")


def test_every_line_parses_and_the_story_is_there() -> None:
    lines, truth = build_scenario(SMALL)
    posts: dict[str, Post] = {}
    reposts: dict[str, list[tuple[str, int]]] = {}
    for line in lines:
        for record in normalise_line(line).records:  # raises on any line our own parser cannot read
            if isinstance(record, Post):
                posts[record.id] = record
            elif isinstance(record, Engagement) and record.kind == "repost":
                reposts.setdefault(record.post_id, []).append((record.actor_id, record.created_at_us))
    trigger = posts[truth.trigger_post_id]
    assert "should be jailed" in trigger.text
    assert "Dana Whitfield" in trigger.text
    assert trigger.author_id == truth.watched_account_id
    ring = set(truth.coordinated_account_ids)
    for target in truth.coordinated_target_ids:
        times = [at for actor, at in reposts[target] if actor in ring]
        assert len(times) == len(ring)
        assert max(times) - min(times) < 30_000_000  # the whole ring within 30 s
    before = Counter(m.label for m in truth.mentions if m.at_us < truth.trigger_at_us)
    after = Counter(m.label for m in truth.mentions if m.at_us >= truth.trigger_at_us)
    days_before = (truth.trigger_at_us - truth.start_us) / 86_400_000_000
    days_after = (truth.end_us - truth.trigger_at_us) / 86_400_000_000
    harmful_rate_before = (before["abusive"] + before["threat"]) / days_before
    harmful_rate_after = (after["abusive"] + after["threat"]) / days_after
    assert harmful_rate_after > 5 * harmful_rate_before
    labels = Counter(response.label for response in truth.responses)
    assert labels["abusive"] > 0
    assert labels["threat"] > 0
    assert labels["supportive"] > labels["threat"]
    for response in truth.responses:
        post = posts[response.id]
        target = post.reply_to if response.kind == "reply" else post.quote_of
        assert target == truth.trigger_post_id
    assert set(truth.deleted_post_ids) <= {response.id for response in truth.responses}


def test_reach_is_heavy_tailed_and_takes_hours() -> None:
    lines, truth = build_scenario(SMALL)
    delays = []
    for line in lines:
        for record in normalise_line(line).records:
            if (
                isinstance(record, Engagement)
                and record.post_id == truth.trigger_post_id
                and record.kind == "like"
            ):
                delays.append(record.created_at_us - truth.trigger_at_us)
    delays.sort()
    hour = 3_600_000_000
    median, p90 = delays[len(delays) // 2], delays[int(len(delays) * 0.9)]
    assert 10 * 60_000_000 < median < 6 * hour
    assert p90 > 3 * median  # a long tail, not a uniform smear

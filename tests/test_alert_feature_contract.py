"""Every installed alert feature group keeps the FeatureGroup contract: features are declared once
with a kind the rule language knows, the groups a group reads are installed and run before it, and
computing a group over real stored posts gives every post it knows each feature it declares (a
value of its kind, or None while it cannot be computed yet) and nothing else."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pytest

from reachwatch.alerts import features
from reachwatch.alerts.rules import RuleError, check, parse
from reachwatch.service import alerts
from reachwatch.service.pipeline import Pipeline
from reachwatch.store.database import Store
from tests.alert_fixtures import THREAT_POST, engagements, opening

GROUPS = sorted(features.registered())
KIND_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "bool": (bool,),
    "list": (list,),
    "number": (int, float),
}


def test_the_registry_is_the_rule_languages_feature_table() -> None:
    assert {point.name for point in entry_points(group=features.GROUP)} >= {"core"}
    assert {"post", "counts", "reach", "coordination", "spillover"} <= set(GROUPS)
    tiers = [group.tier for group in features.registered().values()]
    assert tiers == sorted(tiers, key=features.TIERS.index)  # cheapest first
    for group in features.registered().values():
        assert set(group.features.values()) <= set(KIND_TYPES), group.name
        for before in group.after:
            assert before in GROUPS, (group.name, before)
            assert features.TIERS.index(features.registered()[before].tier) <= features.TIERS.index(
                group.tier
            )
    costly = {n for g in features.registered().values() if g.tier == "costly" for n in g.features}
    assert {"baseline_z", "coordination_share", "excess_vs_pool_low"} <= costly
    # The rule language checks against the registry: a declared feature parses, an unknown one is
    # refused with the list of known ones.
    rule = "rules:\n  - id: a\n    title: t\n    severity: low\n    when: {%s: {at_least: 0.2}}\n"
    ok = parse(rule % "coordination_share")
    assert check(ok) == []
    assert ok.costly_features() == {"coordination_share"}
    with pytest.raises(RuleError) as refused:
        parse(rule % "shares")
    assert "unknown feature 'shares'" in str(refused.value)
    assert "coordination_share" in str(refused.value)


@pytest.mark.parametrize("name", GROUPS)
def test_every_feature_has_words_for_people(name: str) -> None:
    """Labels name only declared features, and every feature has one (the alert page and the
    inbox's reasons read them)."""
    group = features.registered()[name]
    assert set(group.labels) == set(group.features), name
    for feature, (words, unit) in group.labels.items():
        assert words
        assert features.label(feature) == (words, unit)


def test_values_are_shown_with_their_units() -> None:
    assert features.shown("velocity_per_hour", 1234.0) == "1,234 per hour"
    assert features.shown("coordination_share", 0.3) == "30%"
    assert features.shown("offensive", 0.8712) == "0.87"  # a score: no unit
    assert features.shown("watched_author", False) == "no"
    assert features.shown("harm_flag", []) == "none"
    assert features.shown("baseline_z", None) == "not known"


def test_groups_for_adds_what_a_group_reads() -> None:
    chosen = [group.name for group in features.groups_for({"coordination_share"})]
    assert chosen == ["counts", "coordination"]
    assert [group.name for group in features.groups_for({"platform"})] == []  # cheap always runs


def test_every_group_gives_each_post_all_its_features(store: Store) -> None:
    Pipeline(store).write_now([*opening(), *engagements(THREAT_POST, 0, 12)])
    alerts.save_rules(store, alerts.demo_rules_text(), "test")
    found: dict[str, dict[str, Any]] = {}
    for name in GROUPS:  # registry order: tiers, so every group's inputs are there
        group = features.registered()[name]
        computed = group.compute(store, [THREAT_POST], found)
        assert set(computed) == {THREAT_POST}, name
        values = computed[THREAT_POST]
        assert set(group.features) <= set(values), (name, set(group.features) - set(values))
        for feature, kind in group.features.items():
            value = values[feature]
            assert value is None or isinstance(value, KIND_TYPES[kind]), (feature, kind, value)
        found.setdefault(THREAT_POST, {}).update(values)
    assert found[THREAT_POST]["engagements"] == 12
    assert found[THREAT_POST]["person"] == ["dana-whitfield"]


@pytest.mark.parametrize("name", GROUPS)
def test_a_group_skips_posts_it_does_not_know(store: Store, name: str) -> None:
    group = features.registered()[name]
    computed = group.compute(store, ["bluesky:at://did:plc:nobody/app.bsky.feed.post/none"], {})
    assert all(set(group.features) <= set(values) for values in computed.values())

"""The features an alert rule may name, as a registry: each `FeatureGroup` declares the features it
computes (name and kind), its cost tier, the groups it reads, and the function that computes them
for a list of posts. Groups are found by the `reachwatch.alert_features` entry point group
(pyproject.toml), so an analysis adds a feature with one group and one line there; the rule
language (alerts/rules.py) checks conditions against the kinds declared here, and the engine
(service/alerts.py) computes only what the enabled rules name, cheapest first.

Tiers: "cheap" groups run for every post a batch touched (one query per batch) and decide which
posts could match a rule; "counts" groups run for those candidates; "costly" ones too, at most once
a minute per post, and only when a rule names one of their features."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

GROUP = "reachwatch.alert_features"
Tier = Literal["cheap", "counts", "costly"]
TIERS: tuple[Tier, ...] = ("cheap", "counts", "costly")
Kind = Literal["text", "bool", "list", "number"]
# compute(store, post_ids, found): each post's feature values, given what earlier groups found.
Compute = Callable[[Any, Sequence[str], Mapping[str, dict[str, Any]]], dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class FeatureGroup:
    name: str
    tier: Tier
    features: Mapping[str, Kind]  # what it computes: name -> kind
    compute: Compute
    after: tuple[str, ...] = ()  # groups whose values it reads (computed first when it runs)
    # How people are shown each feature: name -> (words, unit). Words for a bool read as a
    # statement ("by a watched account"); the unit follows a number ("per hour", "0–1").
    labels: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@functools.cache
def registered() -> dict[str, FeatureGroup]:
    """Every installed group by name, in tier order; a feature declared twice is refused."""
    groups: list[FeatureGroup] = []
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        groups.extend(point.load())
    seen: dict[str, str] = {}
    for group in groups:
        for name in group.features:
            if name in seen:
                raise ValueError(
                    f"Alert feature {name!r} is declared by both {seen[name]!r} and {group.name!r}."
                )
            seen[name] = group.name
    return {group.name: group for group in sorted(groups, key=lambda g: TIERS.index(g.tier))}


def kinds() -> dict[str, Kind]:
    """Every feature a rule may name, with its kind."""
    return {name: kind for group in registered().values() for name, kind in group.features.items()}


def tier_of(name: str) -> Tier | None:
    for group in registered().values():
        if name in group.features:
            return group.tier
    return None


def groups_for(names: set[str]) -> list[FeatureGroup]:
    """The non-cheap groups that compute these features, with the groups they read, in tier order
    (cheap groups always run)."""
    groups = registered()
    wanted = {group.name for group in groups.values() if names & set(group.features)}
    pending = list(wanted)
    while pending:
        for name in groups[pending.pop()].after:
            if name not in wanted:
                wanted.add(name)
                pending.append(name)
    return [group for group in groups.values() if group.name in wanted and group.tier != "cheap"]


def label(name: str) -> tuple[str, str]:
    """(words, unit) for a feature; its own name and no unit where its group gives none."""
    for group in registered().values():
        if name in group.labels:
            return group.labels[name]
    return name.replace("_", " "), ""


def shown(name: str, value: Any) -> str:
    """A feature's value as people read it: numbers grouped and rounded, with the unit."""
    unit = label(name)[1]
    if value is None:
        return "not known"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if unit == "%":
            return f"{value * 100:.0f}%"
        text = f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"
        return f"{text} {unit}".strip() if unit and unit != "0–1" else text
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)

"""Spillover against a counterfactual, calibrated by simulation: a news shock that raises harm
toward everyone in the pool must be attributed ~nothing; a planted post effect on top of it must
be recovered. Seeded, 200 runs each, as the plain spillover tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reachwatch.analysis.counterfactual import did, synthetic_control
from reachwatch.analysis.spillover import rate_ratio

RUNS = 200
BEFORE, AFTER = 14, 7  # daily bins: the standard windows


def world(
    seed: int, donors: int, shock: float, effect: float
) -> tuple[list[int], list[int], dict[str, list[int]], dict[str, list[int]]]:
    """Daily harmful counts: a target and its donors, each at its own base rate; from the post on,
    everyone's rate is multiplied by `shock` (the news event) and the target's also by `effect`."""
    rng = np.random.default_rng(seed)
    rates = rng.uniform(1.0, 6.0, size=donors + 1)
    before = rng.poisson(rates[:, None], size=(donors + 1, BEFORE))
    lifted = rates * shock
    lifted[0] *= effect
    after = rng.poisson(lifted[:, None], size=(donors + 1, AFTER))
    names = [f"d{i}" for i in range(donors)]
    return (
        before[0].tolist(), after[0].tolist(),
        {name: before[i + 1].tolist() for i, name in enumerate(names)},
        {name: after[i + 1].tolist() for i, name in enumerate(names)},
    )  # fmt: skip


def test_a_shared_shock_alone_is_not_an_effect() -> None:
    rejected = naive = 0
    for seed in range(RUNS):
        tb, ta, db, da = world(seed, donors=12, shock=2.5, effect=1.0)
        found = did(tb, ta, list(db.values()), list(da.values()), bin_hours=24)
        assert found is not None
        rejected += found.p_value < 0.05
        naive += rate_ratio(sum(tb), BEFORE * 24, sum(ta), AFTER * 24).p_value < 0.05
    assert rejected / RUNS <= 0.05
    assert naive / RUNS > 0.9  # the before/after comparison alone calls the news cycle an effect


def test_a_planted_effect_is_recovered_beside_the_shock() -> None:
    covered = detected = 0
    for seed in range(RUNS):
        tb, ta, db, da = world(1000 + seed, donors=12, shock=2.5, effect=2.0)
        found = did(tb, ta, list(db.values()), list(da.values()), bin_hours=24)
        assert found is not None
        covered += found.low <= 2.0 <= found.high
        detected += found.p_value < 0.05
    assert covered / RUNS >= 0.9
    assert detected / RUNS > 0.5


def test_synthetic_control_attributes_the_shock_to_no_one() -> None:
    effects, rejected = [], 0
    for seed in range(RUNS):
        tb, ta, db, da = world(2000 + seed, donors=24, shock=2.5, effect=1.0)
        found = synthetic_control(tb, ta, db, da)
        assert found.identified, found.reason
        assert math.isclose(sum(found.weights.values()), 1.0, abs_tol=1e-3)
        effects.append(found.effect)
        rejected += found.p_space <= 0.05
    assert 0.85 <= float(np.median(effects)) <= 1.15
    assert rejected / RUNS <= 0.05


def test_synthetic_control_recovers_a_planted_effect() -> None:
    effects, detected = [], 0
    for seed in range(RUNS):
        tb, ta, db, da = world(3000 + seed, donors=24, shock=2.5, effect=2.0)
        found = synthetic_control(tb, ta, db, da)
        effects.append(found.effect)
        detected += found.p_space <= 0.05
    assert 1.7 <= float(np.median(effects)) <= 2.3
    assert detected / RUNS > 0.3


@pytest.mark.parametrize(
    ("donors", "target_before", "reason"),
    [(3, [2] * BEFORE, "3 donors"), (12, [0] * BEFORE, "no harm toward the person before")],
)
def test_not_identified_says_why_instead_of_a_number(
    donors: int, target_before: list[int], reason: str
) -> None:
    _, ta, db, da = world(7, donors=donors, shock=1.0, effect=1.0)
    found = synthetic_control(target_before, ta, db, da)
    assert not found.identified
    assert reason in found.reason
    assert math.isnan(found.effect)


def test_a_poor_pre_fit_is_not_identified() -> None:
    _, ta, db, da = world(8, donors=12, shock=1.0, effect=1.0)
    spiky = [0] * (BEFORE - 1) + [60]  # nothing in the pool looks like this
    found = synthetic_control(spiky, ta, db, da)
    assert not found.identified
    assert "fits the before-window poorly" in found.reason


def test_did_needs_harm_in_the_pool() -> None:
    assert did([1, 2], [3], [[0, 0]], [[0]], bin_hours=24) is None

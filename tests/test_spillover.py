"""Spillover statistics validated on seeded simulations: a planted rise is recovered within its
interval, and with no rise the test's false-positive rate stays at or below its level."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reachwatch.analysis.spillover import attribution, dispersion, rate_ratio, segmented_fit

RUNS = 200


def test_by_hand() -> None:
    found = rate_ratio(before=10, before_hours=100, after=30, after_hours=50)
    assert found.ratio == pytest.approx(6.0)  # 0.6/h against 0.1/h
    assert found.low < 6.0 < found.high
    assert found.low > 2.5  # clearly above 1
    assert found.p_value < 1e-6
    nothing = rate_ratio(before=0, before_hours=10, after=0, after_hours=10)
    assert math.isnan(nothing.ratio)
    assert nothing.p_value == 1.0
    only_after = rate_ratio(before=0, before_hours=24, after=8, after_hours=24)
    assert only_after.ratio == math.inf
    assert only_after.high == math.inf
    assert only_after.low > 1
    with pytest.raises(ValueError, match="positive"):
        rate_ratio(1, 0, 1, 1)


@pytest.mark.parametrize("base_per_hour", [0.05, 0.5, 5.0])
def test_no_rise_false_positives_at_most_alpha(base_per_hour: float) -> None:
    rng = np.random.default_rng(2026)
    rejected = 0
    for _ in range(RUNS):
        days_before = rng.poisson(base_per_hour * 24, 14)  # counted per day, as the service bins them
        after = int(rng.poisson(base_per_hour * 24 * 3))
        found = rate_ratio(
            int(days_before.sum()), 14 * 24.0, after, 3 * 24.0, dispersion=dispersion(days_before.tolist())
        )
        rejected += found.p_value < 0.05
    assert rejected / RUNS <= 0.05


def test_overdispersed_counts_widen_the_interval() -> None:
    plain = rate_ratio(100, 100, 60, 50)
    wide = rate_ratio(100, 100, 60, 50, dispersion=dispersion([2, 30, 1, 25, 0, 40, 2]))
    assert wide.ratio == pytest.approx(plain.ratio)
    assert wide.low < plain.low
    assert wide.high > plain.high
    assert wide.p_value > plain.p_value
    assert dispersion([5, 5, 5, 5]) == 1.0  # floored


@pytest.mark.parametrize("planted", [1.5, 3.0, 8.0])
def test_planted_rise_recovered_within_its_interval(planted: float) -> None:
    rng = np.random.default_rng(7)
    before_hours, after_hours, base = 14 * 24.0, 2 * 24.0, 0.4
    covered = detected = 0
    estimates = []
    runs = 5 * RUNS  # coverage is a proportion near 0.95: 1,000 runs pin it to about ±0.7%
    for _ in range(runs):
        before = int(rng.poisson(base * before_hours))
        after = int(rng.poisson(base * planted * after_hours))
        found = rate_ratio(before, before_hours, after, after_hours)
        covered += found.low <= planted <= found.high
        detected += found.p_value < 0.05
        estimates.append(found.ratio)
    assert covered / runs >= 0.935  # an exact 95% interval, up to simulation noise
    assert np.median(estimates) == pytest.approx(planted, rel=0.1)
    if planted >= 3:
        assert detected / runs >= 0.99


def test_attribution_compares_shares() -> None:
    shares = attribution(["a", "b", "c", "d"], ["x", "y", "y", "a", "z"], engagers={"x", "y"})
    assert shares.after_share == pytest.approx(3 / 5)
    assert shares.before_share == 0.0
    assert attribution([], [], set()).after_share == 0.0


@pytest.mark.parametrize("base_per_bin", [2.0, 10.0])
def test_segmented_fit_recovers_a_planted_jump_and_holds_its_level(base_per_bin: float) -> None:
    rng = np.random.default_rng(7)
    covered = false_positives = 0
    for _ in range(RUNS):
        before = rng.poisson(base_per_bin, 14).tolist()
        jump = segmented_fit(before, rng.poisson(base_per_bin * 3, 7).tolist())
        assert jump is not None
        covered += jump.level_low <= 3.0 <= jump.level_high
        flat = segmented_fit(before, rng.poisson(base_per_bin, 7).tolist())
        false_positives += flat is not None and flat.level_p_value < 0.05
    assert covered / RUNS >= 0.9
    assert false_positives / RUNS <= 0.06


def test_segmented_fit_declines_what_it_cannot_fit() -> None:
    assert segmented_fit([1, 2], [3, 4]) is None  # too few bins before
    assert segmented_fit([0, 0, 0, 0], [3, 4]) is None  # nothing before to compare with
    sparse = segmented_fit([0, 0, 0, 1], [0, 0, 0, 0, 1])
    assert sparse is not None
    assert sparse.level_high >= sparse.level_change >= sparse.level_low  # wide, but never an error

"""Organic control accounts and rings of three densities: coordination's false-positive rate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reachwatch.model import Engagement, Post
from reachwatch.scenario.controls import END_US, START_US, control_set, organic_timing
from reachwatch.service.scenario import control_checks

ROOT = Path(__file__).resolve().parents[1]
TREES = ROOT.parent / "shared" / "data" / "cascades" / "twitter15-16-propagation-trees"


def test_the_controls_are_seeded_timed_as_real_retweeters_and_inside_the_week() -> None:
    first, again = control_set(5, controls=400), control_set(5, controls=400)
    assert first.records == again.records
    assert control_set(6, controls=400).records != first.records
    posted = {r.id: r.created_at_us for r in first.records if isinstance(r, Post)}
    organic = set(first.controls)
    delays = np.asarray(
        [
            r.created_at_us - posted[r.post_id]
            for r in first.records
            if isinstance(r, Engagement) and r.actor_id in organic
        ]
    )
    assert all(START_US <= r.created_at_us < END_US for r in first.records)
    timing = organic_timing()
    real_median = float(np.interp(0.5, timing.levels, timing.delay_s)) * 1e6
    # Delays past the week are cut, so the median shifts down a little, never up.
    assert 0.5 * real_median <= float(np.median(delays)) <= 1.05 * real_median
    per_account = [sum(1 for r in first.records if getattr(r, "actor_id", None) == a) for a in first.controls]
    assert min(per_account) <= 8 < max(per_account)  # heavy-tailed: most act a little, a few a lot
    assert sum(len(m) for m in first.rings.values()) == 90


def test_eval_reports_the_false_positive_rate_and_the_ring_at_three_densities() -> None:
    checks = control_checks()
    assert len(checks) == 4
    controls, *rings = checks
    assert "merged 0 (0.0%)" in controls.found
    assert controls.passed
    assert [c.name.rsplit(" ", 1)[-1] for c in rings] == ["1", "0.5", "0.25"]
    assert all(c.passed for c in rings)
    recall = [float(c.found.split("R ", 1)[1].split(";")[0]) for c in rings]
    assert recall[0] == 1.0
    assert recall[0] >= recall[1] >= recall[2]  # thinner rings are harder


@pytest.mark.skipif(not TREES.is_dir(), reason="the Twitter15/16 propagation trees are not in ../shared/data")
def test_the_shipped_timing_is_what_the_script_fits_on_the_real_trees(tmp_path: Path) -> None:
    shipped = (ROOT / "src" / "reachwatch" / "scenario" / "organic_timing.json").read_bytes()
    refitted = tmp_path / "organic_timing.json"
    script = ROOT / "training" / "fit_organic_timing.py"
    subprocess.run([sys.executable, str(script), "--out", str(refitted)], check=True, capture_output=True)
    assert json.loads(refitted.read_bytes()) == json.loads(shipped)
    assert json.loads(shipped)["trees"] > 2000

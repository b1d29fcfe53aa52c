"""Automation-likeness: transparent features of an account's behaviour and profile, each turned
into points between 0 and 1 by a stated ramp and added with stated weights, so every score shows
what drove it. A heuristic for an analyst to check, not a verdict: no labelled bot data trains it.

Features (weight): rate of actions per day (0.20), regularity of the gaps between actions (0.15),
activity around the clock (0.10), account age (0.10), default profile (0.10), handle pattern
(0.10), amplification only — reposts and likes, nothing written (0.10), bursts (0.10), following
far more than followed (0.05).
"""

from __future__ import annotations

import math
import re

import msgspec
import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
DAY_US = 86_400_000_000
MIN_GAPS = 10  # gaps needed before regularity says anything
MIN_FOR_CLOCK = 24  # actions needed before the hour-of-day spread says anything
BURST_WINDOW_US = 60_000_000
BURST_SIZE = 5
WEIGHTS = {
    "rate": 0.20,
    "regularity": 0.15,
    "around the clock": 0.10,
    "young account": 0.10,
    "default profile": 0.10,
    "handle pattern": 0.10,
    "amplification only": 0.10,
    "bursts": 0.10,
    "follow ratio": 0.05,
}
DIGITS = re.compile(r"\d{4,}")


class Profile(msgspec.Struct, kw_only=True):
    handle: str | None = None
    display_name: str | None = None
    description: str | None = None
    created_at_us: int | None = None
    followers: int | None = None
    following: int | None = None


class Driver(msgspec.Struct, kw_only=True):
    feature: str
    value: str  # the measurement, in words
    points: float  # 0..1 from the feature's ramp (None-like -1 when not measurable)
    contribution: float  # points × weight


class AutomationScore(msgspec.Struct, kw_only=True):
    score: float  # 0..1
    actions: int
    drivers: list[Driver]  # largest contribution first


def ramp(value: float, low: float, high: float) -> float:
    """0 at `low`, 1 at `high`, straight between (works for falling ramps with low > high)."""
    if high == low:
        return float(value >= high)
    return min(max((value - low) / (high - low), 0.0), 1.0)


def score_account(times_us: Ints, kinds: list[str], profile: Profile, now_us: int) -> AutomationScore:
    """One account: its action times (any order) and kinds (post, reply, quote, repost, like)."""
    times = np.sort(np.asarray(times_us, dtype=np.int64))
    n = len(times)
    drivers: list[Driver] = []

    def add(feature: str, value: str, points: float | None) -> None:
        measured = points if points is not None else 0.0
        drivers.append(
            Driver(
                feature=feature, value=value, points=measured if points is not None else -1.0,
                contribution=measured * WEIGHTS[feature],
            )
        )  # fmt: skip

    span_days = max((int(times[-1]) - int(times[0])) / DAY_US, 1.0) if n else 0.0
    per_day = n / span_days if n else 0.0
    add("rate", f"{per_day:,.0f} actions/day", ramp(per_day, 50, 500) if n else None)
    gaps = np.diff(times).astype(np.float64)
    if len(gaps) >= MIN_GAPS and gaps.mean() > 0:
        variation = float(gaps.std() / gaps.mean())
        add("regularity", f"gap variation {variation:.2f} (random ≈ 1)", ramp(variation, 1.0, 0.3))
    else:
        add("regularity", f"{len(gaps)} gaps: too few", None)
    if n >= MIN_FOR_CLOCK:
        hours = np.bincount((times // 3_600_000_000) % 24, minlength=24) / n
        spread = float(-(hours[hours > 0] * np.log(hours[hours > 0])).sum() / math.log(24))
        add("around the clock", f"hour-of-day evenness {spread:.2f}", ramp(spread, 0.85, 0.98))
    else:
        add("around the clock", f"{n} actions: too few", None)
    if profile.created_at_us is not None:
        age = max((now_us - profile.created_at_us) / DAY_US, 0.0)
        add(
            "young account",
            f"{age:,.0f} days old",
            ramp(math.log10(age + 1), math.log10(366), math.log10(31)),
        )
    else:
        add("young account", "creation date unknown", None)
    missing = [
        label
        for label, blank in (
            ("no display name", not profile.display_name),
            ("no description", not profile.description),
        )
        if blank
    ]
    add("default profile", ", ".join(missing) or "name and description set", len(missing) / 2)
    local = (profile.handle or "").split(".")[0].split("@")[0]
    digit_share = sum(c.isdigit() for c in local) / len(local) if local else 0.0
    patterned = bool(DIGITS.search(local)) or digit_share > 0.3
    add("handle pattern", f"{digit_share:.0%} digits in the handle", float(patterned) if local else None)
    amplifying = sum(kind in ("repost", "like") for kind in kinds)
    share = amplifying / len(kinds) if kinds else 0.0
    add("amplification only", f"{share:.0%} reposts and likes", ramp(share, 0.8, 1.0) if kinds else None)
    if n >= BURST_SIZE:
        # An action is in a burst when it and at least four others fall within one minute.
        ends = np.searchsorted(times, times + BURST_WINDOW_US, side="right")
        starts = np.flatnonzero(ends - np.arange(n) >= BURST_SIZE)
        covered = np.zeros(n + 1, dtype=np.int64)
        np.add.at(covered, starts, 1)
        np.add.at(covered, ends[starts], -1)
        in_burst = float((np.cumsum(covered)[:n] > 0).mean())
        add("bursts", f"{in_burst:.0%} of actions in bursts", ramp(in_burst, 0.0, 0.5))
    else:
        add("bursts", f"{n} actions: too few", None)
    if profile.following is not None and profile.followers is not None:
        ratio = profile.following / max(profile.followers, 1)
        points = ramp(ratio, 3, 20) if profile.following >= 200 else 0.0
        add("follow ratio", f"follows {profile.following:,}, followed by {profile.followers:,}", points)
    else:
        add("follow ratio", "counts unknown", None)
    drivers.sort(key=lambda driver: -driver.contribution)
    return AutomationScore(
        score=round(sum(driver.contribution for driver in drivers), 4), actions=n, drivers=drivers
    )

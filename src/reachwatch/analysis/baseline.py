"""How unusual a post is for its author: its count at a given age against the same author's earlier
posts at that age, as a robust z-score (median / MAD) and a percentile, with the sample it rests on.

The one definition every surface uses (floor, dossier, CLI, API, alerts): the post's reposts +
quotes so far, against the same author's top-level posts of the BASELINE_DAYS before it at the
same age, that age rounded up to the grid AGES_S (so the others had at least as long). A count is
the engagement events seen or the platform's reported count at that age, whichever is larger;
an earlier post known only from platform snapshots all taken later than that age is left out."""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

MAD_TO_SD = 1.4826  # MAD × this estimates the standard deviation of a normal sample
FEW = 5
BASELINE_DAYS = 90
_M, _H, _D = 60.0, 3600.0, 86400.0
AGES_S = (
    1 * _M, 5 * _M, 15 * _M, 30 * _M, 1 * _H, 2 * _H, 3 * _H, 6 * _H, 12 * _H,
    1 * _D, 2 * _D, 3 * _D, 7 * _D, 14 * _D, 30 * _D, 90 * _D,
)  # fmt: skip
EVER = len(AGES_S)  # the index past the grid: a post older than its last age is compared on totals
DEFINITION = (
    f"reposts + quotes so far against the author's top-level posts of the {BASELINE_DAYS} days before "
    "it, at the same age (rounded up to 1, 5, 15, 30 min, 1, 2, 3, 6, 12 h, 1, 2, 3, 7, 14, 30, 90 "
    "days); events or the platform's reported counts, whichever is larger"
)


def age_index(age_s: float) -> int:
    """The grid age a post of this age is compared at: the first AGES_S at or above it (EVER past)."""
    return int(np.searchsorted(np.asarray(AGES_S), age_s, side="left"))


def age_label(index: int) -> str:
    if index >= EVER:
        return "final counts"
    age = AGES_S[index]
    if age < _H:
        return f"{age / _M:g} min"
    if age < _D:
        return f"{age / _H:g} h"
    return f"{age / _D:g} days" if age > _D else "1 day"


def offset_index(offsets_s: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """For times after posting, the first grid age they fall strictly before (EVER past the grid):
    a count at AGES_S[k] is the sum of indexes up to k."""
    return np.searchsorted(np.asarray(AGES_S), offsets_s, side="right").astype(np.int64)


class AgeCounts(msgspec.Struct, kw_only=True):
    """One earlier post's reposts + quotes at each grid age (EVER + 1 values): from events, and
    from the platform's snapshots (-1 where no snapshot was taken by then)."""

    post_id: str
    created_at_us: int
    events: list[int]
    platform: list[int]
    has_events: bool

    def at(self, index: int) -> int | None:
        """The count at grid age `index`, None when it is not known."""
        reported = self.platform[index]
        if self.has_events or max(self.platform) < 0:
            return max(self.events[index], reported)
        return reported if reported >= 0 else None


class Baseline(msgspec.Struct, kw_only=True):
    value: int
    age_s: float
    sample_size: int
    window_days: float
    median: float | None
    mad: float | None
    robust_z: float | None
    percentile: float | None
    note: str
    compared_at: str = ""  # the grid age the sample was taken at, in words
    definition: str = DEFINITION


def author_baseline(
    value: int, age_s: float, created_at_us: int, now_us: int, earlier: list[AgeCounts]
) -> Baseline:
    """The one robust z (see the module's note): `value` is the post's reposts + quotes as of
    `now_us`; `earlier` the author's posts (any window: those outside this post's are skipped)."""
    index = age_index(age_s)
    horizon_us = int(AGES_S[index] * 1e6) if index < EVER else 0
    since = created_at_us - BASELINE_DAYS * 86_400_000_000
    counts = [
        found
        for post in earlier
        if since <= post.created_at_us < created_at_us
        # old enough to have reached that age by now (any age, for the final-count comparison)
        and post.created_at_us + horizon_us <= now_us
        and (found := post.at(index)) is not None
    ]
    result = compare(value, np.array(counts, dtype=np.int64), age_s, BASELINE_DAYS)
    result.compared_at = age_label(index)
    return result


def compare(value: int, earlier: npt.NDArray[np.int64], age_s: float, window_days: float) -> Baseline:
    """`value` against `earlier` (the author's other posts' counts at the same age)."""
    n = len(earlier)
    if n == 0:
        return Baseline(
            value=value, age_s=age_s, sample_size=0, window_days=window_days, median=None, mad=None,
            robust_z=None, percentile=None, note="no earlier posts by this author in the window",
        )  # fmt: skip
    median = float(np.median(earlier))
    mad = float(np.median(np.abs(earlier - median)))
    scale = MAD_TO_SD * mad
    if scale == 0:
        # Over half the posts share one count: fall back on the mean absolute deviation.
        scale = 1.2533 * float(np.mean(np.abs(earlier - median)))
    robust_z = (value - median) / scale if scale > 0 else None
    below = float(np.sum(earlier < value)) + 0.5 * float(np.sum(earlier == value))
    note = f"only {n} earlier posts: read the z-score with care" if n < FEW else f"{n} earlier posts"
    if robust_z is None:
        note += "; every earlier post had the same count, so no z-score"
    return Baseline(
        value=value,
        age_s=age_s,
        sample_size=n,
        window_days=window_days,
        median=median,
        mad=mad,
        robust_z=robust_z,
        percentile=100.0 * below / n,
        note=note,
    )

"""How unusual a post is for its author: its count at a given age against the same author's earlier
posts at that age, as a robust z-score (median / MAD) and a percentile, with the sample it rests on."""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

MAD_TO_SD = 1.4826  # MAD × this estimates the standard deviation of a normal sample
FEW = 5


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

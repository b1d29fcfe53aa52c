"""Engagement counts of one post on a regular grid: cumulative per kind, velocity, acceleration and
the time it took to reach half of its current total. Inputs are already bucketed (by SQL); the
arithmetic is NumPy over the whole grid at once."""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

MINUTE_US = 60_000_000
STEPS_US = tuple(m * MINUTE_US for m in (1, 5, 15, 60, 360, 1440, 10080))
MAX_BINS = 240


def grid_step(span_us: int) -> int:
    """The finest step that keeps the grid at most MAX_BINS long."""
    for step in STEPS_US:
        if span_us <= step * MAX_BINS:
            return step
    return STEPS_US[-1] * (span_us // (STEPS_US[-1] * MAX_BINS) + 1)


class Series(msgspec.Struct, kw_only=True):
    """Cumulative counts at the end of each step after `start_us` (the post's creation)."""

    start_us: int
    step_us: int
    kinds: dict[str, list[int]]
    total: list[int]
    # Engagements per hour over the last hour (or last step, if longer); None where the counts
    # come from platform reports and none was taken an hour before the end.
    velocity_per_hour: float | None
    acceleration_per_hour2: float | None  # change of that rate against the hour before
    time_to_half_s: float | None  # from posting until half of the current total (None: not known)
    source: str = "events"  # where the counts come from: events, platform counts, or both


def engagement_series(
    start_us: int,
    now_us: int,
    kinds: list[str],
    kind_codes: npt.NDArray[np.int64],
    buckets: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
) -> Series:
    """Series from (kind, bucket, count) triples, buckets counted in steps of grid_step(now - start)."""
    step = grid_step(max(now_us - start_us, MINUTE_US))
    bins = max(1, -(-(now_us - start_us) // step))
    matrix = np.zeros((len(kinds), bins), dtype=np.int64)
    if len(counts):
        inside = (buckets >= 0) & (buckets < bins)
        np.add.at(matrix, (kind_codes[inside], buckets[inside]), counts[inside])
        matrix[:, 0] += np.bincount(
            kind_codes[buckets < 0], weights=counts[buckets < 0], minlength=len(kinds)
        ).astype(np.int64)  # engagements time-stamped before the post (client clocks): counted from the start
        matrix[:, -1] += np.bincount(
            kind_codes[buckets >= bins], weights=counts[buckets >= bins], minlength=len(kinds)
        ).astype(np.int64)
    return _series(start_us, step, kinds, np.cumsum(matrix, axis=1), "events")


def _series(
    start_us: int, step: int, kinds: list[str], cumulative: npt.NDArray[np.int64], source: str
) -> Series:
    """Velocity, acceleration and time to half from cumulative counts per kind on the grid."""
    bins = cumulative.shape[1]
    total = cumulative.sum(axis=0)
    per_bin = np.diff(total, prepend=0).astype(np.float64)
    window = max(1, round(3_600_000_000 / step))  # bins in an hour (at least one)
    hours = window * step / 3_600_000_000
    recent = per_bin[-window:].sum() / hours
    before = per_bin[-2 * window : -window].sum() / hours if bins > window else 0.0
    half_s = None
    if total[-1] > 0:
        first = int(np.searchsorted(total, total[-1] / 2, side="left"))
        half_s = (first + 1) * step / 1e6
    return Series(
        start_us=start_us,
        step_us=step,
        kinds={kind: cumulative[index].tolist() for index, kind in enumerate(kinds)},
        total=total.tolist(),
        velocity_per_hour=float(recent),
        acceleration_per_hour2=float((recent - before) / hours),
        time_to_half_s=half_s,
        source=source,
    )


REPORTED_AS = {"repost": "reposts", "quote": "quotes", "reply": "replies", "like": "likes"}


def with_reported(series: Series, reported: dict[str, list[int | None]]) -> Series:
    """The series where the platform's reported counts (on the same grid, see snapshot_series)
    run ahead of the events seen: per kind and step the larger of the two. A count the platform
    reported once stands until a later report (it is known to have been reached by then)."""
    kinds = list(series.kinds)
    events = np.array([series.kinds[kind] for kind in kinds], dtype=np.int64).reshape(len(kinds), -1)
    platform = np.zeros_like(events)
    for index, kind in enumerate(kinds):
        column = reported.get(REPORTED_AS.get(kind, kind))
        if column is not None:
            platform[index] = np.maximum.accumulate([value or 0 for value in column]) if column else 0
    if not (platform > events).any():
        return series
    source = "platform counts" if not events.any() else "events and platform counts (the larger at each step)"
    combined = _series(series.start_us, series.step_us, kinds, np.maximum(events, platform), source)
    # Before the first report the platform's part is unknown, not zero: a rate or a time to half
    # that leans on those steps would be an artefact of when the snapshot happened to be taken.
    bins = len(combined.total)
    reports = [column for column in reported.values() if column]
    known_from = min(
        (next((i for i, value in enumerate(column) if value is not None), bins) for column in reports),
        default=bins,
    )
    window = max(1, round(3_600_000_000 / series.step_us))
    if bins - window - 1 < known_from:
        combined.velocity_per_hour = None
    if bins - 2 * window - 1 < known_from:
        combined.acceleration_per_hour2 = None
    half = combined.time_to_half_s
    if half is not None and half <= (known_from + 1) * series.step_us / 1e6:
        combined.time_to_half_s = None
    return combined


def snapshot_series(
    start_us: int,
    step_us: int,
    bins: int,
    observed_us: npt.NDArray[np.int64],
    values: dict[str, list[int | None]],
) -> dict[str, list[int | None]]:
    """The platform's reported counts on the same grid: at the end of each step, the latest
    snapshot taken by then (None before the first, or where the platform gives no such count)."""
    ends = start_us + step_us * (np.arange(bins) + 1)
    latest = np.searchsorted(observed_us, ends, side="right") - 1
    gridded: dict[str, list[int | None]] = {}
    for name, column in values.items():
        gridded[name] = [None if index < 0 else column[index] for index in latest.tolist()]
    return gridded

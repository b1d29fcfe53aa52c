"""A post's reach dossier (counts over time, velocity, baseline, audience, cascade, forecast) and
the forecast backtest behind `reachwatch eval forecast`."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import numpy as np

from reachwatch.analysis.backtest import (
    BacktestRow,
    FinishedCascade,
    backtest,
    cascade_from_tree,
    fit_calibration,
    half_of,
)
from reachwatch.analysis.baseline import BASELINE_DAYS, EVER, Baseline, author_baseline
from reachwatch.analysis.cascade import CascadeShape, shape
from reachwatch.analysis.forecast import Calibration, Early, Forecast, forecast, load_calibration
from reachwatch.analysis.timeseries import (
    REPORTED_AS,
    Series,
    engagement_series,
    grid_step,
    snapshot_series,
    with_reported,
)
from reachwatch.connectors.files.propagation_trees import read_trees
from reachwatch.errors import NotFoundError, UsageError
from reachwatch.service import audit, baselines
from reachwatch.store import accounts
from reachwatch.store import reach as reads
from reachwatch.store.database import Store

DAY_US = 86_400_000_000
FINISHED_AFTER_US = 3 * DAY_US  # an earlier post this old counts as finished, for the author's median
QUIET_AFTER_US = 7 * DAY_US
EARLY_US = 4 * 3_600_000_000
MIN_FIT_CASCADES = 30  # fewer finished cascades than this make too noisy a calibration


class Audience(msgspec.Struct, kw_only=True):
    author_followers: int | None
    amplifiers: int
    amplifier_followers: int
    potential: int  # the author's followers plus every amplifier's
    top_share: float | None  # share of the amplifiers' audience added by the 10 largest
    top: list[reads.AmplifierRow]


class Count(msgspec.Struct, kw_only=True):
    """One count of a post and where it comes from."""

    kind: str  # repost, quote, reply, like, view
    events: int | None  # engagement events seen (None: the platform gives no such events)
    reported: int | None  # the platform's latest reported count, when it gives one
    reported_at_us: int | None  # when that count was collected
    value: int  # the one shown: the larger of the two
    source: str  # "events" or "platform"


class Dossier(msgspec.Struct, kw_only=True):
    post: reads.PostHead
    as_of_us: int
    age_s: float
    counts: dict[str, int]  # engagement events seen, per kind
    sources: list[Count]  # each count as shown, with its source
    platform_counts: list[reads.SnapshotRow]
    series: Series
    early_series: Series | None  # the first EARLY_US minute by minute, where `series` steps coarser
    platform_series: dict[str, list[int | None]]  # the reported counts on the series' grid
    baseline: Baseline
    audience: Audience
    cascade: CascadeShape
    forecast: Forecast
    seconds: float


def dossier_head(store: Store, post_id: str) -> reads.PostHead:
    """The post's author, time and text, or a NotFoundError that says how to find ids."""
    head = reads.post_head(store, post_id)
    if head is None:
        raise NotFoundError(f"No post {post_id!r} in the store. Find ids with `reachwatch search`.")
    return head


def dossier(
    store: Store, post_id: str, *, at_us: int | None = None, calibration: Calibration | None = None
) -> Dossier:
    started = time.perf_counter()
    head = reads.post_head(store, post_id)
    if head is None:
        raise NotFoundError(f"No post {post_id!r} in the store. Find ids with `reachwatch search`.")
    platform_counts = reads.snapshots(store, post_id)
    now = at_us if at_us is not None else time.time_ns() // 1000
    # The newest thing known about the post: an engagement, or a count the platform reported.
    last = max(
        head.last_engagement_us or head.created_at_us,
        max((row.observed_at_us for row in platform_counts), default=head.created_at_us),
    )
    if at_us is None and now - last > QUIET_AFTER_US:
        now = max(last, head.created_at_us + 60_000_000)  # a finished post: as of the last news of it
    if now <= head.created_at_us:
        raise UsageError("The time asked for is before the post was made.")
    platform_counts = [row for row in platform_counts if row.observed_at_us <= now]
    age_us = now - head.created_at_us
    # The grid starts at the minute the post was made, so its steps are whole minutes of the
    # store's per-minute rollup (exact counts, three statements whatever the post's size).
    start = head.created_at_us - head.created_at_us % reads.MINUTE_US
    step = grid_step(max(now - start, reads.MINUTE_US))
    early_until = min(now, start + EARLY_US)
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Independent reads on their own connections, alongside: SQLite works outside the GIL.
        amplifiers = pool.submit(reads.amplifiers, store, post_id)
        steps = pool.submit(reads.step_counts, store, post_id, start, step, now)
        # The first hours minute by minute, where the grid is coarser: half of a post's
        # engagement often comes in its first hour, which one coarse step would hide.
        first = (
            pool.submit(reads.step_counts, store, post_id, start, reads.MINUTE_US, early_until)
            if step > reads.MINUTE_US
            else None
        )
        links = reads.via_links(store, post_id)
        earlier = baselines.earlier_counts(store, [head.author_id], head.created_at_us, head.created_at_us)
        buckets = reads.buckets_of(steps.result())
        audience = _audience(head.author_followers, amplifiers.result())
    events = engagement_series(start, now, buckets.kinds, buckets.kind_codes, buckets.buckets, buckets.counts)
    platform_series = snapshot_series(
        events.start_us,
        events.step_us,
        len(events.total),
        np.array([row.observed_at_us for row in platform_counts], dtype=np.int64),
        {
            name: [getattr(row, name) for row in platform_counts]
            for name in ("reposts", "quotes", "replies", "likes", "views")
        },
    )
    series = with_reported(events, platform_series)
    early_series = None
    if first is not None:
        minutes = reads.buckets_of(first.result())
        early_series = engagement_series(
            start, early_until, minutes.kinds, minutes.kind_codes, minutes.buckets, minutes.counts
        )
        # Events only: kept where they explain the early hours as well as the coarse series does
        # (not where the platform's reported counts are larger), so the two grids meet.
        joined = series.total[min(len(series.total), max(1, (early_until - start) // step)) - 1]
        if early_series.total[-1] < 0.95 * joined:
            early_series = None
    latest = platform_counts[-1] if platform_counts else None
    sources = sources_of(buckets.totals, latest)
    amplified = sum(count.value for count in sources if count.kind in reads.AMPLIFY_KINDS)
    mine = earlier.get(head.author_id, [])
    baseline = author_baseline(amplified, age_us / 1e6, head.created_at_us, now, mine)
    size = sum(buckets.totals.get(kind, 0) for kind in reads.SPREAD_KINDS)
    cascade = _cascade(size, links)
    spread = np.isin(buckets.kind_codes, [buckets.kinds.index(kind) for kind in reads.SPREAD_KINDS])
    early = Early(
        times_s=np.maximum(
            (buckets.buckets[spread] + 0.5) * step / 1e6 - (head.created_at_us - start) / 1e6, 0.0
        ),
        counts=buckets.counts[spread].astype(np.float64),
        indirect=buckets.through_others[spread].astype(np.float64),
    )
    reported_early = _reported_early(head.created_at_us, platform_counts)
    source = "events"
    if reported_early.total > early.total:
        early, source = reported_early, "platform counts (times of the snapshots)"
    finished_before = now - FINISHED_AFTER_US
    finals = [
        final
        for post in mine
        if head.created_at_us - BASELINE_DAYS * DAY_US
        <= post.created_at_us
        < min(head.created_at_us, finished_before)
        and (final := post.at(EVER)) is not None
    ]
    prior = float(np.median(finals)) if finals else None
    predicted = forecast(early, age_us / 1e6, calibration or calibration_for(store, head.platform), prior)
    predicted.source = source
    return Dossier(
        post=head,
        as_of_us=now,
        age_s=age_us / 1e6,
        counts=buckets.totals,
        sources=sources,
        platform_counts=platform_counts,
        series=series,
        early_series=early_series,
        platform_series=platform_series,
        baseline=baseline,
        audience=audience,
        cascade=cascade,
        forecast=predicted,
        seconds=time.perf_counter() - started,
    )


def sources_of(events: dict[str, int], latest: reads.SnapshotRow | None) -> list[Count]:
    """Each count with where it comes from: the events seen, or the platform's latest report when
    that is larger (events missing or partial)."""
    found = []
    for kind, name in (*REPORTED_AS.items(), ("view", "views")):
        seen = events.get(kind, 0) if kind != "view" else None
        reported = getattr(latest, name) if latest is not None else None
        if seen is None and reported is None:
            continue
        from_platform = reported is not None and (seen is None or reported > seen)
        value = reported if from_platform and reported is not None else seen or 0
        found.append(
            Count(
                kind=kind, events=seen, reported=reported,
                reported_at_us=latest.observed_at_us if latest is not None and reported is not None else None,
                value=int(value),
                source="platform" if from_platform else "events",
            )
        )  # fmt: skip
    return found


def _reported_early(created_at_us: int, rows: list[reads.SnapshotRow]) -> Early:
    """The platform's reported reposts + quotes + replies as engagement groups: each snapshot's
    increase over the one before, at the snapshot's age (when they happened is not known; by
    then they had)."""
    totals = np.array(
        [(row.reposts or 0) + (row.quotes or 0) + (row.replies or 0) for row in rows], dtype=np.float64
    )
    if not len(totals):
        return Early(times_s=np.zeros(0), counts=np.zeros(0), indirect=np.zeros(0))
    reached = np.maximum.accumulate(totals)
    return Early(
        times_s=np.array([(row.observed_at_us - created_at_us) / 1e6 for row in rows]),
        counts=np.diff(reached, prepend=0.0),
        indirect=np.zeros(len(rows)),
    )


def _audience(author_followers: int | None, found: reads.Amplifiers) -> Audience:
    """Distinct amplifiers across kinds, their followers summed, the ten largest."""
    return Audience(
        author_followers=author_followers,
        amplifiers=found.accounts,
        amplifier_followers=found.followers,
        potential=(author_followers or 0) + found.followers,
        top_share=sum(row.followers or 0 for row in found.top) / found.followers if found.followers else None,
        top=found.top,
    )


def _cascade(size: int, links: list[tuple[str, str]]) -> CascadeShape:
    """The cascade tree from via links: node 0 the post; listed, the nodes in a via relation;
    every other engagement a leaf under the post."""
    children = [child for child, _ in links]
    targets = [parent for _, parent in links]
    index = {node: position for position, node in enumerate(dict.fromkeys(children + targets), start=1)}
    parents = np.zeros(len(index) + 1, dtype=np.int64)
    parents[np.fromiter(map(index.__getitem__, children), dtype=np.int64, count=len(children))] = np.fromiter(
        map(index.__getitem__, targets), dtype=np.int64, count=len(targets)
    )
    # A via target deleted since still was a node the post passed through.
    return shape(max(size + 1, len(index) + 1), parents)


# -- backtest -----------------------------------------------------------------------------------
class ForecastEvaluation(msgspec.Struct, kw_only=True):
    source: str
    rows: list[BacktestRow]
    note: str = ""


def twitter_cascades(folder: Path) -> dict[str, list[FinishedCascade]]:
    """Twitter15's and Twitter16's cascades, by data set."""
    found = {}
    for name in ("twitter15", "twitter16"):
        if (folder / name / "tree").is_dir():
            found[name] = [
                cascade_from_tree(tree.id, tree.author, tree.delays_s, tree.parents)
                for tree in read_trees(folder / name)
            ]
    return found


def store_cascades(
    store: Store, min_engagements: int, finished_before_us: int
) -> dict[str, list[FinishedCascade]]:
    """Finished cascades in the store whose last engagement is old enough, per platform."""
    found: dict[str, list[FinishedCascade]] = {}
    for post_id, platform, author, created, rows in reads.finished_cascades(
        store, min_engagements, finished_before_us
    ):
        index = {ident: position + 1 for position, (ident, _, _) in enumerate(rows)}
        delays = [0.0] + [max(at - created, 0) / 1e6 for _, at, _ in rows]
        parents = [0] + [index.get(via, 0) if via else 0 for _, _, via in rows]
        found.setdefault(platform, []).append(cascade_from_tree(post_id, author, delays, parents))
    return found


CALIBRATION_KEY = "forecast-calibration:"


def calibration_for(store: Store, platform: str) -> Calibration:
    """The forecast calibration for a platform: the one this deployment fitted on its own finished
    cascades (`reachwatch eval forecast --fit`), else the one shipped for the platform, else the
    general one (Twitter15/16)."""
    stored = accounts.stored_value(store, CALIBRATION_KEY + platform)
    if stored is not None:
        return msgspec.json.decode(stored, type=Calibration)
    return load_calibration(platform)


class FittedCalibration(msgspec.Struct, kw_only=True):
    platform: str
    cascades: int
    trained_on: str


def fit_store_calibration(store: Store, min_engagements: int, by: str) -> list[FittedCalibration]:
    """Fit a calibration per platform on the store's own finished cascades and keep it in the store,
    for that platform's forecasts from now on (audited). Platforms with too few cascades keep theirs."""
    fitted = []
    for platform, cascades in sorted(
        store_cascades(store, min_engagements, time.time_ns() // 1000 - FINISHED_AFTER_US).items()
    ):
        if len(cascades) < MIN_FIT_CASCADES:
            continue
        calibration = msgspec.structs.replace(
            fit_calibration(cascades),
            trained_on=f"this store's {len(cascades)} finished {platform} cascades (>= {min_engagements} "
            f"engagements), fitted {time.strftime('%Y-%m-%d', time.gmtime())}",
        )
        accounts.store_value(store, CALIBRATION_KEY + platform, msgspec.json.encode(calibration).decode())
        audit.record(
            store,
            by,
            "change",
            "forecast-calibration",
            detail={"platform": platform, "cascades": len(cascades)},
        )
        fitted.append(
            FittedCalibration(platform=platform, cascades=len(cascades), trained_on=calibration.trained_on)
        )
    if not fitted:
        raise UsageError(
            f"No platform has {MIN_FIT_CASCADES} finished cascades of at least {min_engagements} engagements "
            "in this store: the shipped calibration stays."
        )
    return fitted


def evaluate_forecast(
    data: Path | None, store: Store | None = None, min_engagements: int = 50
) -> list[ForecastEvaluation]:
    """MdAPE at 10 min, 1 h and 6 h per data set: the held-out half of Twitter15/16 (the shipped
    calibration was fitted on the other half); each of Twitter15 and Twitter16 with a calibration
    fitted on the other alone (leave one source out); and per platform, the store's finished
    cascades (the 'eval' half by id) under the calibration in use and under one fitted on the
    store's 'fit' half."""
    calibration = load_calibration()
    kernel = calibration.kernel
    note = f"calibration: {calibration.trained_on}; kernel s0={kernel.s0:g} s, θ={kernel.theta:g}"
    results = []
    if data is not None and data.is_dir():
        by_source = {
            name: [c for c in cascades if c.final >= min_engagements]
            for name, cascades in twitter_cascades(data).items()
        }
        everything = [c for cascades in by_source.values() for c in cascades]
        fit = [c for c in everything if half_of(c.id) == "fit"]
        held_out = [c for c in everything if half_of(c.id) == "eval"]
        if held_out:
            results.append(
                ForecastEvaluation(
                    source=f"Twitter15+16 held-out half: {len(held_out)} cascades",
                    rows=backtest(held_out, calibration, fit),
                    note=note,
                )
            )
        for name, cascades in by_source.items():
            others = [c for other, rest in by_source.items() if other != name for c in rest]
            if cascades and len(others) >= MIN_FIT_CASCADES:
                results.append(
                    ForecastEvaluation(
                        source=f"{name}, calibration fitted on the others only: {len(cascades)} cascades",
                        rows=backtest(cascades, fit_calibration(others), others),
                        note="leave one source out: no cascade or author median of this set was fitted on",
                    )
                )
    if store is not None:
        found = store_cascades(store, min_engagements, time.time_ns() // 1000 - FINISHED_AFTER_US)
        for platform, cascades in sorted(found.items()):
            fit = [c for c in cascades if half_of(c.id) == "fit"]
            held_out = [c for c in cascades if half_of(c.id) == "eval"] or cascades
            in_use = calibration_for(store, platform)
            results.append(
                ForecastEvaluation(
                    source=f"the store's finished {platform} cascades: {len(held_out)} posts",
                    rows=backtest(held_out, in_use, fit or cascades),
                    note=f"calibration in use: {in_use.trained_on}; author medians: the store's other half",
                )
            )
            if len(fit) >= MIN_FIT_CASCADES:
                results.append(
                    ForecastEvaluation(
                        source=f"the store's finished {platform} cascades, fitted on the store's other half: "
                        f"{len(held_out)} posts",
                        rows=backtest(held_out, fit_calibration(fit), fit),
                        note=f"what `reachwatch eval forecast --fit` would give ({len(fit)} cascades to fit)",
                    )
                )
    if not results:
        raise UsageError(
            f"Nothing to backtest: no Twitter15/16 trees at {data} (point --data at the "
            "twitter15-16-propagation-trees folder) and no finished cascade in the store "
            "(`reachwatch demo` builds one)."
        )
    return results

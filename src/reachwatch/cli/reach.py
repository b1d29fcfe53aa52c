"""`reachwatch post ID` (the reach dossier) and `reachwatch eval forecast` (the backtest)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.options import AsJson, Db
from reachwatch.cli.render import console, safe, when
from reachwatch.cli.session import viewing
from reachwatch.config import load_settings
from reachwatch.errors import UsageError
from reachwatch.model import micros_from_datetime
from reachwatch.service import reach
from reachwatch.service.store_access import open_store
from reachwatch.service.viewer import cli_principal

DEFAULT_CASCADES = Path("../shared/data/cascades/twitter15-16-propagation-trees")
BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int], width: int = 48) -> str:
    """Per-step increments of a cumulative series, as block characters."""
    if len(values) < 2:
        return ""
    steps = [b - a for a, b in zip([0, *values[:-1]], values, strict=True)]
    chunk = max(1, -(-len(steps) // width))
    sums = [sum(steps[i : i + chunk]) for i in range(0, len(steps), chunk)]
    top = max(sums) or 1
    return "".join(BARS[min(len(BARS) - 1, int(value / top * (len(BARS) - 1) + 0.5))] for value in sums)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def post(
    post_id: Annotated[
        str, typer.Argument(help="A canonical post id, e.g. bluesky:at://did:plc:…/app.bsky.feed.post/…")
    ],
    db: Db = None,
    at: Annotated[
        str | None, typer.Option(help="Describe the post as of this ISO time (default: now).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The reach dossier of one post: counts over time, velocity, baseline, audience, cascade, forecast."""
    at_us = None
    if at is not None:
        try:
            at_us = micros_from_datetime(datetime.fromisoformat(at))
        except ValueError as exc:
            raise UsageError(f"--at {at!r} is not an ISO time (e.g. 2026-09-14T12:00:00Z).") from exc
    with viewing(db) as (store, viewer):
        post_id = viewer.resolve(post_id)
        found = viewer.show(reach.dossier(store, post_id, at_us=at_us), "view-post", post_id, via="cli")
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    _print_dossier(found)


def _print_dossier(found: reach.Dossier) -> None:
    head = found.post
    deleted = " (deleted)" if head.deleted_at_us else ""
    console.print(
        f"Post {head.id} by @{head.author_handle or head.author_id} at {when(head.created_at_us)}{deleted}; "
        f"as of {when(found.as_of_us)}, age {_duration(found.age_s)}",
        markup=False,
        highlight=False,
    )
    console.print(safe(head.text, 300))
    counts = Table(title="counts")
    for column in ("", "reposts", "quotes", "replies", "likes", "views"):
        counts.add_column(column, justify="right")
    counts.add_row(
        "events", *(f"{found.counts.get(k, 0):,}" for k in ("repost", "quote", "reply", "like")), "-"
    )
    if found.platform_counts:
        last = found.platform_counts[-1]
        reported = [last.reposts, last.quotes, last.replies, last.likes, last.views]
        counts.add_row(
            f"platform {when(last.observed_at_us)}", *("-" if v is None else f"{v:,}" for v in reported)
        )
    shown = {count.kind: count for count in found.sources}
    counts.add_row(
        "shown (source)",
        *(
            f"{shown[k].value:,} ({shown[k].source})" if k in shown else "-"
            for k in ("repost", "quote", "reply", "like", "view")
        ),
    )
    console.print(counts)
    series = found.series
    console.print(
        f"engagement over time ({_duration(series.step_us / 1e6)} steps, from {series.source}): "
        f"{sparkline(series.total)}\n"
        f"velocity {_rate(series.velocity_per_hour, '/h')}, "
        f"acceleration {_rate(series.acceleration_per_hour2, '/h²', '+')}, "
        f"half of the total by {_duration(series.time_to_half_s)}",
        markup=False,
    )
    base = found.baseline
    z = "-" if base.robust_z is None else f"{base.robust_z:+.1f}"
    pct = "-" if base.percentile is None else f"{base.percentile:.0f}th percentile"
    console.print(
        f"baseline: {base.value:,} reposts+quotes at {_duration(base.age_s)} against the author's median "
        f"{'-' if base.median is None else f'{base.median:,.0f}'} at {base.compared_at}: robust z {z}, {pct} "
        f"({base.note}). Robust z: {base.definition}.",
        markup=False,
    )
    audience = found.audience
    share = "-" if audience.top_share is None else f"{audience.top_share:.0%}"
    console.print(
        f"audience: potential {audience.potential:,} = author {audience.author_followers or 0:,} + "
        f"{audience.amplifiers:,} amplifiers' {audience.amplifier_followers:,}; "
        f"top 10 amplifiers add {share}",
        markup=False,
    )
    shape = found.cascade
    console.print(
        f"cascade: {shape.size:,} nodes, depth {shape.depth}, widest level {shape.max_breadth:,}, "
        f"structural virality {shape.structural_virality:.2f}, "
        f"{shape.through_others:,} through another engagement",
        markup=False,
    )
    guess = found.forecast
    console.print(
        f"forecast of reposts+quotes+replies: {guess.predicted:,.0f} "
        f"(90% interval {guess.low:,.0f}–{guess.high:,.0f}; "
        f"{guess.observed:,} so far, branching {guess.branching:.2f}"
        f"{'' if guess.prior is None else f', author median {guess.prior:,.0f}'}; "
        f"from {guess.source}; calibration: {guess.calibration or 'none'})",
        markup=False,
    )
    console.print(f"({found.seconds * 1000:.0f} ms)", markup=False, style="dim")


def _rate(value: float | None, unit: str, sign: str = "") -> str:
    return "- (not known from the platform's reports)" if value is None else f"{value:{sign},.1f}{unit}"


def evaluate_forecast(
    db: Db = None,
    data: Annotated[
        Path | None, typer.Option(help="The Twitter15/16 propagation trees folder.")
    ] = DEFAULT_CASCADES,
    min_engagements: Annotated[int, typer.Option(help="Only cascades at least this large.")] = 50,
    fit: Annotated[
        bool,
        typer.Option(
            "--fit",
            help="Also fit a calibration per platform on this store's own finished cascades and use "
            "it for that platform's forecasts from now on (the backtest first shows what it would give).",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Backtest the reach forecast on finished cascades at 10 min, 1 h and 6 h, per data set and
    platform, against two baselines."""
    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        results = reach.evaluate_forecast(data, store, min_engagements)
        fitted = (
            reach.fit_store_calibration(store, min_engagements, cli_principal(settings).name) if fit else []
        )
    finally:
        store.close()
    if as_json:
        print(msgspec.json.encode(results).decode())
        return
    for result in results:
        table = Table(title=result.source, caption=result.note)
        for column in (
            "after",
            "cascades",
            "forecast MdAPE",
            "90% interval coverage",
            "current count",
            "author median",
        ):
            table.add_column(column, justify="right")
        for row in result.rows:
            table.add_row(
                _duration(row.horizon_s),
                f"{row.cascades:,}",
                f"{row.model_mape:.1f}%",
                f"{row.model_coverage:.0%}",
                f"{row.current_mape:.1f}%",
                f"{row.author_median_mape:.1f}%",
            )
        console.print(table)
    for found in fitted:
        console.print(
            f"{found.platform}: now forecast with a calibration fitted on {found.trained_on}.", markup=False
        )

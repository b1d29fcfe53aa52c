"""`reachwatch spillover PERSON --post ID`: did abuse toward a protected person rise after a post?"""

from __future__ import annotations

import math
import re
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.options import AsJson, Db, Names
from reachwatch.cli.render import console, safe, when
from reachwatch.cli.session import viewing
from reachwatch.errors import UsageError
from reachwatch.service.spillover import (
    AFTER_HOURS,
    BEFORE_HOURS,
    BIN_HOURS,
    PoolComparison,
    RateRatio,
    SpilloverOptions,
    spillover,
    versus_pool,
)

HOURS = {"h": 1.0, "d": 24.0, "w": 168.0}


def parse_hours(text: str, option: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([hdw])\s*", text)
    if match is None:
        raise UsageError(f"{option} {text!r}: write a number with h, d or w (12h, 7d, 2w).")
    return float(match.group(1)) * HOURS[match.group(2)]


def _ratio(found: RateRatio) -> str:
    if math.isnan(found.ratio):
        return "no mentions on either side"
    return f"{found.ratio:.2f} [{found.low:.2f}, {found.high:.2f}], p {found.p_value:.2g}"


def spillover_command(
    person: Annotated[str, typer.Argument(help="The protected person: id, name or alias.")],
    post: Annotated[str, typer.Option("--post", help="The post whose aftermath to measure.")],
    db: Db = None,
    before: Annotated[
        str, typer.Option(help="Window before the post: 12h, 7d, 2w.")
    ] = f"{BEFORE_HOURS / 24:g}d",
    after: Annotated[
        str, typer.Option(help="Window after the post (capped at the newest data).")
    ] = f"{AFTER_HOURS / 24:g}d",
    bin_size: Annotated[
        str, typer.Option("--bin", help="Bin for the series and the dispersion.")
    ] = f"{BIN_HOURS / 24:g}d",
    alpha: Annotated[float, typer.Option(help="1 − the confidence level of the intervals.")] = 0.05,
    harm: Annotated[
        str,
        typer.Option(help="aimed: harmful posts aimed at the person; mentions: harmful posts naming them."),
    ] = "aimed",
    vs: Annotated[
        str | None,
        typer.Option(
            "--vs",
            help="pool: against the other protected people (difference in differences, "
            "synthetic control with placebos).",
        ),
    ] = None,
    as_json: AsJson = False,
    names_under_case: Names = None,
) -> None:
    """Mentions and harmful mentions of a person before and after a post: rate ratio with an exact
    interval, a segmented time-series fit, and the share from the post's own engagers."""
    options = SpilloverOptions(
        before_hours=parse_hours(before, "--before"), after_hours=parse_hours(after, "--after"),
        bin_hours=parse_hours(bin_size, "--bin"), alpha=alpha, harm=harm,
    )  # fmt: skip
    if vs is not None and vs != "pool":
        raise UsageError(f"--vs {vs!r}: the one comparison is 'pool' (the other protected people).")
    if vs == "pool":
        with viewing(db, names_under_case) as (store, viewer):
            post = viewer.resolve(post)
            compared = viewer.show(
                versus_pool(store, person, post, options), "view-post", post, part="spillover", person=person
            )
        if as_json:
            print(msgspec.json.encode(compared).decode())
        else:
            _print_pool(compared)
        return
    with viewing(db, names_under_case) as (store, viewer):
        post = viewer.resolve(post)
        report = viewer.show(
            spillover(store, person, post, options), "view-post", post, part="spillover", person=person
        )
    if as_json:
        print(msgspec.json.encode(report).decode())
        return
    level = round((1 - alpha) * 100)
    console.print(f"{safe(report.person_name)} after post {safe(report.post_id)} ({when(report.post_at_us)})")
    if report.post_targets_person:
        console.print(f"The post itself targets them: {', '.join(report.post_targets_person)}.")
    console.print(
        f"Windows: {report.windows} ({when(report.since_us)} → {when(report.until_us)}), "
        f"{report.bin_hours:g} h bins."
    )
    console.print(f"Mentions: {report.mentions.before} before, {report.mentions.after} after; "
                  f"rate ratio {_ratio(report.mentions)} ({level}% exact interval)")  # fmt: skip
    console.print(
        f"{report.harm_definition.capitalize()}: {report.harmful.before} before, "
        f"{report.harmful.after} after; rate ratio {_ratio(report.harmful)}",
        markup=False,
    )
    console.print(f"Second view, {report.second_definition}: {report.second.before} before, "
                  f"{report.second.after} after; rate ratio {_ratio(report.second)}",
                  markup=False)  # fmt: skip
    fit = report.segmented
    if fit is not None:
        console.print(
            f"Segmented fit (harmful, {fit.bins_before}+{fit.bins_after} bins): "
            f"level ×{fit.level_change:.2f} [{fit.level_low:.2f}, {fit.level_high:.2f}], "
            f"p {fit.level_p_value:.2g}; trend per bin "
            f"×{fit.trend_before:.2f} before, ×{fit.trend_after:.2f} after (dispersion {fit.dispersion:.1f})"
        )
    shares = report.attribution
    console.print(
        f"From the post's engagers: {shares.after_by_engagers}/{shares.after_total} harmful mentions after "
        f"({shares.after_share:.0%}), {shares.before_by_engagers}/{shares.before_total} before "
        f"({shares.before_share:.0%})."
    )
    table = Table(title="Per bin")
    for column in ("from", "mentions", "harmful", "by engagers"):
        table.add_column(column)
    for row in report.bins:
        marker = " ▸" if row.start_us == report.post_at_us else ""
        table.add_row(
            when(row.start_us) + marker, str(row.mentions), str(row.harmful), str(row.harmful_by_engagers)
        )
    console.print(table)
    if report.top_harmful_authors:
        authors = Table(title="Most harmful mentions after the post")
        for column in ("account", "harmful", "engaged with the post"):
            authors.add_column(column)
        for author in report.top_harmful_authors:
            authors.add_row(
                safe(author.handle or author.account_id, 40), str(author.harmful_after),
                "yes" if author.engaged_with_post else "no",
            )  # fmt: skip
        console.print(authors)


def _print_pool(found: PoolComparison) -> None:
    console.print(f"{found.harm_definition.capitalize()}, against {found.pool}.", markup=False)
    console.print(f"Windows: {found.windows}, {found.bin_hours:g} h bins.", markup=False)
    table = Table(title="Comparison pool")
    for column in ("person", "before", "after", "in the pool", "why"):
        table.add_column(column)
    for donor in found.donors:
        table.add_row(safe(donor.name, 40), str(donor.before), str(donor.after),
                      "yes" if donor.qualifies else "no", donor.why)  # fmt: skip
    console.print(table if found.donors else "The registry has no other protected people: add some "
                  "(`reachwatch people add`) to form a comparison pool.")  # fmt: skip
    result = found.did
    if result is None:
        console.print(f"Difference in differences: {found.did_note}.", markup=False)
    else:
        console.print(
            f"Difference in differences: ×{result.ratio:.2f} [{result.low:.2f}, {result.high:.2f}], "
            f"p {result.p_value:.2g} — {result.target_before} before, {result.target_after} after, while the "
            f"pool of {result.donors} changed ×{result.pool_ratio:.2f}; {found.did_note}.",
            markup=False,
        )
    synthetic = found.synthetic
    if not synthetic.identified:
        console.print(f"Synthetic control: {synthetic.reason}.", markup=False)
        return
    weights = ", ".join(
        f"{key} {weight:.2f}" for key, weight in sorted(synthetic.weights.items(), key=lambda kv: -kv[1])
    )
    console.print(
        f"Synthetic control: ×{synthetic.effect:.2f} of its synthetic after the post; "
        f"placebo p {synthetic.p_space:.2g} "
        f"in space, {synthetic.p_time:.2g} in time; pre-fit error {synthetic.pre_error:.2f} (noise "
        f"{synthetic.noise:.2f}); weights: {weights}. {synthetic.reason}.",
        markup=False,
    )

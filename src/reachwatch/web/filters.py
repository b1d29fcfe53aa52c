"""Jinja filters: times, numbers, and post text with its evidence words marked — always escaped
first, so hostile text stays text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from reachwatch.service import platforms
from reachwatch.web.charts import (
    hours_text,
    linear_time_ticks,
    log_time_ticks,
    svg_bars,
    svg_lines,
    svg_strip,
)

SEGMENTS = re.compile(r"[\w']+|[^\w']+")


OPEN_END = 2**61  # "until" left open is 2**62 µs, far past any calendar


TIMEZONES = (
    "UTC", "Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
    "Europe/Rome", "Europe/Warsaw", "Europe/Athens", "Europe/Kyiv", "America/New_York", "America/Chicago",
    "America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "America/Mexico_City", "Africa/Lagos",
    "Africa/Johannesburg", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
    "Pacific/Auckland",
)  # fmt: skip


def zone(name: str | None) -> ZoneInfo:
    """A time zone by IANA name; an unknown or missing one is UTC."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(micros: int | None, tz: str | None = None) -> str:
    """A time as people read it, in their zone with its abbreviation: 2026-10-13 18:59 BST."""
    if not micros:
        return "–"
    if micros >= OPEN_END:
        return "now"
    moment = datetime.fromtimestamp(micros / 1e6, tz=UTC).astimezone(zone(tz))
    return moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or "UTC")


@pass_context
def when(context: Context, micros: int | None) -> str:
    """`local_time` in the viewer's zone (`tz` in the page's context: their choice, else the
    deployment's `display_timezone`, else UTC)."""
    return local_time(micros, context.get("tz"))


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def plural(noun: str) -> str:
    """An engagement kind in the plural: reposts, quotes, replies, likes, views."""
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


def marked(text: str, words: Iterable[Any]) -> Markup:
    """The text escaped, with every word that drove a harm score inside <mark>."""
    wanted = {
        part.casefold() for item in words for part in str(item).split() if part not in ("@user", "http")
    }
    pieces = []
    for segment in SEGMENTS.findall(text or ""):
        safe = escape(segment)
        pieces.append(Markup("<mark>{}</mark>").format(safe) if segment.casefold() in wanted else safe)
    return Markup("").join(pieces)


def narrative_series(timeline: Any) -> dict[str, list[float]]:
    """Posts per week for each narrative, on the weeks the timeline covers (for svg_bars)."""
    weeks = sorted({row.week_us for row in timeline.weeks})
    series: dict[str, list[float]] = {name: [0.0] * len(weeks) for name in timeline.sequence}
    for row in timeline.weeks:
        series[row.narrative_id][weeks.index(row.week_us)] = float(row.posts)
    return series


SPREAD = ("repost", "quote", "reply")  # what the forecast predicts


def reach_chart(found: Any) -> Markup:
    """A dossier's engagements over time against the forecast of its final spread (the band), as
    the post page and the briefing draw it: minute by minute over the first hours where the
    dossier has them, and on a log-time axis past six hours, so the first hour stays visible."""
    hours: list[float] = []
    kinds: dict[str, list[float]] = {kind: [] for kind in (*SPREAD, "like")}
    early_end = 0.0
    for series in (found.early_series, found.series):
        if series is None:
            continue
        for i in range(len(series.total)):
            at = (i + 1) * series.step_us / 3_600_000_000
            if at <= early_end:
                continue  # the coarse grid starts where the minute grid ends
            hours.append(at)
            for kind, values in kinds.items():
                values.append(float(series.kinds[kind][i]) if kind in series.kinds else 0.0)
        early_end = hours[-1] if hours else 0.0
    spread = [sum(kinds[kind][i] for kind in SPREAD) for i in range(len(hours))]
    band = ([found.forecast.low] * len(hours), [found.forecast.high] * len(hours))
    log_x = bool(hours) and hours[-1] > 6
    ticks = log_time_ticks(hours[0], hours[-1]) if log_x else linear_time_ticks(hours[-1] if hours else 1)
    lines = {"spread (reposts+quotes+replies)": spread, "reposts": kinds["repost"], "likes": kinds["like"]}
    axis = "time after posting" + (" (log scale: the first hour as wide as a day)" if log_x else "")
    return svg_lines(
        hours, lines, band=band, title="engagements over time", x_ticks=ticks, log_x=log_x,
        x_label=f"{axis} · shaded: forecast of the final spread, 90% interval", x_text=hours_text,
        no_data="No engagement yet: the chart starts with the first one.",
    )  # fmt: skip


def spillover_chart(report: Any) -> Markup:
    """Mentions and harmful posts per bin around the post (its bin outlined)."""
    bins = report.bins
    marker = next((i for i, row in enumerate(bins) if row.start_us == report.post_at_us), None)
    series = {"mentions": [row.mentions for row in bins], "harmful": [row.harmful for row in bins]}
    return svg_bars([local_time(row.start_us) for row in bins], series, marker)


def evidence_words(harm: Any) -> list[str]:
    """The words to mark in a post's text: those behind flagged classes and every word a rule
    matched (borderline classes' words only in the table)."""
    words = [word for name in harm.flagged for word, _ in harm.evidence.get(name, [])]
    return words + [matched for _, matched in harm.rules]


def account_href(account_id: str) -> str:
    """An account's page; for a pseudonymised engager, its pseudonymous profile (which links to
    the reveal form)."""
    return f"/account?id={quote(str(account_id), safe='')}"


def original(kind: str, record_id: str | None, author_id: str | None = None) -> Markup:
    """A link to the original post or account on its platform (opened in a new tab, sending no
    referrer), or nothing where there is no public address or the id is shown by pseudonym."""
    if not record_id:
        return Markup("")
    url = platforms.post_url(record_id, author_id) if kind == "post" else platforms.account_url(record_id)
    if url is None:
        return Markup("")
    return Markup(
        '<a class="original" href="{}" target="_blank" rel="noopener noreferrer external">on {} ↗</a>'
    ).format(url, platforms.label_of(record_id))


def register(env: Environment) -> None:
    env.filters.update(
        when=when, number=number, marked=marked, plural=plural, q=lambda value: quote(str(value), safe=""),
        account_href=account_href,
    )  # fmt: skip
    env.globals.update(
        original=original, svg_lines=svg_lines, svg_bars=svg_bars, svg_strip=svg_strip,
        narrative_series=narrative_series, reach_chart=reach_chart, spillover_chart=spillover_chart,
        evidence_words=evidence_words,
    )  # fmt: skip

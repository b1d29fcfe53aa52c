"""Jinja filters: times, numbers, and post text with its evidence words marked — always escaped
first, so hostile text stays text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from jinja2 import Environment
from markupsafe import Markup, escape

from reachwatch.model import iso_from_micros
from reachwatch.service import platforms
from reachwatch.web.charts import svg_bars, svg_lines, svg_strip

SEGMENTS = re.compile(r"[\w']+|[^\w']+")


OPEN_END = 2**61  # "until" left open is 2**62 µs, far past any calendar


def when(micros: int | None) -> str:
    if not micros:
        return "–"
    if micros >= OPEN_END:
        return "now"
    return iso_from_micros(micros)[:16].replace("T", " ")


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


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


def account_href(account_id: str) -> str:
    """An account's page; for a pseudonymised engager, the page that reveals it under a case."""
    if str(account_id).startswith("anon-"):
        return f"/reveal?pseudonym={quote(str(account_id), safe='')}"
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
        when=when, number=number, marked=marked, q=lambda value: quote(str(value), safe=""),
        account_href=account_href,
    )  # fmt: skip
    env.globals.update(
        original=original, svg_lines=svg_lines, svg_bars=svg_bars, svg_strip=svg_strip,
        narrative_series=narrative_series,
    )  # fmt: skip

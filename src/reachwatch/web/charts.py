"""Server-drawn SVG charts: numbers in, markup out. Only numbers and escaped labels reach the
SVG, so a chart cannot carry a post's text anywhere it could run.

Every colour, stroke and font size is a presentation attribute on the element itself, so a chart
looks the same in the app, in a saved page and in a PDF (WeasyPrint), and no style sheet can turn
a legend grey: each legend entry is a swatch of its series' own colour. The palette is Okabe and
Ito's, told apart with the common colour-vision deficiencies. Hovering a point or bar shows its
value (an SVG <title>). A chart with nothing to draw says why."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 34, 42  # room for the y ticks, the legend and the time axis
# Okabe–Ito: blue, vermillion, bluish green, reddish purple, orange, sky blue.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
INK, MUTED, GRID, AXIS = "#1b2430", "#5f6b7a", "#e6eaef", "#9aa5b1"
FONT = 'font-family="DejaVu Sans, Segoe UI, system-ui, sans-serif"'
HOVER_POINTS = 80  # hover targets per line at most
# Ticks of a log-time axis in hours after posting: the first hour gets as much room as a day.
LOG_TICKS = (
    (1 / 60, "1 min"), (10 / 60, "10 min"), (1.0, "1 h"), (6.0, "6 h"), (24.0, "1 d"), (72.0, "3 d"),
    (168.0, "7 d"), (720.0, "30 d"), (2160.0, "90 d"),
)  # fmt: skip


def compact(value: float) -> str:
    """A tick's number, short: 950, 1.2k, 3.4M."""
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:,.2f}".rstrip("0").rstrip(".") if size < 10 and value != int(value) else f"{value:,.0f}"


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round values from 0 to at least `top` (steps of 1, 2 or 5 × a power of ten)."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def empty(reason: str) -> Markup:
    return Markup('<p class="muted chart-empty">{}</p>').format(reason)


def _legend(names: Sequence[str]) -> list[str]:
    """Swatch + name per series, left to right on the top row(s)."""
    parts, x, y = [], float(LEFT), 14.0
    for n, name in enumerate(names):
        width = 18 + 6.2 * len(name) + 14
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = float(LEFT), y + 15
        colour = COLOURS[n % len(COLOURS)]
        parts.append(
            f'<g class="legend-item" data-series="{escape(name)}">'
            f'<rect class="swatch" x="{x:.1f}" y="{y - 9:.1f}" width="12" height="10" rx="2" '
            f'fill="{colour}"/>'
            f'<text class="legend" x="{x + 17:.1f}" y="{y:.1f}" font-size="11" fill="{INK}" {FONT}>'
            f"{escape(name)}</text></g>"
        )
        x += width
    return parts


def _y_axis(ticks: Sequence[float], y_of: Callable[[float], float]) -> list[str]:
    parts = []
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}" '
            'stroke-width="1"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 3.5:.1f}" text-anchor="end" font-size="10" '
            f'fill="{MUTED}" {FONT}>{compact(tick)}</text>'
        )
    return parts


def _frame(title: str, x_label: str) -> list[str]:
    return [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>" if title else "",
        f'<text class="axis-label" x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 4}" text-anchor="middle" '
        f'font-size="10.5" fill="{MUTED}" {FONT}>{escape(x_label)}</text>',
    ]


def log_time_ticks(low_h: float, high_h: float) -> list[tuple[float, str]]:
    return [(hours, label) for hours, label in LOG_TICKS if low_h <= hours <= high_h]


def linear_time_ticks(high_h: float) -> list[tuple[float, str]]:
    ticks = nice_ticks(high_h, 6)
    return [(value, f"{value:g} h") for value in ticks if value <= high_h]


def svg_lines(
    x: Sequence[float],
    series: Mapping[str, Sequence[float | None]],
    band: tuple[Sequence[float], Sequence[float]] | None = None,
    title: str = "",
    x_label: str = "",
    *,
    x_ticks: Sequence[tuple[float, str]] | None = None,
    log_x: bool = False,
    unit: str = "",
    x_text: Callable[[float], str] = "{:g}".format,
    no_data: str = "No data to draw yet.",
) -> Markup:
    """One line per series over a shared x axis (log scale with `log_x`; `x_ticks` as (x, label)),
    with an optional shaded band (low, high) and a hover value on every point."""
    values = [value for line in series.values() for value in line if value is not None]
    if not x or not values:
        return empty(no_data)
    if band:
        values += [*band[0], *band[1]]
    ticks = nice_ticks(max(values))
    top = ticks[-1] or 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    low = min(value for value in x if not log_x or value > 0)
    place = [math.log10(max(value, low)) for value in x] if log_x else list(x)
    start, end = min(place), max(place)
    span = (end - start) or 1.0

    def x_of(value: float) -> float:
        spot = math.log10(max(value, low)) if log_x else value
        return LEFT + (spot - start) / span * inner_w

    def y_of(value: float) -> float:
        return TOP + inner_h - value / top * inner_h

    xs = [x_of(value) for value in x]
    parts = _frame(title, x_label) + _y_axis(ticks, y_of)
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{TOP + inner_h}" x2="{WIDTH - RIGHT}" y2="{TOP + inner_h}" '
        f'stroke="{AXIS}"/>'
    )
    for at, label in x_ticks or ():
        if min(x) <= at <= max(x):
            tx = x_of(at)
            parts.append(
                f'<line x1="{tx:.1f}" y1="{TOP + inner_h}" x2="{tx:.1f}" y2="{TOP + inner_h + 4}" '
                f'stroke="{AXIS}"/>'
                f'<text class="tick x-tick" x="{tx:.1f}" y="{TOP + inner_h + 15}" text-anchor="middle" '
                f'font-size="10" fill="{MUTED}" {FONT}>{escape(label)}</text>'
            )
    if band:
        upper = [f"{xs[i]:.1f},{y_of(value):.1f}" for i, value in enumerate(band[1])]
        lower = [f"{xs[i]:.1f},{y_of(value):.1f}" for i, value in reversed(list(enumerate(band[0])))]
        parts.append(
            f'<polygon class="band" points="{" ".join(upper + lower)}" fill="{COLOURS[0]}" '
            'fill-opacity="0.14" stroke="none"/>'
        )
    for n, (name, line) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        kept = [(i, value) for i, value in enumerate(line) if value is not None]
        points = " ".join(f"{xs[i]:.1f},{y_of(value):.1f}" for i, value in kept)
        parts.append(
            f'<polyline class="series" data-series="{escape(name)}" fill="none" stroke="{colour}" '
            f'stroke-width="2" stroke-linejoin="round" points="{points}"/>'
        )
        every = max(1, -(-len(kept) // HOVER_POINTS))
        for i, value in kept[::every]:
            parts.append(
                f'<circle class="hover" cx="{xs[i]:.1f}" cy="{y_of(value):.1f}" r="4" fill="{colour}" '
                f'fill-opacity="0" stroke="none"><title>{escape(name)}: {value:,.0f}{escape(unit)} at '
                f"{escape(x_text(x[i]))}</title></circle>"
            )
    parts += _legend(list(series))
    parts.append("</svg>")
    return Markup("".join(parts))


def hours_text(hours: float) -> str:
    """A time after posting, as a hover says it."""
    if hours < 2:
        return f"{hours * 60:.0f} min"
    return f"{hours:,.1f} h" if hours < 48 else f"{hours / 24:,.1f} d"


def svg_bars(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    marker: int | None = None,
    *,
    x_label: str = "",
    no_data: str = "Nothing in this period to draw.",
) -> Markup:
    """Grouped bars per label (e.g. per day); `marker` outlines one label's group (the post's bin)."""
    values = [value for line in series.values() for value in line]
    if not labels or not values:
        return empty(no_data)
    ticks = nice_ticks(max(values))
    top = ticks[-1] or 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = inner_w / len(labels)
    width = max(slot / (len(series) + 1), 1.0)

    def y_of(value: float) -> float:
        return TOP + inner_h - value / top * inner_h

    parts = _frame("", x_label) + _y_axis(ticks, y_of)
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{TOP + inner_h}" x2="{WIDTH - RIGHT}" y2="{TOP + inner_h}" '
        f'stroke="{AXIS}"/>'
    )
    if marker is not None:
        parts.append(
            f'<rect class="marker" x="{LEFT + marker * slot:.1f}" y="{TOP}" width="{slot:.1f}" '
            f'height="{inner_h:.1f}" fill="none" stroke="#b8282b" stroke-dasharray="3 2"/>'
        )
    for n, (name, line) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        for i, value in enumerate(line):
            height = value / top * inner_h
            x = LEFT + i * slot + (n + 0.5) * width
            parts.append(
                f'<rect class="bar" data-series="{escape(name)}" fill="{colour}" x="{x:.1f}" '
                f'y="{TOP + inner_h - height:.1f}" width="{width:.1f}" height="{height:.1f}">'
                f"<title>{escape(labels[i])}: {value:,.0f} {escape(name)}</title></rect>"
            )
    shown = sorted({0, len(labels) // 2, len(labels) - 1}) if len(labels) > 2 else range(len(labels))
    for i in shown:
        anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
        x = LEFT + i * slot + (0 if anchor == "start" else slot if anchor == "end" else slot / 2)
        parts.append(
            f'<text class="tick x-tick" x="{x:.1f}" y="{TOP + inner_h + 15}" text-anchor="{anchor}" '
            f'font-size="10" fill="{MUTED}" {FONT}>{escape(labels[i])}</text>'
        )
    parts += _legend(list(series))
    parts.append("</svg>")
    return Markup("".join(parts))


def svg_strip(labels: Sequence[str], values: Sequence[float], mine: str, value: float, unit: str) -> Markup:
    """One dot per labelled value on a horizontal axis and `mine` drawn large at `value`: where one
    figure (the person's rise) falls among its placebos'."""
    points = {
        label: float(v) for label, v in [*zip(labels, values, strict=True), (mine, value)] if math.isfinite(v)
    }
    if mine not in points or len(points) < 2:
        return empty("No placebo to draw: the comparison pool has no other person with enough data.")
    low, high = min(points.values()), max(points.values())
    if high == low:
        low, high = low - 1, high + 1
    inner_w = WIDTH - LEFT - RIGHT
    height, axis = 84, 60

    def x_of(point: float) -> float:
        return LEFT + (point - low) / (high - low) * inner_w

    parts = [
        f'<svg class="chart strip" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        'role="img">',
        f'<line class="axis" x1="{LEFT}" y1="{axis}" x2="{WIDTH - RIGHT}" y2="{axis}" stroke="{AXIS}"/>',
        f'<text class="tick" x="{LEFT}" y="{axis + 16}" text-anchor="start" font-size="10" fill="{MUTED}" '
        f"{FONT}>{low:,.2f}</text>",
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{axis + 16}" text-anchor="end" font-size="10" '
        f'fill="{MUTED}" {FONT}>{high:,.2f} {escape(unit)}</text>',
    ]
    for label, point in points.items():
        if label == mine:
            continue
        parts.append(
            f'<circle class="placebo" cx="{x_of(point):.1f}" cy="{axis - 12}" r="4" fill="{COLOURS[0]}" '
            f'fill-opacity="0.6"><title>{escape(label)}: {point:,.2f}</title></circle>'
        )
    parts.append(
        f'<circle class="highlight" cx="{x_of(points[mine]):.1f}" cy="{axis - 12}" r="7" '
        f'fill="{COLOURS[1]}"><title>{escape(mine)}: {points[mine]:,.2f}</title></circle>'
    )
    parts += _legend(["placebos", mine])
    parts.append("</svg>")
    return Markup("".join(parts))

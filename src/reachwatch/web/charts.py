"""Server-drawn SVG charts: numbers in, markup out. Only numbers and escaped labels reach the
SVG, so a chart cannot carry a post's text anywhere it could run."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 200, 36
COLOURS = ("#1f5f8b", "#c0392b", "#7d8a2e", "#8e44ad", "#d35400")


def _scale(values: Sequence[float], low: float, high: float, size: float, flip: bool) -> list[float]:
    span = (high - low) or 1.0
    scaled = [(value - low) / span * size for value in values]
    return [size - value for value in scaled] if flip else scaled


def svg_lines(
    x: Sequence[float],
    series: dict[str, Sequence[float | None]],
    band: tuple[Sequence[float], Sequence[float]] | None = None,
    title: str = "",
    x_label: str = "",
) -> Markup:
    """One line per series over a shared x axis, with an optional shaded band (low, high)."""
    if not x:
        return Markup('<p class="muted">No data to draw.</p>')
    values = [value for line in series.values() for value in line if value is not None]
    if band:
        values += [*band[0], *band[1]]
    top = max(values, default=1.0) or 1.0
    xs = [PAD + value for value in _scale(x, min(x), max(x), WIDTH - 2 * PAD, False)]
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
        f'<line x1="{PAD}" y1="{PAD / 2}" x2="{PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
        f'<text x="{PAD - 4}" y="{PAD / 2 + 4}" class="tick" text-anchor="end">{top:,.0f}</text>',
        f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" class="tick" text-anchor="end">0</text>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 6}" class="tick" text-anchor="middle">{escape(x_label)}</text>',
    ]
    inner = HEIGHT - PAD - PAD / 2

    def y_of(value: float) -> float:
        return PAD / 2 + inner - value / top * inner

    if band:
        upper = [f"{xs[i]:.1f},{y_of(value):.1f}" for i, value in enumerate(band[1])]
        lower = [f"{xs[i]:.1f},{y_of(value):.1f}" for i, value in reversed(list(enumerate(band[0])))]
        parts.append(f'<polygon class="band" points="{" ".join(upper + lower)}"/>')
    for n, (name, line) in enumerate(series.items()):
        points = [f"{xs[i]:.1f},{y_of(value):.1f}" for i, value in enumerate(line) if value is not None]
        colour = COLOURS[n % len(COLOURS)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>'
        )
        parts.append(
            f'<text x="{WIDTH - PAD - 4}" y="{PAD / 2 + 14 * (n + 1)}" class="legend" text-anchor="end" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def svg_bars(labels: Sequence[str], series: dict[str, Sequence[float]], marker: int | None = None) -> Markup:
    """Grouped bars per label (e.g. per day); `marker` outlines one label's group (the post's bin)."""
    if not labels:
        return Markup('<p class="muted">No data to draw.</p>')
    top = max((value for values in series.values() for value in values), default=1.0) or 1.0
    slot = (WIDTH - 2 * PAD) / len(labels)
    width = max(slot / (len(series) + 1), 1.0)
    inner = HEIGHT - PAD - PAD / 2
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
        f'<text x="{PAD - 4}" y="{PAD / 2 + 4}" class="tick" text-anchor="end">{top:,.0f}</text>',
    ]
    if marker is not None:
        parts.append(
            f'<rect class="marker" x="{PAD + marker * slot:.1f}" y="{PAD / 2}" '
            f'width="{slot:.1f}" height="{inner:.1f}"/>'
        )
    for n, (name, values) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        for i, value in enumerate(values):
            height = value / top * inner
            x = PAD + i * slot + (n + 0.5) * width
            parts.append(
                f'<rect fill="{colour}" x="{x:.1f}" y="{HEIGHT - PAD - height:.1f}" width="{width:.1f}" '
                f'height="{height:.1f}"><title>{escape(labels[i])}: {value:,.0f} {escape(name)}</title>'
                "</rect>"
            )
        parts.append(
            f'<text x="{WIDTH - PAD - 4}" y="{PAD / 2 + 14 * (n + 1)}" class="legend" text-anchor="end" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    for i in (0, len(labels) - 1):
        anchor = "start" if i == 0 else "end"
        x = PAD + i * slot + (slot if i else 0)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - PAD + 14}" class="tick" text-anchor="{anchor}">'
            f"{escape(labels[i])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def svg_strip(labels: Sequence[str], values: Sequence[float], mine: str, value: float, unit: str) -> Markup:
    """One dot per labelled value on a horizontal axis and `mine` drawn large and red at `value`:
    where one figure (the person's rise) falls among its placebos'."""
    points = {
        label: float(v) for label, v in [*zip(labels, values, strict=True), (mine, value)] if math.isfinite(v)
    }
    if mine not in points or len(points) < 2:
        return Markup('<p class="muted">No placebo to draw.</p>')
    low, high = min(points.values()), max(points.values())
    if high == low:
        low, high = low - 1, high + 1
    xs = dict(zip(points, _scale(list(points.values()), low, high, WIDTH - 2 * PAD, False), strict=True))
    height = 80
    axis = height - 24
    parts = [
        f'<svg class="chart strip" viewBox="0 0 {WIDTH} {height}" role="img">',
        f'<line x1="{PAD}" y1="{axis}" x2="{WIDTH - PAD}" y2="{axis}" class="axis"/>',
        f'<text x="{PAD}" y="{axis + 16}" class="tick" text-anchor="start">{low:,.2f}</text>',
        f'<text x="{WIDTH - PAD}" y="{axis + 16}" class="tick" text-anchor="end">'
        f"{high:,.2f} {escape(unit)}</text>",
    ]
    for label, x in xs.items():
        if label == mine:
            continue
        parts.append(
            f'<circle class="placebo" cx="{PAD + x:.1f}" cy="{axis - 12}" r="4" fill="{COLOURS[0]}" '
            f'fill-opacity="0.6"><title>{escape(label)}: {points[label]:,.2f}</title></circle>'
        )
    parts.append(
        f'<circle class="highlight" cx="{PAD + xs[mine]:.1f}" cy="{axis - 12}" r="7" fill="{COLOURS[1]}">'
        f"<title>{escape(mine)}: {points[mine]:,.2f}</title></circle>"
        f'<text x="{WIDTH - PAD}" y="14" class="legend" text-anchor="end" fill="{COLOURS[1]}">'
        f"{escape(mine)}</text>"
        f'<text x="{WIDTH - PAD}" y="28" class="legend" text-anchor="end" fill="{COLOURS[0]}">placebos</text>'
        "</svg>"
    )
    return Markup("".join(parts))

"""Server-drawn SVG charts: numbers in, markup out. Only numbers and escaped labels reach the
SVG, so a chart cannot carry a post's text anywhere it could run."""

from __future__ import annotations

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

"""Small server-rendered SVG charts (horizontal bars, a daily line) for console pages: no script, no CDN.

Each chart carries a <title> and an aria-label, and the page shows the same numbers as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

BAR_HEIGHT = 22
LABEL_WIDTH = 220
VALUE_WIDTH = 70


def _fmt(value: float, unit: str) -> str:
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{text}{unit}"


def bar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 640,
    unit: str = "",
    maximum: float | None = None,
) -> Markup:
    """One horizontal bar per (label, value), longest scale at `maximum` (default: the largest value)."""
    height = max(1, len(rows)) * BAR_HEIGHT + 8
    top = maximum if maximum is not None else max((v for _, v in rows), default=0)
    span = width - LABEL_WIDTH - VALUE_WIDTH
    parts = [
        f'<svg class="chart bar-chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append(f'<text x="0" y="16" class="chart-empty">{escape("Nothing to show")}</text>')
    for i, (label, value) in enumerate(rows):
        y = 4 + i * BAR_HEIGHT
        length = 0 if not top else max(0.0, value) / top * span
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" class="chart-label">'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{BAR_HEIGHT - 6}" '
            f'class="chart-bar"><title>{escape(label)}: {escape(_fmt(value, unit))}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}" class="chart-value">'
            f"{escape(_fmt(value, unit))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    points: Sequence[tuple[date, float]], *, title: str, width: int = 640, height: int = 160
) -> Markup:
    """A line of daily values with the first and last day and the largest value marked."""
    left, right, top_pad, bottom = 40, 10, 12, 24
    top = max((v for _, v in points), default=0) or 1
    inner_w, inner_h = width - left - right, height - top_pad - bottom
    step = inner_w / max(1, len(points) - 1)
    coords = [
        (left + i * step, top_pad + inner_h - (v / top) * inner_h)
        for i, (_, v) in enumerate(points)
    ]
    parts = [
        f'<svg class="chart line-chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top_pad + inner_h}" x2="{width - right}" y2="{top_pad + inner_h}" '
        'class="chart-axis"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end" class="chart-value">'
        f"{escape(_fmt(top, ''))}</text>",
        f'<text x="{left - 6}" y="{top_pad + inner_h}" text-anchor="end" class="chart-value">0</text>',
    ]
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" class="chart-line" fill="none"/>')
        for (x, y), (day, value) in zip(coords, points, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" class="chart-dot">'
                f"<title>{day.isoformat()}: {escape(_fmt(value, ''))}</title></circle>"
            )
        parts.append(
            f'<text x="{left}" y="{height - 6}" class="chart-label">{points[0][0].isoformat()}</text>'
            f'<text x="{width - right}" y="{height - 6}" text-anchor="end" class="chart-label">'
            f"{points[-1][0].isoformat()}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))

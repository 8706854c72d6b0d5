"""Small charts as inline SVG strings: no scripts, no fonts or images from anywhere else.

Every value drawn is also printed in a table next to the chart, so a chart is a picture of
numbers the reader can check, never the only place a number appears.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 200
PAD_LEFT = 44
PAD_BOTTOM = 28
PAD_TOP = 12
BLUE = "#2f6fb3"
RED = "#c0392b"
BAND = "#9dc3ea"
GRID = "#d9dde3"
TEXT = "#333"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        if value <= step:
            return float(step)
    return float(value) * 1.1


def _frame(y_max: float, labels: Sequence[str], fmt: str, title: str) -> list[str]:
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(title)}" '
        f'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = PAD_TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">'
            f"{format(value, fmt)}</text>"
        )
    step = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % step == 0:
            x = _x(i, len(labels))
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" fill="{TEXT}">'
                f"{escape(label)}</text>"
            )
    return parts


def _x(i: int, n: int) -> float:
    slot = (WIDTH - 8 - PAD_LEFT) / max(n, 1)
    return PAD_LEFT + slot * (i + 0.5)


def _y(value: float, y_max: float) -> float:
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    return PAD_TOP + plot_h - plot_h * min(value, y_max) / y_max


def bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    title: str,
) -> Markup:
    """Grouped bars: one group per label, one bar per ``(name, values, colour)`` series."""
    y_max = _nice_max(max((v for _, values, _ in series for v in values), default=0))
    parts = _frame(y_max, labels, "g", title)
    slot = (WIDTH - 8 - PAD_LEFT) / max(len(labels), 1)
    bar_w = max(1.0, slot * 0.8 / max(len(series), 1))
    for s, (name, values, colour) in enumerate(series):
        for i, value in enumerate(values):
            x = _x(i, len(labels)) - slot * 0.4 + s * bar_w
            y = _y(value, y_max)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{_y(0, y_max) - y:.1f}" fill="{colour}">'
                f"<title>{escape(name)} {escape(labels[i])}: {value:g}</title></rect>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def rate_chart(
    labels: Sequence[str],
    rates: Sequence[float | None],
    intervals: Sequence[Sequence[float] | None],
    title: str,
) -> Markup:
    """A rate (0..1) as a line with its confidence interval as a band; gaps where unknown."""
    parts = _frame(1.0, labels, ".0%", title)
    n = len(labels)
    for i, (rate, interval) in enumerate(zip(rates, intervals, strict=True)):
        if rate is None or interval is None:
            continue
        x = _x(i, n)
        half = max(3.0, (WIDTH - 8 - PAD_LEFT) / max(n, 1) * 0.3)
        lo, hi = _y(interval[0], 1.0), _y(interval[1], 1.0)
        parts.append(
            f'<rect x="{x - half:.1f}" y="{hi:.1f}" width="{2 * half:.1f}" '
            f'height="{max(lo - hi, 1):.1f}" fill="{BAND}" opacity="0.7"/>'
        )
    points = [(_x(i, n), _y(rate, 1.0)) for i, rate in enumerate(rates) if rate is not None]
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
    for (x, y), (i, rate) in zip(
        points, [(i, r) for i, r in enumerate(rates) if r is not None], strict=True
    ):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{BLUE}">'
            f"<title>{escape(labels[i])}: {rate:.1%}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(items: Sequence[tuple[str, float]], title: str, colour: str = BLUE) -> Markup:
    """Horizontal bars, one per ``(label, value)``, labelled with the value."""
    row_h = 22
    height = max(row_h * len(items) + 8, 30)
    label_w = 190
    v_max = max((v for _, v in items), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" '
        f'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">'
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        w = (WIDTH - label_w - 60) * value / v_max
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" fill="{TEXT}">'
            f"{escape(label[:32])}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 8}" '
            f'fill="{colour}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" fill="{TEXT}">{value:g}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))

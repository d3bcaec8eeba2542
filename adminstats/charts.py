"""Small server-side SVG charts for the admin dashboard: no JavaScript, no assets.

Numbers are formatted by us and every label is escaped, so the markup is safe to
inline in the page.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 26, 28
COLOURS = ("#417690", "#e59c3c")


def _scale_max(values: list[int]) -> int:
    top = max(values, default=0)
    return max(top, 1)


def _y(value: float, top: int) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _frame(top: int, title: str) -> list[str]:
    """Axis, three gridlines with their values, and the accessible title."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="stats-chart">',
        f"<title>{escape(title)}</title>",
    ]
    for value in sorted({0, top // 2, top}):
        y = _y(value, top)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#666">{value}</text>'
        )
    return parts


def _legend(names: list[str]) -> list[str]:
    parts, x = [], LEFT
    for name, colour in zip(names, COLOURS, strict=False):
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="15" font-size="11" fill="#333">{escape(name)}</text>')
        x += 20 + 7 * len(name)
    return parts


def bar_chart(
    labels: list[str], series: list[tuple[str, list[int]]], *, title: str, label_every: int = 3
) -> SafeString:
    """Grouped bars: one group per label, one bar per series."""
    top = _scale_max([v for _name, values in series for v in values])
    parts = _frame(top, title) + _legend([name for name, _values in series])
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar = slot * 0.8 / max(len(series), 1)
    base = _y(0, top)
    for i, label in enumerate(labels):
        x0 = LEFT + i * slot + slot * 0.1
        for j, (name, values) in enumerate(series):
            value = values[i]
            y = _y(value, top)
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{base - y:.1f}" fill="{COLOURS[j % len(COLOURS)]}">'
                f"<title>{escape(label)} {escape(name)}: {value}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x0 + slot * 0.4:.1f}" y="{HEIGHT - 10}" text-anchor="middle" '
                f'font-size="11" fill="#666">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # numbers and escaped labels only


def line_chart(
    points: list[tuple[datetime, int]], *, title: str, name: str, label_format: str = "%H:%M"
) -> SafeString:
    """A step line over time (the value holds until the next point)."""
    top = _scale_max([v for _t, v in points])
    parts = _frame(top, title) + _legend([name])
    if len(points) >= 2:
        start, end = points[0][0], points[-1][0]
        span = (end - start).total_seconds() or 1.0

        def x_of(moment: datetime) -> float:
            return LEFT + (WIDTH - LEFT - RIGHT) * (moment - start).total_seconds() / span

        coords: list[str] = []
        previous_y = None
        for moment, value in points:
            x, y = x_of(moment), _y(value, top)
            if previous_y is not None:
                coords.append(f"{x:.1f},{previous_y:.1f}")
            coords.append(f"{x:.1f},{y:.1f}")
            previous_y = y
        parts.append(
            f'<polyline points="{" ".join(coords)}" fill="none" stroke="{COLOURS[0]}" '
            'stroke-width="2"/>'
        )
        step = max(len(points) // 8, 1)
        for moment, _value in points[::step]:
            parts.append(
                f'<text x="{x_of(moment):.1f}" y="{HEIGHT - 10}" text-anchor="middle" '
                f'font-size="11" fill="#666">{escape(moment.strftime(label_format))}</text>'
            )
        peak_moment, peak = max(points, key=lambda p: p[1])
        parts.append(f"<desc>peak {peak} at {escape(peak_moment.strftime(label_format))}</desc>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # numbers and escaped labels only

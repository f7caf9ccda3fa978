"""Inline SVG line charts over run time, with fault windows shaded and labelled (no JavaScript, no CDN)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 900, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 36
FAULT_FILL = "#f4a261"


@dataclass(frozen=True)
class Line:
    """One series: (x, y) points, drawn in ``color``; y None leaves a gap."""

    label: str
    color: str
    points: Sequence[tuple[float, float | None]]


@dataclass(frozen=True)
class Span:
    """A shaded band on the x axis (a fault window)."""

    label: str
    start: float
    end: float


def nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def line_chart(
    title: str, y_label: str, lines: Sequence[Line], spans: Sequence[Span], x_max: float, x_label: str = "run time (s)"
) -> str:
    """An SVG document fragment: axes, grid, shaded spans with labels, lines and a legend."""
    values = [y for line in lines for _, y in line.points if y is not None]
    y_max = nice_max(max(values, default=0.0))
    x_max = max(x_max, 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + plot_w * min(max(x, 0.0), x_max) / x_max

    def sy(y: float) -> float:
        return TOP + plot_h * (1 - min(max(y, 0.0), y_max) / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f'<text x="{LEFT}" y="18" class="chart-title">{escape(title)}</text>',
    ]
    for span in spans:
        x0, x1 = sx(span.start), sx(span.end)
        parts.append(
            f'<rect x="{x0:.1f}" y="{TOP}" width="{max(1.0, x1 - x0):.1f}" height="{plot_h}" '
            f'fill="{FAULT_FILL}" fill-opacity="0.25"><title>{escape(span.label)}</title></rect>'
        )
        parts.append(f'<text x="{x0 + 3:.1f}" y="{TOP + 12}" class="span-label">{escape(span.label)}</text>')
    for i in range(5):
        y = y_max * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{sy(y) + 4:.1f}" text-anchor="end" class="tick">{y:g}</text>'
        )
    for i in range(6):
        x = x_max * i / 5
        parts.append(
            f'<text x="{sx(x):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="tick">{x:.0f}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 4}" text-anchor="middle" class="axis">{escape(x_label)}</text>'
        f'<text x="14" y="{TOP + plot_h / 2:.0f}" transform="rotate(-90 14 {TOP + plot_h / 2:.0f})" '
        f'text-anchor="middle" class="axis">{escape(y_label)}</text>'
    )
    for line in lines:
        for segment in _segments(line.points):
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in segment)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{line.color}" stroke-width="1.6"/>')
    legend_x = LEFT + 8
    for line in lines:
        parts.append(
            f'<rect x="{legend_x}" y="{TOP + 20}" width="10" height="10" fill="{line.color}"/>'
            f'<text x="{legend_x + 14}" y="{TOP + 29}" class="legend">{escape(line.label)}</text>'
        )
        legend_x += 24 + 7 * len(line.label)
    parts.append("</svg>")
    return "".join(parts)


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    segments: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append((x, y))
    return [s for s in segments if s]

"""Daily line charts as inline SVG (no script, no external file), readable by screen readers."""

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from orchestration.outputs.formatting import format_compact, format_metric

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 28  # room for the axis labels


@dataclass(frozen=True)
class Series:
    """One line: its metric, label, colour and one value per day."""

    metric: str
    label: str
    color: str
    values: Sequence[float | int | None]


def line_chart(
    chart_id: str, title: str, dates: Sequence[date], series: Sequence[Series], currency: str | None
) -> str:
    """A `<figure>` with an SVG line per series over `dates`, a legend and a text summary."""
    numbers = [float(v) for s in series for v in s.values if v is not None]
    top = max(numbers, default=0.0) or 1.0
    bottom = min(0.0, min(numbers, default=0.0))
    unit_metric = series[0].metric if series else ""
    paths = "".join(_polyline(s, len(dates), bottom, top) for s in series)
    axis = _axis(dates, bottom, top, unit_metric)
    legend = "".join(
        f'<li><span style="background:{s.color}"></span>{html.escape(s.label)}</li>' for s in series
    )
    summary = html.escape(_describe(title, dates, series, currency))
    return (
        f'<figure data-testid="chart-{chart_id}" aria-labelledby="chart-{chart_id}-title">'
        f'<figcaption id="chart-{chart_id}-title">{html.escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{summary}" '
        f'xmlns="http://www.w3.org/2000/svg">{axis}{paths}</svg>'
        f'<ul class="legend">{legend}</ul></figure>'
    )


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * index / (count - 1) if count > 1 else span / 2)


def _y(value: float, bottom: float, top: float) -> float:
    span = HEIGHT - TOP - BOTTOM
    return TOP + span * (1 - (value - bottom) / ((top - bottom) or 1.0))


def _polyline(series: Series, count: int, bottom: float, top: float) -> str:
    points = " ".join(
        f"{_x(i, count):.1f},{_y(float(v), bottom, top):.1f}"
        for i, v in enumerate(series.values)
        if v is not None
    )
    return (
        f'<polyline fill="none" stroke="{series.color}" stroke-width="2" '
        f'stroke-linejoin="round" points="{points}"/>'
    )


def _axis(dates: Sequence[date], bottom: float, top: float, metric: str) -> str:
    label_style = 'font-size="12" fill="#4a5260"'
    lines = []
    for value in (bottom, (bottom + top) / 2, top):
        y = _y(value, bottom, top)
        text = html.escape(format_compact(metric, value))
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5d9e0"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {label_style}>{text}</text>'
        )
    if dates:
        baseline = HEIGHT - 8
        lines.append(f'<text x="{LEFT}" y="{baseline}" {label_style}>{dates[0].isoformat()}</text>')
        lines.append(
            f'<text x="{WIDTH - RIGHT}" y="{baseline}" text-anchor="end" {label_style}>'
            f"{dates[-1].isoformat()}</text>"
        )
    return "".join(lines)


def _describe(
    title: str, dates: Sequence[date], series: Sequence[Series], currency: str | None
) -> str:
    if not dates:
        return f"{title}: no data yet"
    parts = []
    for s in series:
        last = next((v for v in reversed(s.values) if v is not None), None)
        parts.append(
            f"{s.label} on {dates[-1].isoformat()}: {format_metric(s.metric, last, currency)}"
        )
    return f"{title}, daily from {dates[0].isoformat()} to {dates[-1].isoformat()}. " + "; ".join(
        parts
    )

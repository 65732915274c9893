"""Monthly stacked bar charts as inline SVG: gains stack up, losses stack down, an optional line.

Every bar carries a `<title>` (its label and formatted value) so pointer and screen-reader users
read the same numbers; the figure's `aria-label` states the latest month in words.
"""

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestration.outputs.dashboard.charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH

BAR_SHARE = 0.6  # of each month's band; the rest is the gap between months
LABEL_STYLE = 'font-size="11" fill="#4a5260"'


@dataclass(frozen=True)
class BarSeries:
    """One stacked series: a key for tests, its label, colour, values and direction (up/down)."""

    key: str
    label: str
    color: str
    values: Sequence[float]
    downward: bool = False  # drawn below zero (a loss), from a positive magnitude


@dataclass(frozen=True)
class BarLine:
    """A line over the bars (e.g. net new MRR), one point per band."""

    label: str
    color: str
    values: Sequence[float]


def stacked_bar_chart(
    chart_id: str,
    title: str,
    bands: Sequence[str],
    series: Sequence[BarSeries],
    text: Callable[[float], str],
    summary: str,
    line: BarLine | None = None,
    axis_text: Callable[[float], str] | None = None,
    footer_html: str = "",
    wide: bool = False,
) -> str:
    """A `<figure>` of stacked bars per band (month), a legend and a spoken `summary`.

    `text` formats the values in each bar's title; `axis_text` (default: `text`) the axis labels;
    `footer_html` (already escaped) goes under the legend; `wide` spans the whole grid row.
    """
    top, bottom = _extent(len(bands), series, line)
    scale = _Scale(len(bands), bottom, top)
    bars = "".join(
        _band_bars(chart_id, i, band, series, text, scale) for i, band in enumerate(bands)
    )
    drawn = _axis(bands, axis_text or text, scale) + bars
    drawn += _line(chart_id, bands, line, text, scale) if line else ""
    keys = [(s.label, s.color) for s in series] + ([(line.label, line.color)] if line else [])
    legend = "".join(
        f'<li><span style="background:{color}"></span>{html.escape(label)}</li>'
        for label, color in keys
    )
    css_class = ' class="wide"' if wide else ""
    return (
        f'<figure{css_class} data-testid="chart-{chart_id}" '
        f'aria-labelledby="chart-{chart_id}-title">'
        f'<figcaption id="chart-{chart_id}-title">{html.escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(summary)}" '
        f'xmlns="http://www.w3.org/2000/svg">{drawn}</svg>'
        f'<ul class="legend">{legend}</ul>{footer_html}</figure>'
    )


class _Scale:
    """Maps a band index and a value to SVG coordinates."""

    def __init__(self, count: int, bottom: float, top: float) -> None:
        self.count, self.bottom, self.top = max(count, 1), bottom, top
        self.band = (WIDTH - LEFT - RIGHT) / self.count

    def x(self, index: int) -> float:
        return LEFT + self.band * (index + (1 - BAR_SHARE) / 2)

    def center(self, index: int) -> float:
        return LEFT + self.band * (index + 0.5)

    def y(self, value: float) -> float:
        span = HEIGHT - TOP - BOTTOM
        return TOP + span * (1 - (value - self.bottom) / ((self.top - self.bottom) or 1.0))


def _extent(count: int, series: Sequence[BarSeries], line: BarLine | None) -> tuple[float, float]:
    ups = [sum(float(s.values[i]) for s in series if not s.downward) for i in range(count)]
    downs = [-sum(float(s.values[i]) for s in series if s.downward) for i in range(count)]
    points = [float(v) for v in line.values] if line else []
    top = max([0.0, *ups, *points]) or 1.0
    return top, min([0.0, *downs, *points])


def _band_bars(
    chart_id: str,
    index: int,
    band: str,
    series: Sequence[BarSeries],
    text: Callable[[float], str],
    scale: _Scale,
) -> str:
    rects, up, down = [], 0.0, 0.0
    width = scale.band * BAR_SHARE
    for s in series:
        value = float(s.values[index])
        start = down if s.downward else up
        end = start - value if s.downward else start + value
        y1, y2 = sorted((scale.y(start), scale.y(end)))
        shown = text(-value if s.downward else value)
        rects.append(
            f'<rect data-testid="bar-{chart_id}" data-band="{html.escape(band)}" '
            f'data-series="{s.key}" x="{scale.x(index):.1f}" y="{y1:.1f}" width="{width:.1f}" '
            f'height="{y2 - y1:.1f}" fill="{s.color}"><title>{html.escape(band)} · '
            f"{html.escape(s.label)}: {html.escape(shown)}</title></rect>"
        )
        if s.downward:
            down = end
        else:
            up = end
    return "".join(rects)


def _line(
    chart_id: str, bands: Sequence[str], line: BarLine, text: Callable[[float], str], scale: _Scale
) -> str:
    coords = [(scale.center(i), scale.y(float(v))) for i, v in enumerate(line.values)]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle data-testid="point-{chart_id}" cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
        f'fill="{line.color}"><title>{html.escape(band)} · {html.escape(line.label)}: '
        f"{html.escape(text(float(value)))}</title></circle>"
        for (x, y), band, value in zip(coords, bands, line.values, strict=True)
    )
    return f'<polyline fill="none" stroke="{line.color}" stroke-width="2" points="{points}"/>{dots}'


def _axis(bands: Sequence[str], text: Callable[[float], str], scale: _Scale) -> str:
    lines = []
    for value in sorted({scale.bottom, 0.0, scale.top}):
        y = scale.y(value)
        stroke = "#4a5260" if value == 0 else "#d5d9e0"
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{stroke}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {LABEL_STYLE}>'
            f"{html.escape(text(value))}</text>"
        )
    step = max(1, -(-len(bands) // 13))  # at most 13 month labels fit under the bars
    for index in range(0, len(bands), step):
        lines.append(
            f'<text x="{scale.center(index):.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
            f"{LABEL_STYLE}>{html.escape(bands[index])}</text>"
        )
    return "".join(lines)

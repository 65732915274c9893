"""The metric catalogue: Polar's 55 metric slugs and how each one aggregates.

The facts live once, in `metric_catalogue.csv` beside this module. The emulator, the loader and
dbt (as the seed `polar_metric_catalogue`, a symlink to the same file) all read that file.
"""

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOGUE_PATH = Path(__file__).with_name("metric_catalogue.csv")


@dataclass(frozen=True)
class MetricDefinition:
    """One Polar metric: its type and the rule Polar's `totals` use to aggregate it over time."""

    slug: str
    display_name: str
    type: str  # scalar | currency | currency_sub_cent | percentage (Polar's MetricType)
    unit: str  # count | cents | cents_sub_cent | fraction | ratio
    time_aggregation: str  # sum | last | ratio (label of the rule below)
    total_numerator: str
    total_numerator_agg: str  # sum | last
    total_denominator: str | None
    total_denominator_agg: str | None
    total_cast: str | None  # int | float | None (keep the value's own type)
    org_aggregation: str  # additive | recomputed | polar_all
    description: str
    rise_is: str  # good | bad | neutral: how a rise reads (churn and costs rising are bad)

    def total(self, periods: Sequence[Mapping[str, int | float]]) -> int | float:
        """The value Polar reports in `totals` for these periods (metrics.py get_cumulative)."""
        numerator = _aggregate(periods, self.total_numerator, self.total_numerator_agg)
        if self.total_denominator is not None and self.total_denominator_agg is not None:
            denominator = _aggregate(periods, self.total_denominator, self.total_denominator_agg)
            return numerator / denominator if denominator > 0 else 0.0
        if self.total_cast == "int":
            return int(numerator)
        if self.total_cast == "float":
            return float(numerator)
        return numerator


def _aggregate(periods: Sequence[Mapping[str, int | float]], slug: str, how: str) -> int | float:
    if how == "sum":
        return sum(period.get(slug) or 0 for period in periods)
    if how == "last":
        return (periods[-1].get(slug) or 0) if periods else 0
    raise ValueError(f"unknown aggregation {how!r} in the metric catalogue")


@cache
def metric_catalogue() -> tuple[MetricDefinition, ...]:
    """All metrics in Polar's response order."""
    with CATALOGUE_PATH.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(
        MetricDefinition(
            **{
                key: (value or None) if key.startswith("total_") else value
                for key, value in row.items()
            }
        )
        for row in rows
    )


@cache
def metrics_by_slug() -> dict[str, MetricDefinition]:
    """The catalogue keyed by slug."""
    return {metric.slug: metric for metric in metric_catalogue()}


METRIC_SLUGS: tuple[str, ...] = tuple(metric.slug for metric in metric_catalogue())

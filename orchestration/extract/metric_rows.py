"""The one converter from a Polar metrics answer to `raw.polar_metrics` rows (a DataFrame)."""

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd

from connectors.polar.catalogue import METRIC_SLUGS
from connectors.polar.records import MetricsResponse
from orchestration.warehouse.schema import ALL_SCOPE


def frame_from_response(
    connection_name: str,
    scope_id: str,
    response: MetricsResponse,
    start: date,
    end: date | None = None,
) -> pd.DataFrame:
    """Long rows (`raw.polar_metrics` columns); dates from each period's position.

    Days after `end` (when given) are dropped: Polar answers whole buckets, and a window may end
    before the last one. Built with numpy rather than `melt`: this runs once per organization on
    every refresh.
    """
    periods = response.periods
    if end is not None:
        periods = periods[: max(0, (end - start).days + 1)]
    slugs = list(dict.fromkeys(k for p in periods for k in p if k != "timestamp"))
    values = np.array(
        [[_number(p.get(slug)) for slug in slugs] for p in periods], dtype="float64"
    ).ravel()
    days = np.datetime64(start, "D") + np.arange(len(periods))
    keep = ~np.isnan(values)
    count = int(keep.sum())
    return pd.DataFrame(
        {
            "connection_name": pd.Categorical.from_codes(np.zeros(count, int), [connection_name]),
            "organization_id": pd.Categorical.from_codes(np.zeros(count, int), [scope_id]),
            "date": np.repeat(days, len(slugs))[keep].astype("datetime64[s]"),
            "metric_slug": pd.Categorical.from_codes(
                np.tile(np.arange(len(slugs)), len(periods))[keep], slugs
            ),
            "value": values[keep],
            "fetched_at": pd.Timestamp.now(tz="UTC"),
        }
    )


def zero_frame(connection_name: str, start: date, end: date) -> pd.DataFrame:
    """Zeros for the `all` scope on every catalogue slug and day (zero active organizations)."""
    days = (end - start).days + 1
    zeros = {slug: 0 for slug in METRIC_SLUGS}
    periods = [{"timestamp": str(start + timedelta(days=i)), **zeros} for i in range(days)]
    response = MetricsResponse(periods=periods, totals={}, definitions={})
    return frame_from_response(connection_name, ALL_SCOPE, response, start)


def _number(value: object) -> float:
    """The value as a float; NaN (dropped) for anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)

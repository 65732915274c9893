"""The body of `GET /v1/metrics/`: periods, totals and definitions for a set of organizations."""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np

from connectors.polar_emulator.api.metrics.component_cache import cached_components
from connectors.polar_emulator.api.metrics.compute import RowFilter, subscription_components
from connectors.polar_emulator.api.metrics.compute_orders import (
    checkout_components,
    cost_components,
    order_components,
)
from connectors.polar_emulator.api.metrics.definitions import metric_definitions
from connectors.polar_emulator.api.metrics.derive import metric_series
from connectors.polar_emulator.api.metrics.params import MetricsQuery
from connectors.polar_emulator.api.metrics.window import BucketWindow, bucket_window
from connectors.polar_emulator.business.derived_ids import derived_uuid4
from connectors.polar_emulator.business.organization_factory import business_profile
from connectors.polar_emulator.business.simulation import simulate_organization
from connectors.polar_emulator.business.simulation_model import HISTORY_START, OrganizationHistory
from connectors.polar_emulator.business.world import World


def customer_id(history: OrganizationHistory, index: int) -> str:
    """The UUID of the organization's customer number `index`."""
    return derived_uuid4(history.customer_seed, "customer", index)


def _customer_indexes(history: OrganizationHistory, ids: Sequence[str]) -> np.ndarray:
    if history.customer_index_by_id is None:  # built once, only when someone filters by customer
        history.customer_index_by_id = {
            customer_id(history, index): index for index in range(history.customer_count)
        }
    lookup = history.customer_index_by_id
    return np.array([lookup[value] for value in ids if value in lookup], dtype=np.int64)


def row_filter(history: OrganizationHistory, query: MetricsQuery) -> RowFilter:
    """The product/billing-type and customer filters of the query for one organization."""
    products = None
    if query.product_ids is not None or query.billing_types is not None:
        products = np.array(
            [
                (query.product_ids is None or product.id in query.product_ids)
                and (query.billing_types is None or product.billing_type in query.billing_types)
                for product in history.products
            ]
        )
    customers = None
    if query.customer_ids is not None:
        customers = _customer_indexes(history, query.customer_ids)
    return RowFilter(products=products, customers=customers)


@cache
def _no_history() -> OrganizationHistory:
    """A business that never did anything: what an empty organization list sums to."""
    return simulate_organization(business_profile(0, HISTORY_START, "usd", 0.0), 0.0)


def organization_components(
    history: OrganizationHistory, window: BucketWindow, query: MetricsQuery
) -> dict[str, np.ndarray]:
    """Every additive component of one organization for the query."""
    rows = row_filter(history, query)
    return {
        **subscription_components(history, window, rows),
        **order_components(history, window, rows),
        **checkout_components(history, window, rows),
        **cost_components(history, window, rows),
    }


def _summed_components(
    world: World, org_ids: Sequence[str], window: BucketWindow, query: MetricsQuery, now: datetime
) -> dict[str, np.ndarray]:
    histories = [world.history(org_id, now) for org_id in org_ids] or [_no_history()]
    total: dict[str, np.ndarray] = {}
    for history in histories:
        components = cached_components(
            history, window, query, lambda h=history: organization_components(h, window, query)
        )
        for name, values in components.items():
            total[name] = total[name] + values if name in total else values.astype(np.float64)
    return total


def metrics_body(
    world: World, query: MetricsQuery, org_ids: Sequence[str], now: datetime
) -> dict[str, Any]:
    """Polar's metrics response for these organizations summed (all zeros for none)."""
    window = bucket_window(query.start_date, query.end_date, query.interval, query.timezone, now)
    series = metric_series(_summed_components(world, org_ids, window, query, now))
    wanted = set(query.metrics) if query.metrics else None
    definitions = [m for m in metric_definitions() if wanted is None or m.slug in wanted]
    periods = [
        {"timestamp": timestamp, **{m.slug: series[m.slug][i] for m in definitions}}
        for i, timestamp in enumerate(window.timestamps())
    ]
    # Totals read only the returned slugs. (Polar's service.py also keeps, for the totals, the
    # slugs a post-computed metric depends on, e.g. checkouts for checkouts_conversion.)
    return {
        "periods": periods,
        "totals": {m.slug: m.total(periods) for m in definitions},
        "metrics": {m.slug: m.description() for m in definitions},
    }

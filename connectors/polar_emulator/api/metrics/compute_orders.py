"""Per-organization order, revenue, checkout and cost components for one query."""

import numpy as np

from connectors.polar_emulator.api.metrics.arrays import bucket_index, distinct_per_bucket, flow
from connectors.polar_emulator.api.metrics.compute import RowFilter
from connectors.polar_emulator.api.metrics.window import BucketWindow
from connectors.polar_emulator.business.currency import net_revenue_cents
from connectors.polar_emulator.business.simulation_model import OrganizationHistory


def _net_amounts(history: OrganizationHistory, rows: slice, now: float) -> np.ndarray:
    """Revenue minus Polar's fee and refunds known by now (booked on the ORIGINAL order).

    Refund balance events are net of their share of the fee, so a full refund nets to zero.
    """
    orders = history.orders
    refund = np.where(orders.refunded_at[rows] <= now, orders.refund_usd[rows], 0)
    return net_revenue_cents(orders.amount_usd[rows], orders.fee_usd[rows], refund)


def _revenue_split(
    index: np.ndarray, amount: np.ndarray, net: np.ndarray, chosen: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    picked = index[chosen]
    return (
        np.bincount(picked, minlength=size),
        np.bincount(picked, weights=amount[chosen], minlength=size),
        np.bincount(picked, weights=net[chosen], minlength=size),
    )


def order_components(
    history: OrganizationHistory, window: BucketWindow, rows: RowFilter
) -> dict[str, np.ndarray]:
    """Orders, revenue (gross and net), one-time and new/renewed subscription revenue."""
    orders, subs, size = history.orders, history.subscriptions, window.size
    before = slice(
        0, int(np.searchsorted(orders.time, min(window.start_bound, window.now), "left"))
    )
    lo = int(np.searchsorted(orders.time, window.start_bound, "left"))
    hi = int(np.searchsorted(orders.time, min(window.end_bound, window.now), "right"))
    inside = slice(lo, max(lo, hi))
    keep_before = rows.keep(orders.product[before], orders.customer[before])
    keep = rows.keep(orders.product[inside], orders.customer[inside])
    index = bucket_index(orders.time[inside], window.series_edges)
    keep &= index >= 0
    amount, net = orders.amount_usd[inside], _net_amounts(history, inside, window.now)
    subscription = orders.subscription[inside]
    one_time = subscription < 0
    started = np.where(
        one_time, -2, bucket_index(subs.created[np.maximum(subscription, 0)], window.series_edges)
    )
    new = keep & ~one_time & (started == index)
    renewed = keep & ~one_time & (started != index)
    counts, revenue, net_revenue = _revenue_split(index, amount, net, keep, size)
    one_counts, one_revenue, one_net = _revenue_split(index, amount, net, keep & one_time, size)
    _, new_revenue, new_net = _revenue_split(index, amount, net, new, size)
    _, renewed_revenue, renewed_net = _revenue_split(index, amount, net, renewed, size)
    return {
        "orders": counts,
        "revenue": revenue,
        "net_revenue": net_revenue,
        "revenue_before": np.full(size, float(orders.amount_usd[before][keep_before].sum())),
        "net_revenue_before": np.full(
            size, float(_net_amounts(history, before, window.now)[keep_before].sum())
        ),
        "one_time_products": one_counts,
        "one_time_products_revenue": one_revenue,
        "one_time_products_net_revenue": one_net,
        "new_subscriptions_revenue": new_revenue,
        "new_subscriptions_net_revenue": new_net,
        "renewed_subscriptions": distinct_per_bucket(
            np.where(renewed, index, -1), subscription, size
        ),
        "renewed_subscriptions_revenue": renewed_revenue,
        "renewed_subscriptions_net_revenue": renewed_net,
    }


def checkout_components(
    history: OrganizationHistory, window: BucketWindow, rows: RowFilter
) -> dict[str, np.ndarray]:
    """Checkouts opened per bucket and those that succeeded."""
    checkouts = history.checkouts
    keep = rows.keep(checkouts.product, checkouts.customer)
    opened = checkouts.opened[keep]
    succeeded = checkouts.succeeded[keep]
    return {
        "checkouts": flow(opened, window.flow_edges, window.now),
        "succeeded_checkouts": flow(opened[succeeded], window.flow_edges, window.now),
    }


def cost_components(
    history: OrganizationHistory, window: BucketWindow, rows: RowFilter
) -> dict[str, np.ndarray]:
    """Costs of ingested events, history before the range, and users active by event."""
    events = history.cost_events
    keep = np.ones(events.time.size, dtype=bool)
    if rows.customers is not None:  # cost events carry customers, not products
        keep &= np.isin(events.customer, rows.customers)
    time, cost = events.time[keep], events.cost[keep]
    index = bucket_index(time, window.flow_edges)
    index = np.where(time <= window.now, index, -1)
    earlier = (time < window.start_bound) & (time <= window.now)
    return {
        "costs": flow(time, window.flow_edges, window.now, cost),
        "costs_before": np.full(window.size, float(cost[earlier].sum())),
        "active_user_by_event": distinct_per_bucket(index, events.customer[keep], window.size),
    }

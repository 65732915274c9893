"""Each organization's computed components, reused while nothing happens in that organization.

A multi-organization call sums every organization's components; at 200 organizations computing
them is most of the answer's time. They depend on the query (dates, interval, zone, filters)
and on the clock only through comparisons with the history's instants (an order placed by now,
a cancellation known by now...). So a result stays exact until the clock passes the next instant
of that organization: the cache key holds the clock's position among those instants. Advancing
the business's clock moves that position (or re-simulates the history, a new object with an
empty cache), so nothing stale is ever served.
"""

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from threading import Lock

import numpy as np

from connectors.polar_emulator.api.metrics.params import MetricsQuery
from connectors.polar_emulator.api.metrics.window import BucketWindow
from connectors.polar_emulator.business.simulation_model import OrganizationHistory

ENTRIES_PER_ORGANIZATION = 16  # distinct queries x clock positions kept per organization
_INSTANTS, _COMPONENTS = "metrics.instants", "metrics.components"
_lock = Lock()

Components = dict[str, np.ndarray]


def cached_components(
    history: OrganizationHistory,
    window: BucketWindow,
    query: MetricsQuery,
    compute: Callable[[], Components],
) -> Components:
    """`compute()`'s result for this organization, query and clock position (computed once)."""
    instants = _instants(history)
    clock = (
        int(np.searchsorted(instants, window.now, "left")),
        int(np.searchsorted(instants, window.now, "right")),
    )
    key = (_query_key(query), float(window.start_bound), float(window.end_bound), clock)
    with _lock:
        entries = history.lookups.setdefault(_COMPONENTS, OrderedDict())
        assert isinstance(entries, OrderedDict)
        if key in entries:
            entries.move_to_end(key)
            return entries[key]
    components = compute()
    with _lock:
        entries[key] = components
        while len(entries) > ENTRIES_PER_ORGANIZATION:
            entries.popitem(last=False)
    return components


def _query_key(query: MetricsQuery) -> tuple[object, ...]:
    """What of the query shapes one organization's components (not its metric list)."""
    return (
        query.start_date,
        query.end_date,
        query.interval,
        query.timezone.key,
        tuple(query.product_ids or ()) if query.product_ids is not None else None,
        tuple(query.billing_types or ()) if query.billing_types is not None else None,
        tuple(query.customer_ids or ()) if query.customer_ids is not None else None,
    )


def _instants(history: OrganizationHistory) -> np.ndarray:
    """Every float value of the history's event tables, sorted: the clock's possible thresholds.

    All float columns are taken (amounts too): an extra threshold only costs a cache miss,
    a missing one would serve a stale answer.
    """
    cached = history.lookups.get(_INSTANTS)
    if isinstance(cached, np.ndarray):
        return cached
    tables = (
        history.subscriptions,
        history.orders,
        history.checkouts,
        history.seats,
        history.cost_events,
    )
    columns = [
        values
        for table in tables
        if is_dataclass(table)
        for values in (getattr(table, f.name) for f in fields(table))
        if isinstance(values, np.ndarray) and values.dtype.kind == "f"
    ]
    instants = np.unique(np.concatenate(columns)) if columns else np.empty(0)
    history.lookups[_INSTANTS] = instants
    return instants

"""Entity ids (derived from the organization's seed and each row's stable key) and their indexes.

Ids are UUID4 hashes of (seed, kind, key), where the key survives every extension of the
history: a subscription's index, an order's payment key, a customer's label. The id arrays and
the id -> row dictionaries are built on first use and kept with the history.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from connectors.polar_emulator.business.derived_ids import derived_uuid4
from connectors.polar_emulator.business.simulation_model import OrganizationHistory

T = TypeVar("T")


def cached(history: OrganizationHistory, name: str, build: Callable[[], T]) -> T:
    """A value computed once per history (histories are replaced when they grow)."""
    value = history.lookups.get(name)
    if value is None:
        value = build()
        history.lookups[name] = value
    return value  # type: ignore[return-value]


def _ids(seed: int, kind: str, keys: Sequence[Any]) -> np.ndarray:
    return np.array([derived_uuid4(seed, kind, key) for key in keys], dtype=object)


def subscription_ids(history: OrganizationHistory) -> np.ndarray:
    """Id of every subscription row."""
    count = history.subscriptions.created.size
    return cached(
        history,
        "subscription_ids",
        lambda: _ids(history.customer_seed, "subscription", range(count)),
    )


def order_ids(history: OrganizationHistory) -> np.ndarray:
    """Id of every order row."""
    return cached(
        history,
        "order_ids",
        lambda: _ids(history.customer_seed, "order", history.orders.key.tolist()),
    )


def refund_id(history: OrganizationHistory, order_row: int) -> str:
    """Id of the refund of an order."""
    return derived_uuid4(history.customer_seed, "refund", int(history.orders.key[order_row]))


def checkout_id(history: OrganizationHistory, order_row: int) -> str | None:
    """The checkout an order was paid through: a purchase's or a subscription's first order."""
    orders = history.orders
    subscription = int(orders.subscription[order_row])
    if subscription >= 0:
        if int(orders.cycle[order_row]) != 0:
            return None
        return subscription_checkout_id(history, subscription)
    return derived_uuid4(history.customer_seed, "checkout", int(orders.key[order_row]))


def subscription_checkout_id(history: OrganizationHistory, subscription: int) -> str:
    """The checkout a subscription was bought through."""
    return derived_uuid4(history.customer_seed, "checkout", "subscription", subscription)


def index_of(
    history: OrganizationHistory, name: str, ids: Callable[[], np.ndarray]
) -> dict[str, int]:
    """id -> row of one kind of entity."""
    return cached(history, f"{name}_index", lambda: {value: row for row, value in enumerate(ids())})


def rows_with_ids(
    history: OrganizationHistory, name: str, ids: Callable[[], np.ndarray], wanted: list[str]
) -> np.ndarray:
    """Rows whose id is one of `wanted` (unknown ids match nothing)."""
    lookup = index_of(history, name, ids)
    return np.array(sorted({lookup[value] for value in wanted if value in lookup}), dtype=np.int64)


def mask_of(size: int, rows: np.ndarray) -> np.ndarray:
    """A boolean mask of `size` with `rows` set."""
    mask = np.zeros(size, dtype=bool)
    mask[rows] = True
    return mask


def checkout_rows(history: OrganizationHistory, wanted: list[str]) -> np.ndarray:
    """Order rows paid through these checkouts."""

    def build() -> dict[str, int]:
        first = np.flatnonzero((history.orders.subscription < 0) | (history.orders.cycle == 0))
        return {checkout_id(history, int(row)): int(row) for row in first}  # type: ignore[misc]

    lookup: dict[str, int] = cached(history, "checkout_index", build)
    return np.array(sorted({lookup[value] for value in wanted if value in lookup}), dtype=np.int64)

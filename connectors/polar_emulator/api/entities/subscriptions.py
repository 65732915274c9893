"""`GET /v1/subscriptions/`: filters and sorts of subscription/service.py and repository.py."""

from typing import Any

import numpy as np

from connectors.polar_emulator.api.entities.customer_table import customer_table
from connectors.polar_emulator.api.entities.listing import (
    ListParams,
    Part,
    QueryReader,
    SortKey,
    infinite_is_null,
    micros,
    no_nulls,
)
from connectors.polar_emulator.api.entities.subscription_json import subscriptions_json
from connectors.polar_emulator.business.catalogue import launch_discount
from connectors.polar_emulator.business.simulation_model import (
    CANCELLATION_REASONS,
    YEAR,
    OrganizationHistory,
)
from connectors.polar_emulator.business.timeline import subscription_rows
from connectors.polar_emulator.business.world_model import EmulatedOrganization

SORT_KEYS = (
    "customer",
    "status",
    "started_at",
    "current_period_end",
    "ended_at",
    "ends_at",
    "amount",
    "product",
    "discount",
)
STATUSES = (
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "canceled",
    "unpaid",
    "paused",
)
REASONS = tuple(reason for reason in CANCELLATION_REASONS if reason)
_STATUS_RANK = {"trialing": 3, "active": 4, "canceled": 8}  # active + cancel_at_period_end = 5


class SubscriptionListing:
    """Filters and sort keys of the subscriptions endpoint."""

    sort_keys = SORT_KEYS
    default_sorting = "-started_at"
    scopes = frozenset({"subscriptions:read", "subscriptions:write"})

    def __init__(self, query: QueryReader) -> None:
        self.organization_ids = query.uuids("organization_id")
        self.product_ids = query.uuids("product_id")
        self.customer_ids = query.uuids("customer_id")
        self.external_customer_ids = query.strings("external_customer_id")
        self.discount_ids = query.uuids("discount_id")
        self.active = query.boolean("active")
        self.status = query.choices("status", STATUSES)
        self.cancel_at_period_end = query.boolean("cancel_at_period_end")
        self.reasons = query.choices("customer_cancellation_reason", REASONS)
        self.canceled_after = query.instant("canceled_at_after")
        self.canceled_before = query.instant("canceled_at_before")
        self.started_after = query.instant("started_after")
        self.started_before = query.instant("started_before")
        self.metadata = query.metadata()
        self.params: ListParams = query.list_params(SORT_KEYS, self.default_sorting)

    def rows(
        self, org: EmulatedOrganization, history: OrganizationHistory, now: float
    ) -> np.ndarray:
        """Subscription rows (started by now) passing the filters."""
        subs = history.subscriptions
        rows = np.flatnonzero(subs.created <= now)
        state = subscription_rows(subs, rows, now)
        keep = np.ones(rows.size, dtype=bool)
        if self.product_ids is not None:
            ids = np.array([product.id for product in history.products], dtype=object)
            keep &= np.isin(ids[state.product], self.product_ids)
        if self.customer_ids is not None or self.external_customer_ids is not None:
            keep &= self._customers(org, history)[subs.customer[rows]]
        if self.discount_ids is not None:
            on = launch_discount(org.profile).id in self.discount_ids
            keep &= subs.discounted[rows] & on
        if self.active is not None:
            keep &= (state.status != "canceled") == self.active
        if self.status is not None:
            keep &= np.isin(state.status, self.status)
        if self.cancel_at_period_end is not None:
            keep &= state.at_period_end == self.cancel_at_period_end
        if self.reasons is not None:
            codes = [CANCELLATION_REASONS.index(reason) for reason in self.reasons]
            keep &= np.isfinite(state.canceled) & np.isin(subs.reason[rows], codes)
        if self.canceled_after is not None or self.canceled_before is not None:
            keep &= np.isfinite(state.canceled)  # NULL canceled_at matches no bound
            keep &= _within(state.canceled, self.canceled_after, self.canceled_before, True)
        keep &= _within(subs.created[rows], self.started_after, self.started_before)
        if self.metadata is not None:
            keep &= False  # every subscription's metadata is empty
        return rows[keep]

    def _customers(self, org: EmulatedOrganization, history: OrganizationHistory) -> np.ndarray:
        table = customer_table(org, history)
        wanted = np.ones(table.numbered, dtype=bool)
        if self.customer_ids is not None:
            wanted &= np.isin(table.ids[: table.numbered], self.customer_ids)
        if self.external_customer_ids is not None:
            wanted &= np.isin(table.external_ids[: table.numbered], self.external_customer_ids)
        return wanted

    def keys(self, now: float) -> dict[str, SortKey]:
        """Sort keys by name, as Polar's SQL orders them."""

        def state(part: Part):  # type: ignore[no-untyped-def]
            return subscription_rows(part.history.subscriptions, part.rows, now)

        def customer(part: Part) -> tuple[np.ndarray, np.ndarray]:
            table = customer_table(part.org, part.history)
            return no_nulls(table.emails[part.history.subscriptions.customer[part.rows]])

        def status(part: Part) -> tuple[np.ndarray, np.ndarray]:
            current = state(part)
            ranks = np.select(
                [current.status == name for name in _STATUS_RANK], list(_STATUS_RANK.values())
            )
            return no_nulls(
                np.where((current.status == "active") & current.at_period_end, 5, ranks)
            )

        def amount(part: Part) -> tuple[np.ndarray, np.ndarray]:
            current, interval = state(part), part.history.subscriptions.interval[part.rows]
            return no_nulls(np.where(interval >= YEAR, current.amount // 12, current.amount))

        def product(part: Part) -> tuple[np.ndarray, np.ndarray]:
            names = np.array([p.name for p in part.history.products], dtype=str)
            return no_nulls(names[state(part).product])

        def discount(part: Part) -> tuple[np.ndarray, np.ndarray]:
            on = part.history.subscriptions.discounted[part.rows]
            return np.full(on.size, launch_discount(part.org.profile).name), ~on

        def ended(part: Part) -> tuple[np.ndarray, np.ndarray]:
            current = state(part)
            return infinite_is_null(np.where(current.status == "canceled", current.end, np.inf))

        return {
            "customer": customer,
            "status": status,
            "started_at": lambda part: no_nulls(part.history.subscriptions.created[part.rows]),
            "current_period_end": lambda part: no_nulls(state(part).period_end),
            "ended_at": ended,
            "ends_at": lambda part: infinite_is_null(state(part).end),
            "amount": amount,
            "product": product,
            "discount": discount,
        }

    def render(self, part: Part, rows: np.ndarray, now: float) -> list[dict[str, Any]]:
        """The subscriptions' JSON."""
        return subscriptions_json(part.org, part.history, rows, now)


def _within(
    times: np.ndarray, after: int | None, before: int | None, inclusive: bool = False
) -> np.ndarray:
    keep = np.ones(times.size, dtype=bool)
    times = micros(times)
    if after is not None:
        keep &= (times >= after) if inclusive else (times > after)
    if before is not None:
        keep &= (times <= before) if inclusive else (times < before)
    return keep

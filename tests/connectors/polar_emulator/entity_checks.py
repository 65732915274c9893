"""Helpers for the entity tests: page through an endpoint, and recompute metrics from entities.

The recomputation uses only what a client receives (the entity JSON) plus the documented
conversion rule (business/currency.py, README "Polar emulator"): it is the proof that the
entities and the metrics come from one business.
"""

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import orjson

from connectors.polar_emulator.business.currency import FX_TO_USD_MICROS
from tests.connectors.polar_emulator.polar_schema import validate_page

DAY = timedelta(days=1)


def pages(
    http: httpx.Client, entity: str, validate: bool = False, **params: Any
) -> Iterator[dict[str, Any]]:
    """Every page of an endpoint (limit 100), optionally validated against Polar's models."""
    page = 1
    while True:
        response = http.get(f"/v1/{entity}/", params={**params, "limit": 100, "page": page})
        assert response.status_code == 200, response.text
        body = orjson.loads(response.content)  # pages of ~450 KB: 3x json.loads
        if validate:
            validate_page(entity, body)
        yield body
        if page >= body["pagination"]["max_page"]:
            return
        page += 1


def fetch_all(
    http: httpx.Client, entity: str, validate: bool = False, **params: Any
) -> list[dict[str, Any]]:
    """Every item of an endpoint."""
    return [item for body in pages(http, entity, validate, **params) for item in body["items"]]


def instant(text: str | None) -> datetime | None:
    """A JSON timestamp as an aware datetime."""
    return None if text is None else datetime.fromisoformat(text)


def usd(amount: int, currency: str) -> int:
    """The documented rule: amount x fixed rate (millionths), rounded half up."""
    return (2 * amount * FX_TO_USD_MICROS[currency] + 1_000_000) // 2_000_000


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up (non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def revenue_by_day(orders: list[dict[str, Any]]) -> tuple[dict[date, int], dict[date, int]]:
    """(revenue, net revenue) per UTC day of the orders' creation, in USD cents."""
    revenue: dict[date, int] = defaultdict(int)
    net: dict[date, int] = defaultdict(int)
    for order in orders:
        day = instant(order["created_at"]).date()  # type: ignore[union-attr]
        amount = usd(order["net_amount"], order["currency"])
        after_fee = amount - order["platform_fee_amount"]
        refunded = usd(order["refunded_amount"], order["currency"])
        revenue[day] += amount
        net[day] += after_fee - half_up(after_fee * refunded, max(amount, 1))
    return revenue, net


def _epoch(text: str | None, missing: float) -> float:
    moment = instant(text)
    return missing if moment is None else moment.timestamp()


def subscription_states(
    subscriptions: list[dict[str, Any]], days: list[date]
) -> tuple[dict[date, int], dict[date, int]]:
    """(active_subscriptions, monthly_recurring_revenue) at the end of each UTC day."""
    started = np.array([_epoch(s["started_at"], np.inf) for s in subscriptions])
    end = np.array([_epoch(s["ended_at"] or s["ends_at"], np.inf) for s in subscriptions])
    trial_end = np.array([_epoch(s["trial_end"], -np.inf) for s in subscriptions])
    monthly = np.array(
        [
            half_up(usd(s["amount"], s["currency"]), 12 if s["recurring_interval"] == "year" else 1)
            for s in subscriptions
        ],
        dtype=np.int64,
    )
    at = np.array([datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() for d in days])
    at = at + DAY.total_seconds()
    active_counts, mrr_sums = [], []
    for chunk in np.array_split(at, max(1, at.size // 60)):  # bounded memory
        open_ = (started[:, None] < chunk[None, :]) & (end[:, None] >= chunk[None, :])
        paying = open_ & (trial_end[:, None] < chunk[None, :])
        active_counts.extend(open_.sum(axis=0).tolist())
        mrr_sums.extend((monthly @ paying).tolist())
    return (
        {day: int(v) for day, v in zip(days, active_counts, strict=True)},
        {day: int(v) for day, v in zip(days, mrr_sums, strict=True)},
    )


def metric_days(
    http: httpx.Client, org_id: str, first: date, last: date, slugs: list[str]
) -> dict[date, dict[str, int]]:
    """Daily metric values of one organization from `first` to `last` (366-day calls)."""
    values: dict[date, dict[str, int]] = {}
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=365))
        response = http.get(
            "/v1/metrics/",
            params={
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "interval": "day",
                "organization_id": org_id,
                "metrics": slugs,
            },
        )
        assert response.status_code == 200, response.text
        for offset, period in enumerate(response.json()["periods"]):
            values[start + timedelta(days=offset)] = {slug: period[slug] for slug in slugs}
        start = end + DAY
    return values


def assert_entities_reproduce_metrics(
    http: httpx.Client,
    org_id: str,
    orders: list[dict[str, Any]],
    subscriptions: list[dict[str, Any]],
    first: date,
    last: date,
) -> int:
    """Every day first..last: revenue, net revenue, active subscriptions and MRR agree.

    `orders` must hold every order created in first..last, `subscriptions` every subscription
    of the organization. Gives the number of days compared.
    """
    slugs = ["revenue", "net_revenue", "active_subscriptions", "monthly_recurring_revenue"]
    metrics = metric_days(http, org_id, first, last, slugs)
    revenue, net = revenue_by_day([o for o in orders if o["organization_id_"] == org_id])
    days = sorted(metrics)
    mine = [s for s in subscriptions if s["customer"]["organization_id"] == org_id]
    active, mrr = subscription_states(mine, days)
    for day in days:
        expected = {
            "revenue": revenue.get(day, 0),
            "net_revenue": net.get(day, 0),
            "active_subscriptions": active[day],
            "monthly_recurring_revenue": mrr[day],
        }
        assert metrics[day] == expected, (org_id, day)
    return len(days)


def tag_organization(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Orders carry their organization only inside `customer`/`product`: copy it up."""
    for order in orders:
        order["organization_id_"] = order["customer"]["organization_id"]
    return orders

"""Polar's revenue, net revenue, active subscriptions and MRR of one organization, computed in
Python from its entities as polar-api.md §3.7 defines them: the reference the reconciliation
mart's SQL is checked against (written separately from it, in exact integer arithmetic)."""

import csv
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from orchestration.defs.dbt.project import DBT_PROJECT_DIR
from tests.dbt.raw_fixture import DailyValues
from tests.dbt.synthetic_entities import Business, Item

MONTHLY = {"year": (1, 12), "month": (1, 1), "week": (52, 12), "day": (365, 12)}


def fx_micros() -> dict[str, int]:
    """USD millionths per unit of each currency, from the seed the marts use."""
    with (DBT_PROJECT_DIR / "seeds" / "polar_fx_rates.csv").open() as seed:
        return {
            row["currency"]: int(Decimal(row["usd_per_unit"]) * 1_000_000)
            for row in csv.DictReader(seed)
        }


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up (ties toward +infinity)."""
    return (2 * numerator + denominator) // (2 * denominator)


def usd_cents(amount: int, currency: str) -> int:
    """Minor units of `currency` in USD cents at the seed's fixed rate."""
    return half_up(amount * fx_micros()[currency], 1_000_000)


def monthly_usd_cents(subscription: Item) -> int:
    """Converted first, then normalized to a month, each step rounded half up."""
    times, per = MONTHLY[subscription["recurring_interval"]]
    usd = usd_cents(subscription["amount"], subscription["currency"])
    return half_up(usd * times, per * subscription["recurring_interval_count"])


def order_net_revenue(order: Item) -> int:
    """USD amount less Polar's fee, less the refunded share of the rest."""
    amount = usd_cents(order["net_amount"], order["currency"])
    after_fee = amount - usd_cents(order["platform_fee_amount"], order["platform_fee_currency"])
    refunded = usd_cents(order["refunded_amount"], order["currency"])
    return after_fee - half_up(after_fee * refunded, max(amount, 1))


def local_date(instant: datetime | None, timezone: str) -> date | None:
    """The instant's date in the reporting timezone."""
    return instant.astimezone(ZoneInfo(timezone)).date() if instant else None


def daily_metrics(
    business: Business, days: Iterable[date], timezone: str
) -> dict[date, DailyValues]:
    """Polar's values of the organization, day by day."""
    return {day: _day(business, day, timezone) for day in days}


def _day(business: Business, day: date, timezone: str) -> DailyValues:
    paid = [
        o for o in business.orders if o["paid"] and local_date(o["created_at"], timezone) == day
    ]
    active = [s for s in business.subscriptions if _active(s, day, timezone)]
    paying = [s for s in active if (local_date(s["trial_end"], timezone) or day) <= day]
    return {
        "orders": len(paid),
        "revenue": sum(usd_cents(o["net_amount"], o["currency"]) for o in paid),
        "net_revenue": sum(order_net_revenue(o) for o in paid),
        "active_subscriptions": len(active),
        "monthly_recurring_revenue": sum(monthly_usd_cents(s) for s in paying),
    }


def _active(subscription: Item, day: date, timezone: str) -> bool:
    started = local_date(subscription["started_at"], timezone)
    ends = local_date(subscription["ended_at"] or subscription["ends_at"], timezone)
    return (started is None or started <= day) and (ends is None or ends > day)

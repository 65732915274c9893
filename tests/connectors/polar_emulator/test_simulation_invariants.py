"""The simulation's numbers agree with each other, over several seeds, and are deterministic."""

import math
from datetime import timedelta

import numpy as np
import pytest

from connectors.polar_emulator.business.simulation_model import CANCELLATION_REASONS
from connectors.polar_emulator.business.timeline import subscriptions_at
from tests.connectors.polar_emulator.sim_fixtures import FIXED_NOW, TODAY, api_session, daily_window

SEEDS = (1, 7, 42, 2024)
REASON_SLUGS = ["canceled_subscriptions_other"] + [
    f"canceled_subscriptions_{reason}"
    for reason in CANCELLATION_REASONS
    if reason not in ("", "other")
]


def _year_of_days(api) -> list[dict]:
    """A full year of daily periods over every organization of the default scenario."""
    return api.metrics_ok(**daily_window(366))["periods"]


def _check_subscription_invariants(p: dict) -> None:
    assert p["annual_recurring_revenue"] == 12 * p["monthly_recurring_revenue"]
    assert p["committed_annual_recurring_revenue"] == 12 * p["committed_monthly_recurring_revenue"]
    assert 0 <= p["committed_subscriptions"] <= p["active_subscriptions"]
    assert 0 <= p["committed_monthly_recurring_revenue"] <= p["monthly_recurring_revenue"]
    assert p["trial_committed_monthly_recurring_revenue"] <= p["trial_monthly_recurring_revenue"]
    assert 0.0 <= p["churn_rate"] <= 1.0
    assert p["canceled_subscriptions"] == sum(p[slug] for slug in REASON_SLUGS)
    assert p["seats_pending"] == p["seats_total"] - p["seats_claimed"] >= 0
    assert 0.0 <= p["seat_utilization_rate"] <= 1.0


def _check_revenue_invariants(p: dict) -> None:
    assert p["net_revenue"] <= p["revenue"]
    assert p["revenue"] == (
        p["one_time_products_revenue"]
        + p["new_subscriptions_revenue"]
        + p["renewed_subscriptions_revenue"]
    )
    assert p["succeeded_checkouts"] <= p["checkouts"]
    conversion = p["succeeded_checkouts"] / p["checkouts"] if p["checkouts"] else 0.0
    assert p["checkouts_conversion"] == pytest.approx(conversion)
    orders = p["orders"]
    assert p["average_order_value"] == (math.ceil(p["revenue"] / orders) if orders else 0)
    assert p["cashflow"] == round(p["revenue"] - p["costs"])
    assert p["gross_margin"] == round(p["cumulative_revenue"] - p["cumulative_costs"])


def _check_lifetime_value(p: dict) -> None:
    if p["churn_rate"] == 0:
        assert p["ltv"] == 0
    else:
        margin = p["average_revenue_per_user"] - p["cost_per_user"]
        assert p["ltv"] == max(0, int(margin / p["churn_rate"]))


@pytest.mark.parametrize("seed", SEEDS)
def test_metrics_agree_with_each_other_every_day_of_a_year(start_emulator, seed):
    with api_session(start_emulator, seed=seed) as api:
        periods = _year_of_days(api)
    assert len(periods) == 366
    for period in periods:
        _check_subscription_invariants(period)
        _check_revenue_invariants(period)
        _check_lifetime_value(period)
    for slug in ("cumulative_revenue", "cumulative_costs", "net_cumulative_revenue"):
        assert np.all(np.diff([p[slug] for p in periods]) >= 0), slug
    assert sum(p["canceled_subscriptions"] for p in periods) > 0
    assert all(sum(p[slug] for p in periods) > 0 for slug in REASON_SLUGS)


def test_mrr_is_the_rounded_monthly_amount_of_active_paying_subscriptions(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        org_id = api.visible_ids()[0]
        day = api.metrics_ok(**daily_window(1))["periods"][-1]
        subs = api.world.history(org_id, FIXED_NOW).subscriptions
    end_of_today = FIXED_NOW.replace(hour=0, minute=0, second=0) + timedelta(days=1)
    at, now = end_of_today.timestamp(), FIXED_NOW.timestamp()
    current = subscriptions_at(subs, now)  # reactivations undone, upgrades applied by now
    exists = subs.created <= now
    end = current.end
    active = exists & (subs.created < at) & (end >= at)
    paying = active & (subs.paid_from < at)
    monthly = current.monthly_usd
    assert day["active_subscriptions"] == int(active.sum())
    assert day["monthly_recurring_revenue"] == int(monthly[paying].sum())
    assert day["trial_monthly_recurring_revenue"] == int(monthly[active & ~paying].sum())
    assert day["committed_subscriptions"] == int((active & np.isinf(end)).sum())


def test_same_seed_gives_the_same_numbers_and_another_seed_different_ones(start_emulator):
    window = {"start_date": "2023-01-01", "end_date": TODAY.isoformat(), "interval": "month"}
    bodies = []
    for seed in (5, 5, 6):
        with api_session(start_emulator, scenario="single", seed=seed) as api:
            bodies.append(api.metrics_ok(**window))
    assert bodies[0] == bodies[1]
    assert bodies[0]["totals"]["revenue"] != bodies[2]["totals"]["revenue"]


def test_the_past_stays_put_when_the_clock_moves_on(start_emulator):
    window = {"start_date": "2024-01-01", "end_date": "2024-12-31", "interval": "month"}
    later = FIXED_NOW + timedelta(days=75)  # beyond the first simulated horizon
    with api_session(start_emulator, scenario="single") as api:
        before = api.metrics_ok(**window)
        today_then = api.metrics_ok(**daily_window(1))
    with api_session(start_emulator, scenario="single", now=later) as api:
        after = api.metrics_ok(**window)
        same_day_later = api.metrics_ok(**daily_window(1))
    # Polar reads "committed" from each subscription's CURRENT ends_at, so cancellations learnt
    # since can only lower those series; everything else about 2024 is settled.
    committed = {slug for slug in before["totals"] if "committed" in slug}
    for old, new in zip(before["periods"], after["periods"], strict=True):
        assert {k: v for k, v in old.items() if k not in committed} == {
            k: v for k, v in new.items() if k not in committed
        }
        assert all(new[slug] <= old[slug] for slug in committed)
    # the day that was "today" has finished by then: it can only have grown
    assert same_day_later["totals"]["orders"] >= today_then["totals"]["orders"]

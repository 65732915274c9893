"""`POST /__emulator__/clock`: days of business happen between two syncs, metrics follow.

After advancing 1, 7 and 40 days: new orders, subscriptions and refunds appear; existing
orders get refunded, subscriptions canceled, un-canceled (reactivated) and upgraded; and the
entities still reproduce revenue, net revenue, active subscriptions and MRR day by day.
"""

from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.connectors.polar_emulator.entity_checks import (
    assert_entities_reproduce_metrics,
    fetch_all,
    tag_organization,
)
from tests.connectors.polar_emulator.sim_fixtures import FIXED_NOW, api_session

RECENT = timedelta(days=45)  # orders older than this cannot change any more (refunds <= 21 d)


def _snapshot(http: httpx.Client) -> dict[str, dict[str, dict[str, Any]]]:
    since = (FIXED_NOW - RECENT).isoformat()
    return {
        "orders": {
            o["id"]: o for o in tag_organization(fetch_all(http, "orders", created_after=since))
        },
        "subscriptions": {s["id"]: s for s in fetch_all(http, "subscriptions")},
        "refunds": {r["id"]: r for r in fetch_all(http, "refunds")},
    }


def _changes(before: dict, after: dict) -> dict[str, int]:
    subs_before, subs_after = before["subscriptions"], after["subscriptions"]
    kept = [(subs_before[i], subs_after[i]) for i in subs_before]
    orders_before, orders_after = before["orders"], after["orders"]
    return {
        "new_orders": len(set(orders_after) - set(orders_before)),
        "new_subscriptions": len(set(subs_after) - set(subs_before)),
        "new_refunds": len(set(after["refunds"]) - set(before["refunds"])),
        "refunded": sum(
            orders_before[i]["status"] == "paid" and orders_after[i]["status"] != "paid"
            for i in orders_before
            if i in orders_after
        ),
        "canceled": sum(b["canceled_at"] is None and a["canceled_at"] is not None for b, a in kept),
        "reactivated": sum(
            b["canceled_at"] is not None and a["canceled_at"] is None for b, a in kept
        ),
        "upgraded": sum(b["product_id"] != a["product_id"] for b, a in kept),
        "ended": sum(b["status"] != "canceled" and a["status"] == "canceled" for b, a in kept),
    }


def _advance(http: httpx.Client, days: int) -> datetime:
    response = http.post("/__emulator__/clock", json={"advance_days": days})
    assert response.status_code == 200, response.text
    return datetime.fromisoformat(response.json()["now"])


@pytest.mark.timeout(900)  # four snapshots of `default` (demo has no reactivation in 48 days)
def test_advancing_the_clock_changes_entities_and_metrics_follow(start_emulator):
    with api_session(start_emulator) as api:
        orgs = [o for o in api.organizations().json()["items"] if o["status"] == "active"]
        now = FIXED_NOW
        before = _snapshot(api.http)
        totals: dict[str, int] = {}
        for days in (1, 7, 40):
            now = _advance(api.http, days)
            after = _snapshot(api.http)
            changes = _changes(before, after)
            assert changes["new_orders"] > 0 and changes["new_subscriptions"] > 0, (days, changes)
            for key, value in changes.items():
                totals[key] = totals.get(key, 0) + value
            for org in orgs:  # every day since the first snapshot's window, up to the new today
                assert_entities_reproduce_metrics(
                    api.http,
                    org["id"],
                    list(after["orders"].values()),
                    list(after["subscriptions"].values()),
                    (FIXED_NOW - RECENT + timedelta(days=1)).date(),
                    now.date(),
                )
            before = after
        clock = api.http.get("/__emulator__/clock").json()
    assert clock["advanced_days"] == 48 and now.date() == date(2027, 1, 15)
    for kind in ("new_refunds", "refunded", "canceled", "reactivated", "upgraded", "ended"):
        assert totals[kind] > 0, (kind, totals)


def test_the_clock_refuses_bad_bodies_and_leaves_tokens_alone(start_emulator):
    with api_session(start_emulator, scenario="many", orgs=1) as api:
        bad = api.http.post("/__emulator__/clock", json={"advance_days": -1})
        unknown = api.http.post("/__emulator__/clock", json={"days": 3})
        _advance(api.http, 400)  # far beyond the 10-day access token lifetime
        still = api.http.get("/v1/products/")
    assert bad.status_code == 400 and unknown.status_code == 400
    assert still.status_code == 200

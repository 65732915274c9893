"""`PATCH /__emulator__/subscriptions/{id} {"amount": N}`: a price or seat change as Polar
reports it. The subscription shows the new amount and modified_at = now; Polar's MRR (computed
from the subscriptions, at their current amount) moves by exactly the monthly difference on
every day, past ones too (Polar restates them); later renewals charge the new amount; and the
control path refuses what Polar could not do."""

from datetime import timedelta

from tests.connectors.polar_emulator.entity_checks import fetch_all
from tests.connectors.polar_emulator.sim_fixtures import (
    FIXED_NOW,
    ApiSession,
    api_session,
    daily_window,
)

WINDOW_START = (FIXED_NOW - timedelta(days=8)).isoformat()
MORE = 1000  # cents added to a monthly USD subscription: its MRR grows by exactly this
CHANGED = 5


def _mrr_by_day(api: ApiSession, organization_id: str) -> dict[str, int]:
    body = api.metrics_ok(
        organization_id=organization_id, metrics="monthly_recurring_revenue", **daily_window(5)
    )
    return {row["timestamp"][:10]: row["monthly_recurring_revenue"] for row in body["periods"]}


def test_an_amount_change_shows_in_the_entity_the_mrr_and_later_renewals(start_emulator):
    with api_session(start_emulator, scenario="demo") as api:
        usd_org = next(
            o
            for o in api.organizations().json()["items"]
            if o["default_presentment_currency"] == "usd"
        )
        chosen = [
            s
            for s in fetch_all(api.http, "subscriptions", organization_id=usd_org["id"])
            if s["status"] == "active"
            and max(s["started_at"], s["trial_end"] or "") < WINDOW_START  # paid all window
            and s["ends_at"] is None
            and s["currency"] == "usd"
            and s["recurring_interval"] == "month"
            and s["recurring_interval_count"] == 1
        ][:CHANGED]
        mrr_before = _mrr_by_day(api, usd_org["id"])

        for subscription in chosen:
            changed = api.http.patch(
                f"/__emulator__/subscriptions/{subscription['id']}",
                json={"amount": subscription["amount"] + MORE},
            )
            assert changed.status_code == 200, changed.text
            assert changed.json()["organization_id"] == usd_org["id"]

        new_amounts = {s["id"]: s["amount"] + MORE for s in chosen}
        after = {
            s["id"]: s for s in fetch_all(api.http, "subscriptions", organization_id=usd_org["id"])
        }
        assert {i: after[i]["amount"] for i in new_amounts} == new_amounts
        assert {after[i]["modified_at"] for i in new_amounts} == {
            FIXED_NOW.isoformat().replace("+00:00", "Z")
        }
        mrr_after = _mrr_by_day(api, usd_org["id"])
        assert {day: mrr_after[day] - mrr_before[day] for day in mrr_before} == {
            day: CHANGED * MORE for day in mrr_before
        }  # every day, yesterday and before too: Polar values them at the current amount

        assert api.http.post("/__emulator__/clock", json={"advance_days": 35}).status_code == 200
        renewals = [
            order
            for order in fetch_all(
                api.http,
                "orders",
                organization_id=usd_org["id"],
                created_after=FIXED_NOW.isoformat(),
            )
            if order["subscription_id"] in new_amounts
        ]
        assert renewals  # (a subscription the simulation cancels later has none)
        assert all(o["net_amount"] == new_amounts[o["subscription_id"]] for o in renewals)


def test_the_control_path_refuses_unknown_ended_and_invalid_changes(start_emulator):
    with api_session(start_emulator, scenario="demo") as api:
        subscriptions = fetch_all(api.http, "subscriptions")
        ended = next(s for s in subscriptions if s["status"] == "canceled")
        running = next(s for s in subscriptions if s["status"] == "active")

        unknown = api.http.patch(
            "/__emulator__/subscriptions/00000000-0000-4000-8000-000000000000", json={"amount": 1}
        )
        stopped = api.http.patch(f"/__emulator__/subscriptions/{ended['id']}", json={"amount": 1})
        negative = api.http.patch(
            f"/__emulator__/subscriptions/{running['id']}", json={"amount": -5}
        )
        extra = api.http.patch(
            f"/__emulator__/subscriptions/{running['id']}", json={"amount": 5, "seats": 2}
        )

        assert unknown.status_code == 404
        assert stopped.status_code == 400 and "not running" in stopped.json()["detail"]
        assert negative.status_code == 400 and "'amount'" in negative.json()["detail"]
        assert extra.status_code == 400 and "seats" in extra.json()["detail"]
        # Nothing changed: the running subscription keeps its amount.
        again = {s["id"]: s for s in fetch_all(api.http, "subscriptions")}
        assert again[running["id"]]["amount"] == running["amount"]

"""Every filter and every `sorting` key of the five entity endpoints, against a full download.

One small organization (`many`, 1 organization) is downloaded once; each filter's answer must
be exactly the downloaded items the filter describes (Polar's SQL semantics: `>`/`<` for
created/started bounds, `>=`/`<=` for canceled_at bounds), each sort key must order pages with
Postgres NULL placement (ascending: NULLs last; descending: NULLs first).
"""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.server import run_emulator
from tests.connectors.polar_emulator.entity_checks import fetch_all, instant
from tests.connectors.polar_emulator.sim_fixtures import FIXED_NOW, NINE_SCOPES, access_token

Item = dict[str, Any]
SUB_STATUS = {"trialing": 3, "active": 4, "canceled": 8}
ORDER_STATUS = {"paid": 3, "partially_refunded": 4, "refunded": 5}


def _sub_status(s: Item) -> int:
    return 5 if s["status"] == "active" and s["cancel_at_period_end"] else SUB_STATUS[s["status"]]


SORT_VALUES: dict[str, dict[str, Callable[[Item], Any]]] = {
    "orders": {
        "created_at": lambda o: o["created_at"],
        "status": lambda o: ORDER_STATUS[o["status"]],
        "invoice_number": lambda o: o["invoice_number"],
        "amount": lambda o: o["net_amount"],
        "net_amount": lambda o: o["net_amount"],
        "customer": lambda o: o["customer"]["email"],
        "product": lambda o: o["product"]["name"],
        "discount": lambda o: o["discount"] and o["discount"]["name"],
        "subscription": lambda o: o["subscription_id"],
    },
    "subscriptions": {
        "customer": lambda s: s["customer"]["email"],
        "status": _sub_status,
        "started_at": lambda s: s["started_at"],
        "current_period_end": lambda s: s["current_period_end"],
        "ended_at": lambda s: s["ended_at"],
        "ends_at": lambda s: s["ends_at"],
        "amount": lambda s: s["amount"] // 12 if s["recurring_interval"] == "year" else s["amount"],
        "product": lambda s: s["product"]["name"],
        "discount": lambda s: s["discount"] and s["discount"]["name"],
    },
    "customers": {
        "created_at": lambda c: c["created_at"],
        "email": lambda c: c["email"],
        "name": lambda c: c["name"],
    },
    "products": {
        "created_at": lambda p: p["created_at"],
        "name": lambda p: p["name"],
        "price_amount_type": lambda p: 2 if p["prices"][0]["amount_type"] == "fixed" else None,
        "price_amount": lambda p: p["prices"][0].get("price_amount"),
    },
    "refunds": {"created_at": lambda r: r["created_at"], "amount": lambda r: r["amount"]},
}


@pytest.fixture(scope="module")
def small() -> Iterator[tuple[httpx.Client, dict[str, list[Item]]]]:
    config = EmulatorConfig(
        scenario="many", orgs=1, now=FIXED_NOW, auto_approve=True, rate_limit_per_minute=None
    )
    with (
        run_emulator(config) as running,
        httpx.Client(base_url=running.base_url, timeout=60) as http,
    ):
        http.headers["Authorization"] = f"Bearer {access_token(http, running, NINE_SCOPES)}"
        yield http, {entity: fetch_all(http, entity) for entity in SORT_VALUES}


def _ordered(values: list[Any], descending: bool) -> bool:
    present = [v for v in values if v is not None]
    nulls = [v is None for v in values]
    if descending:  # NULLs first
        return nulls == sorted(nulls, reverse=True) and present == sorted(present, reverse=True)
    return nulls == sorted(nulls) and present == sorted(present)


@pytest.mark.parametrize(
    ("entity", "key"), [(e, k) for e, keys in SORT_VALUES.items() for k in keys]
)
def test_every_sorting_key_orders_ascending_and_descending(small, entity, key):
    http, everything = small
    value = SORT_VALUES[entity][key]
    total = len(everything[entity])
    for descending in (False, True):
        sorting = f"-{key}" if descending else key
        first = http.get(f"/v1/{entity}/", params={"sorting": sorting, "limit": 100}).json()
        last_page = first["pagination"]["max_page"]
        last = http.get(
            f"/v1/{entity}/", params={"sorting": sorting, "limit": 100, "page": last_page}
        ).json()
        for body in (first, last):
            assert body["pagination"]["total_count"] == total
            assert _ordered([value(item) for item in body["items"]], descending), (key, descending)


def test_several_sorting_criteria_apply_in_order(small):
    http, _ = small
    items = http.get(
        "/v1/orders/", params={"sorting": ["product", "-created_at"], "limit": 100}
    ).json()["items"]
    pairs = [(o["product"]["name"], o["created_at"]) for o in items]
    assert pairs == sorted(pairs, key=lambda p: (p[0], [-ord(c) for c in p[1]]))


def _ids(items: list[Item]) -> list[str]:
    return sorted(item["id"] for item in items)


def _pick(items: list[Item], predicate: Callable[[Item], bool]) -> list[str]:
    return _ids([item for item in items if predicate(item)])


def test_order_filters(small):
    http, every = small
    orders = every["orders"]
    refunded = next(o for o in orders if o["status"] == "partially_refunded")
    renewal = next(o for o in orders if o["billing_reason"] == "subscription_cycle")
    discounted = next(o for o in orders if o["discount_id"])
    buyer = next(o for o in orders if o["customer"]["external_id"])["customer"]
    middle = instant(orders[len(orders) // 2]["created_at"])
    after, before = (middle - timedelta(days=20)).isoformat(), middle.isoformat()  # type: ignore[operator]
    cases = {
        "customer_id": (buyer["id"], lambda o: o["customer_id"] == buyer["id"]),
        "external_customer_id": (buyer["external_id"], lambda o: o["customer_id"] == buyer["id"]),
        "product_id": (renewal["product_id"], lambda o: o["product_id"] == renewal["product_id"]),
        "subscription_id": (
            renewal["subscription_id"],
            lambda o: o["subscription_id"] == renewal["subscription_id"],
        ),
        "status": (["partially_refunded", "refunded"], lambda o: o["status"] != "paid"),
        "product_billing_type": ("one_time", lambda o: o["subscription_id"] is None),
        "discount_id": (discounted["discount_id"], lambda o: o["discount_id"] is not None),
        "checkout_id": (refunded["checkout_id"] or discounted["checkout_id"], None),
    }
    for name, (value, predicate) in cases.items():
        got = _ids(fetch_all(http, "orders", **{name: value}))
        if predicate is None:
            assert len(got) == 1, name
            continue
        assert got == _pick(orders, predicate), name
    window = _ids(fetch_all(http, "orders", created_after=after, created_before=before))
    assert window == _pick(
        orders, lambda o: after < o["created_at"].replace("Z", "+00:00") < before
    )
    assert window


def test_subscription_filters(small):
    http, every = small
    subs = every["subscriptions"]
    canceled = [s for s in subs if s["canceled_at"]]
    middle = instant(canceled[len(canceled) // 2]["canceled_at"])
    low, high = (middle - timedelta(days=60)).isoformat(), middle.isoformat()  # type: ignore[operator]
    someone = subs[len(subs) // 2]
    reason = next(s for s in subs if s["customer_cancellation_reason"])[
        "customer_cancellation_reason"
    ]

    def between(text: str | None, lo: str, hi: str, inclusive: bool) -> bool:
        if text is None:
            return False
        at = datetime.fromisoformat(text)
        lo_at, hi_at = datetime.fromisoformat(lo), datetime.fromisoformat(hi)
        return lo_at <= at <= hi_at if inclusive else lo_at < at < hi_at

    cases = {
        (("status", ("trialing",)),): lambda s: s["status"] == "trialing",
        (("status", ("active", "canceled")),): lambda s: s["status"] != "trialing",
        (("active", "true"),): lambda s: s["status"] != "canceled",
        (("active", "false"),): lambda s: s["status"] == "canceled",
        (("cancel_at_period_end", "true"),): lambda s: s["cancel_at_period_end"],
        (("customer_id", someone["customer_id"]),): lambda s: (
            s["customer_id"] == someone["customer_id"]
        ),
        (("product_id", someone["product_id"]),): lambda s: (
            s["product_id"] == someone["product_id"]
        ),
        (("customer_cancellation_reason", reason),): lambda s: (
            s["customer_cancellation_reason"] == reason
        ),
        (("canceled_at_after", low), ("canceled_at_before", high)): lambda s: between(
            s["canceled_at"], low, high, True
        ),
        (("started_after", low), ("started_before", high)): lambda s: between(
            s["started_at"], low, high, False
        ),
    }
    for params, predicate in cases.items():
        got = _ids(
            fetch_all(
                http,
                "subscriptions",
                **{k: list(v) if isinstance(v, tuple) else v for k, v in params},
            )
        )
        assert got == _pick(subs, predicate), params
        assert got, params


def test_customer_product_and_refund_filters(small):
    http, every = small
    customers, products, refunds = every["customers"], every["products"], every["refunds"]
    someone = customers[7]
    active = {s["customer_id"] for s in every["subscriptions"] if s["status"] != "canceled"}
    assert _ids(fetch_all(http, "customers", email=someone["email"].upper())) == [someone["id"]]
    part = someone["name"].split()[1].lower()
    assert _ids(fetch_all(http, "customers", query=part)) == _pick(
        customers, lambda c: part in c["name"].lower() or part in c["email"]
    )
    assert _ids(fetch_all(http, "customers", active="true")) == _pick(
        customers, lambda c: c["id"] in active
    )
    assert _ids(fetch_all(http, "products", is_archived="true")) == _pick(
        products, lambda p: p["is_archived"]
    )
    assert _ids(fetch_all(http, "products", is_recurring="false")) == _pick(
        products, lambda p: not p["is_recurring"]
    )
    assert _ids(fetch_all(http, "products", query="pro")) == _pick(
        products, lambda p: "pro" in p["name"].lower()
    )
    assert _ids(fetch_all(http, "products", id=products[0]["id"])) == [products[0]["id"]]
    refund = refunds[0]
    assert _ids(fetch_all(http, "refunds", order_id=refund["order_id"])) == [refund["id"]]
    assert _ids(fetch_all(http, "refunds", id=refund["id"])) == [refund["id"]]
    assert _ids(fetch_all(http, "refunds", customer_id=refund["customer_id"])) == _pick(
        refunds, lambda r: r["customer_id"] == refund["customer_id"]
    )
    assert _ids(fetch_all(http, "refunds", succeeded="true")) == _ids(refunds)
    assert fetch_all(http, "refunds", succeeded="false") == []


def test_bad_filter_values_are_reported_together(small):
    http, _ = small
    response = http.get(
        "/v1/subscriptions/",
        params={
            "status": "gone",
            "started_after": "yesterday",
            "active": "maybe",
            "customer_id": "x",
        },
    )
    assert response.status_code == 422
    types = {item["loc"][1]: item["type"] for item in response.json()["detail"]}
    assert types == {
        "customer_id": "uuid_parsing",
        "active": "bool_parsing",
        "status": "enum",
        "started_after": "datetime_from_date_parsing",
    }

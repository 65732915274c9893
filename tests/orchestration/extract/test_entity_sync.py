"""Entity syncs against a fake Polar over loopback into a real DuckDB file: complete first sync,
items arriving while pages are read, incremental equal to a full re-sync, resume after a crash."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from orchestration.extract.entities import EntityProgress
from orchestration.extract.entity_run import SyncPolicy
from tests.fake_polar.fixtures import FakePolar, fake_polar, seeded_world
from tests.orchestration.extract.entity_helpers import (
    ENTITIES,
    listed_ids,
    rows,
    snapshot,
    stored_ids,
)


@pytest.fixture
def fake() -> Iterator[FakePolar]:
    """Two organizations (usd, eur), 120 days of business: several pages of most entities."""
    with fake_polar(seeded_world(organizations=2, days=120)) as served:
        yield served


def test_first_sync_stores_every_listed_item_of_every_entity_once(
    fake: FakePolar, tmp_path: Path
) -> None:
    outcomes = fake.sync(tmp_path / "w.duckdb")
    for entity in ENTITIES:
        assert stored_ids(tmp_path / "w.duckdb", entity) == listed_ids(fake.world, entity)
        assert {o.status for o in outcomes[entity].organizations} == {"ok"}
        assert outcomes[entity].drift == {"new": [], "missing": []}
    state = rows(
        tmp_path / "w.duckdb",
        "select entity, count(*), count(cursor_at), count(resume), sum(requests_total) "
        "from raw.polar_entity_sync where last_status = 'ok' group by 1 order by 1",
    )
    assert [(e, n, c, r) for e, n, c, r, _ in state] == [(e, 2, 2, 0) for e in sorted(ENTITIES)]
    spent = {entity: outcome.requests for entity, outcome in outcomes.items()}
    assert spent == {e: s for e, _, _, _, s in state}
    assert spent == {entity: len(fake.requests(entity)) for entity in ENTITIES}


def test_typed_columns_follow_the_json_item(fake: FakePolar, tmp_path: Path) -> None:
    fake.sync(tmp_path / "w.duckdb")
    org = next(iter(fake.world.organizations.values()))
    order = next(o for o in org.orders.values() if o["subscription_id"])
    stored = rows(
        tmp_path / "w.duckdb",
        "select net_amount, tax_amount, currency, billing_reason, status, subscription_id, "
        "billing_country, json_extract_string(item, '$.invoice_number'), "
        "typeof(net_amount), organization_id from raw.polar_orders where id = ?",
        [order["id"]],
    )
    assert stored == [
        (order["net_amount"], order["tax_amount"], order["currency"], order["billing_reason"],
         order["status"], order["subscription_id"], "FR", order["invoice_number"], "BIGINT",
         org.id),
    ]  # fmt: skip


def test_items_created_while_the_sync_pages_never_hide_an_existing_item(
    fake: FakePolar, tmp_path: Path
) -> None:
    before = {entity: listed_ids(fake.world, entity) for entity in ENTITIES}
    org = next(iter(fake.world.organizations.values()))

    def business_between_pages(entity: str, params: dict[str, list[str]]) -> None:
        with fake.world.lock:  # new items get the newest timestamps, as at Polar
            customer = fake.world.add_customer(org)
            product = next(p for p in org.products.values() if p["is_recurring"])
            fake.world.subscribe(org, customer, product)
            fake.world.refund(org, next(o for o in org.orders.values() if o["status"] == "paid"))

    fake.world.before_page = business_between_pages
    fake.sync(tmp_path / "w.duckdb")
    fake.world.before_page = None
    for entity in ENTITIES:
        assert before[entity] <= stored_ids(tmp_path / "w.duckdb", entity), entity
    assert len(listed_ids(fake.world, "orders")) > len(before["orders"])  # it did add items
    fake.sync(tmp_path / "w.duckdb")  # the next sync has the ones that came after each read
    for entity in ENTITIES:
        assert stored_ids(tmp_path / "w.duckdb", entity) == listed_ids(fake.world, entity)


def test_a_customer_deleted_while_the_sweep_pages_shifts_no_one_out(
    fake: FakePolar, tmp_path: Path
) -> None:
    org = next(iter(fake.world.organizations.values()))
    oldest = sorted(org.customers.values(), key=lambda c: c["created_at"])
    deleted: list[str] = []

    def delete_before_page_two(entity: str, params: dict[str, list[str]]) -> None:
        if entity == "customers" and params.get("page") == ["2"] and not deleted:
            deleted.append(oldest[0]["id"])  # on page 1: page 2 would start one item later
            fake.world.delete_customer(org, oldest[0]["id"])

    fake.world.before_page = delete_before_page_two
    fake.sync(tmp_path / "w.duckdb", ["customers"])
    assert deleted and oldest[100]["id"] in stored_ids(tmp_path / "w.duckdb", "customers")
    assert listed_ids(fake.world, "customers") <= stored_ids(tmp_path / "w.duckdb", "customers")
    probes = [p for p in fake.requests("customers") if p["limit"] == ["1"]]
    assert probes, "page boundaries are probed"


def test_customers_deleted_before_the_last_page_cannot_empty_it_unnoticed(
    fake: FakePolar, tmp_path: Path
) -> None:
    org = next(iter(fake.world.organizations.values()))
    oldest = sorted(org.customers.values(), key=lambda c: c["created_at"])
    last_page = [c["id"] for c in oldest[200:]]
    assert 0 < len(last_page) <= 100

    def delete_before_the_last_page(entity: str, params: dict[str, list[str]]) -> None:
        if entity == "customers" and params.get("page") == ["3"] and not oldest[0]["deleted_at"]:
            for customer in oldest[: len(last_page)]:  # the last page's items move to page 2
                fake.world.delete_customer(org, customer["id"])

    fake.world.before_page = delete_before_the_last_page
    fake.sync(tmp_path / "w.duckdb", ["customers"])
    assert set(last_page) <= stored_ids(tmp_path / "w.duckdb", "customers")


def test_equal_timestamps_across_a_page_boundary_are_read_as_a_group(
    fake: FakePolar, tmp_path: Path
) -> None:
    org = next(iter(fake.world.organizations.values()))
    ordered = sorted(org.orders.values(), key=lambda o: o["created_at"])
    ordered[100]["created_at"] = ordered[99]["created_at"]  # a tie straddling pages 1 and 2
    fake.world.unstable_ties = True  # and Polar orders ties differently on each request
    fake.sync(tmp_path / "w.duckdb", ["orders"])
    assert {ordered[99]["id"], ordered[100]["id"]} <= stored_ids(tmp_path / "w.duckdb", "orders")
    assert any("created_before" in p for p in fake.requests("orders"))


@pytest.mark.parametrize("days", [1, 7, 40])
def test_incremental_after_days_of_business_equals_a_full_resync_row_for_row(
    fake: FakePolar, tmp_path: Path, days: int
) -> None:
    incremental, full = tmp_path / "incremental.duckdb", tmp_path / "full.duckdb"
    fake.sync(incremental)
    fake.world.advance(days)  # orders, renewals, refunds (also of old orders), cancels, upgrades
    outcomes = fake.sync(incremental)
    fake.sync(full)
    for entity in ENTITIES:
        assert snapshot(incremental, entity) == snapshot(full, entity), entity
    assert {o.mode for o in outcomes["orders"].organizations} == {"incremental"}


def test_a_daily_sync_costs_a_fraction_of_the_first_one_on_a_long_history(
    tmp_path: Path,
) -> None:
    with fake_polar(seeded_world(organizations=1, days=400)) as served:
        first = served.sync(tmp_path / "w.duckdb")
        served.world.advance(1)
        daily = served.sync(tmp_path / "w.duckdb")
    first_total = sum(o.requests for o in first.values())
    daily_total = sum(o.requests for o in daily.values())
    assert first["orders"].requests >= 10 and daily["orders"].requests <= 5
    assert daily["customers"].requests == daily["products"].requests == 1
    assert daily_total <= 0.35 * first_total, (daily_total, first_total)


def test_a_refund_of_an_order_older_than_the_look_back_updates_that_order(
    fake: FakePolar, tmp_path: Path
) -> None:
    fake.sync(tmp_path / "w.duckdb")
    org = next(iter(fake.world.organizations.values()))
    old = next(
        o
        for o in sorted(org.orders.values(), key=lambda o: o["created_at"])
        if o["status"] == "paid"
    )
    assert fake.world.now - old["created_at"] > timedelta(days=60)
    fake.world.advance(1)
    fake.world.refund(org, old, amount=100)
    fake.sync(tmp_path / "w.duckdb")
    assert rows(
        tmp_path / "w.duckdb",
        "select status, refunded_amount from raw.polar_orders where id = ?",
        [old["id"]],
    ) == [("partially_refunded", 100)]


def test_a_subscription_ending_long_after_its_cancellation_is_re_read(
    fake: FakePolar, tmp_path: Path
) -> None:
    org = next(iter(fake.world.organizations.values()))
    yearly = next(p for p in org.products.values() if p["recurring_interval"] == "year")
    subscription = fake.world.subscribe(org, fake.world.add_customer(org), yearly)
    subscription["current_period_end"] = fake.world.now + timedelta(days=50)
    subscription["started_at"] -= timedelta(days=10)  # not among the newest the cursor re-reads
    fake.world.cancel(subscription, at_period_end=True)
    fake.sync(tmp_path / "w.duckdb")
    fake.world.advance(55)  # it ends 50 days after a cancellation the look-back no longer sees
    assert subscription["status"] == "canceled"
    fake.sync(tmp_path / "w.duckdb")
    assert rows(
        tmp_path / "w.duckdb",
        "select status, ended_at is not null from raw.polar_subscriptions where id = ?",
        [subscription["id"]],
    ) == [("canceled", True)]
    assert any("customer_id" in p for p in fake.requests("subscriptions"))


def test_deleted_customers_and_products_stay_marked_and_archived_products_stay(
    fake: FakePolar, tmp_path: Path
) -> None:
    path, policy = tmp_path / "w.duckdb", SyncPolicy(customers_sweep_days=0)
    fake.sync(path, policy=policy)
    org = next(iter(fake.world.organizations.values()))
    customer_id = next(iter(org.customers))
    fake.world.delete_customer(org, customer_id)
    products = list(org.products.values())
    products[0]["is_archived"], products[1]["deleted"] = True, True
    fake.sync(path, policy=policy)
    assert rows(
        path,
        "select missing_since is not null from raw.polar_customers where id = ?",
        [customer_id],
    ) == [(True,)]
    assert rows(
        path,
        "select id, is_archived, missing_since is not null from raw.polar_products "
        "where organization_id = ? order by created_at",
        [org.id],
    ) == [(products[0]["id"], True, False), (products[1]["id"], False, True),
          (products[2]["id"], False, False)]  # fmt: skip
    assert rows(path, "select count(*) from raw.polar_customers where missing_since is not null")[
        0
    ] == (1,)


def test_first_sync_reports_progress_page_by_page(fake: FakePolar, tmp_path: Path) -> None:
    seen: list[EntityProgress] = []
    fake.sync(tmp_path / "w.duckdb", ["orders"], on_progress=seen.append)
    per_org = [p for p in seen if p.organization == "Org 1"]
    assert [p.pages_read for p in per_org] == list(range(1, len(per_org) + 1))
    assert len(per_org) >= 4 and per_org[-1].rows == len(
        fake.world.organizations[next(iter(fake.world.organizations))].orders
    )
    assert "orders Org 1" in per_org[-1].describe()


def test_organizations_synced_in_parallel_give_the_same_rows_and_count_their_own_requests(
    tmp_path: Path,
) -> None:
    with fake_polar(seeded_world(organizations=4, days=60)) as served:
        parallel = served.sync(tmp_path / "parallel.duckdb", concurrency=4)
        served.world.requests.clear()
        served.sync(tmp_path / "sequential.duckdb", concurrency=1)
        for entity in ENTITIES:
            assert snapshot(tmp_path / "parallel.duckdb", entity) == snapshot(
                tmp_path / "sequential.duckdb", entity
            )
            per_org = [o.requests for o in parallel[entity].organizations]
            assert sum(per_org) == len(served.requests(entity)) and min(per_org) >= 1

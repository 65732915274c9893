"""The entity marts and their reconciliation with Polar's metrics, built by the real dbt over a
synthetic warehouse whose entities and metrics agree exactly (as the emulator's do), then over
a copy where orders were changed after Polar computed its metrics."""

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from orchestration.defs.dbt.project import BUILD_ARGS
from tests.dbt.conftest import BuiltWarehouse, query
from tests.dbt.dbt_runner import WAREHOUSE_FILE_NAME, DbtOutcome, DbtSession
from tests.dbt.entity_fixture import ReconciledAccount, create_reconciled_warehouse
from tests.dbt.polar_reference import usd_cents
from tests.dbt.raw_fixture import CONNECTION, TODAY, window_days
from tests.dbt.synthetic_entities import TIMEZONE

EXACT_CHECK = "assert_entities_reconcile_exactly_on_the_emulator"
LIVE_CHECK = "assert_entities_reconcile_within_tolerance_on_live_polar"
METRICS = ["active_subscriptions", "monthly_recurring_revenue", "net_revenue", "revenue"]
LIVE = "live"  # a second connection: the same account read from production Polar


@dataclass
class Built:
    """A built warehouse and the account it holds."""

    path: Path
    account: ReconciledAccount
    build: DbtOutcome


@pytest.fixture(scope="module")
def reconciled(dbt_session: DbtSession, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Entities and metrics that agree exactly, on an emulator connection; built once."""
    work_dir = tmp_path_factory.mktemp("reconciled")
    path = work_dir / WAREHOUSE_FILE_NAME
    account = create_reconciled_warehouse(path)
    return Built(path, account, dbt_session.build(path, work_dir))


@dataclass
class Changed:
    """A built warehouse with orders changed after Polar computed its metrics."""

    path: Path
    build: DbtOutcome
    emulator: tuple[date, int]  # (local day, US cents more) of the emulator connection's change
    live_small: tuple[date, int]  # live: one euro cent more
    live_large: tuple[date, int]  # live: far beyond the tolerance


@pytest.fixture(scope="module")
def changed(
    reconciled: Built, dbt_session: DbtSession, tmp_path_factory: pytest.TempPathFactory
) -> Changed:
    """The reconciled warehouse plus a production copy of the connection, orders changed."""
    work_dir = tmp_path_factory.mktemp("changed")
    path = work_dir / WAREHOUSE_FILE_NAME
    shutil.copy(reconciled.path, path)
    with duckdb.connect(str(path)) as connection:
        copy_connection(connection, CONNECTION, LIVE, environment="production")
        orders = paid_unrefunded_eur_orders(connection)
        emulator = change_net_amount(connection, CONNECTION, orders[10], 100)
        live_small = change_net_amount(connection, LIVE, orders[20], 1)
        live_large = change_net_amount(connection, LIVE, orders[40], 1_000_000)
    # The two checks and the models they read, built and tested (cautious: no test that also
    # reads a model left out), not the whole project again.
    checks = [f"+{EXACT_CHECK}", f"+{LIVE_CHECK}"]
    selection = ["--select", *checks, "--indirect-selection", "cautious"]
    build = dbt_session.invoke([*BUILD_ARGS, *selection], path, work_dir)
    return Changed(path, build, emulator, live_small, live_large)


def copy_connection(
    connection: duckdb.DuckDBPyConnection, source: str, target: str, environment: str
) -> None:
    """Every raw row of `source` again under `target`, with `target`'s environment."""
    tables = connection.execute(
        "select table_name from duckdb_columns() where schema_name = 'raw' "
        "and column_name = 'connection_name'"
    ).fetchall()
    for (table,) in tables:
        replaced = f"'{target}' as connection_name"
        if table == "polar_refreshes":
            replaced += f", refresh_id || '-{target}' as refresh_id"
        connection.execute(
            f"insert into raw.{table} select * replace ({replaced}) from raw.{table} "
            "where connection_name = ?",
            [source],
        )
    connection.execute(
        "update raw.polar_connections set environment = ? where connection_name = ?",
        [environment, target],
    )


def paid_unrefunded_eur_orders(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Ids of org-eur's paid, never refunded orders, oldest first."""
    rows = connection.execute(
        "select id from raw.polar_orders where connection_name = ? and organization_id = "
        "'org-eur' and status = 'paid' order by created_at",
        [CONNECTION],
    ).fetchall()
    return [row[0] for row in rows]


def change_net_amount(
    connection: duckdb.DuckDBPyConnection, connection_name: str, order_id: str, change: int
) -> tuple[date, int]:
    """Add `change` to one EUR order's net_amount (typed column and JSON item): its local day
    and how many US cents more its revenue is."""
    before = connection.execute(
        "select net_amount from raw.polar_orders where connection_name = ? and id = ?",
        [connection_name, order_id],
    ).fetchone()[0]
    connection.execute(
        "update raw.polar_orders set net_amount = net_amount + ?, "
        "item = json_merge_patch(item, json_object('net_amount', net_amount + ?)) "
        "where connection_name = ? and id = ?",
        [change, change, connection_name, order_id],
    )
    created = connection.execute(
        "select created_at from raw.polar_orders where connection_name = ? and id = ?",
        [connection_name, order_id],
    ).fetchone()[0]
    more = usd_cents(before + change, "eur") - usd_cents(before, "eur")
    return created.astimezone(ZoneInfo(TIMEZONE)).date(), more


def test_entities_that_reconcile_show_no_difference_on_any_compared_day(reconciled: Built) -> None:
    rows = query(
        reconciled.path,
        "select organization_id, metric, count(*), min(date), max(date), "
        "bool_and(exact and difference = 0 and reason is null and check_severity = 'error') "
        "from marts.polar_entity_reconciliation group by all order by 1, 2",
    )
    first_order_day = min(
        order["created_at"].astimezone(ZoneInfo(TIMEZONE)).date()
        for order in reconciled.account.businesses["org-eur"].orders
    )
    yesterday = TODAY - timedelta(days=1)  # today is still running: never compared
    subscription_days = (window_days()[0], yesterday)
    order_days = (first_order_day, yesterday)
    days = (yesterday - first_order_day).days + 1
    assert rows == [
        ("org-eur", "active_subscriptions", 89, *subscription_days, True),
        ("org-eur", "monthly_recurring_revenue", 89, *subscription_days, True),
        ("org-eur", "net_revenue", days, *order_days, True),
        ("org-eur", "revenue", days, *order_days, True),
        # org-usd's orders sync stopped part-way: its revenue is not compared, not flagged.
        ("org-usd", "active_subscriptions", 89, *subscription_days, True),
        ("org-usd", "monthly_recurring_revenue", 89, *subscription_days, True),
    ]
    assert reconciled.build.statuses[EXACT_CHECK] == "pass"
    assert reconciled.build.statuses[LIVE_CHECK] == "pass"


def test_compared_days_carry_real_amounts_not_only_zeros(reconciled: Built) -> None:
    totals = dict(
        query(
            reconciled.path,
            "select metric, min(value_from_polar) filter (where value_from_polar > 0) "
            "from marts.polar_entity_reconciliation group by 1",
        )
    )
    assert set(totals) == set(METRICS)
    assert all(value and value > 0 for value in totals.values())


def test_entity_marts_keep_every_row_and_flag_deleted_ones(reconciled: Built) -> None:
    for entity in ("products", "customers", "subscriptions", "orders", "refunds"):
        expected = sum(len(getattr(b, entity)) for b in reconciled.account.businesses.values())
        assert query(reconciled.path, f"select count(*) from marts.polar_{entity}") == [
            (expected,)
        ], entity
    deleted = query(
        reconciled.path,
        "select organization_id, count(*) filter (where is_deleted), "
        "count(*) filter (where missing_since is not null) from marts.polar_customers "
        "group by 1 order by 1",
    )
    assert deleted == [("org-eur", 3, 1), ("org-usd", 3, 1)]  # 2 deleted_at, 1 no longer listed
    products = query(
        reconciled.path,
        "select product_name, is_archived, is_deleted from marts.polar_products "
        "where organization_id = 'org-eur' and (is_archived or is_deleted) order by 1",
    )
    assert products == [("Deleted pack", False, True), ("Old plan", True, False)]


def test_order_dates_are_local_and_amounts_stay_in_the_order_currency(reconciled: Built) -> None:
    orders = {o["id"]: o for b in reconciled.account.businesses.values() for o in b.orders}
    rows = query(
        reconciled.path,
        "select order_id, created_date, currency, net_amount from marts.polar_orders",
    )
    for order_id, created_date, currency, net_amount in rows:
        order = orders[order_id]
        assert created_date == order["created_at"].astimezone(ZoneInfo(TIMEZONE)).date()
        assert (currency, net_amount) == (order["currency"], order["net_amount"])


def test_without_an_entity_sync_no_day_is_compared(
    synthetic_warehouse: BuiltWarehouse,
) -> None:
    assert query(
        synthetic_warehouse.path, "select count(*) from marts.polar_entity_reconciliation"
    ) == [(0,)]
    assert synthetic_warehouse.build.statuses[EXACT_CHECK] == "pass"


def test_one_changed_order_fails_the_error_check_naming_organization_and_day(
    changed: Changed,
) -> None:
    assert not changed.build.success
    assert changed.build.statuses[EXACT_CHECK] == "fail"
    day, more = changed.emulator  # EUR 1.00 more on one order: 108 US cents more
    failures = query(
        changed.path,
        f"select connection_name, organization_id, date, metric, difference, failure "
        f"from audit.{EXACT_CHECK} order by metric",
    )
    assert more == 108
    assert [row[:5] for row in failures] == [
        (CONNECTION, "org-eur", day, "net_revenue", more),
        (CONNECTION, "org-eur", day, "revenue", more),
    ]
    assert failures[1][5].startswith(f"organization org-eur on {day}: revenue from the entities")
    # The mart itself still builds and shows the difference.
    assert changed.build.statuses["polar_entity_reconciliation"] == "success"


def test_on_live_polar_small_differences_pass_and_large_ones_warn(changed: Changed) -> None:
    assert changed.build.statuses[LIVE_CHECK] == "warn"
    rows = query(
        changed.path,
        "select date, metric, difference, exact, within_tolerance, reason "
        "from marts.polar_entity_reconciliation "
        "where connection_name = ? and not exact order by date, metric",
        [LIVE],
    )
    (small_day, small), (large_day, large) = changed.live_small, changed.live_large
    assert small in (1, 2) and large == 1_080_000
    assert [row[:5] for row in rows] == sorted(
        [
            (small_day, "net_revenue", small, False, True),
            (small_day, "revenue", small, False, True),
            (large_day, "net_revenue", large, False, False),
            (large_day, "revenue", large, False, False),
        ]
    )
    assert all("exchange rate" in row[5] for row in rows)
    warned = query(changed.path, f"select distinct connection_name, date from audit.{LIVE_CHECK}")
    assert warned == [(LIVE, large_day)]
    severities = query(
        changed.path,
        "select connection_name, check_severity, count(*) "
        "from marts.polar_entity_reconciliation group by all order by 1",
    )
    assert [row[:2] for row in severities] == [(CONNECTION, "error"), (LIVE, "warn")]

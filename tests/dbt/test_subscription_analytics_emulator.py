"""Subscription analytics on the emulator's businesses, filled the product's way (metrics
refresh, then the entity sync, then the real `dbt build`): MRR rebuilt from the subscriptions
(marts.polar_subscription_mrr, through the movements bridge) equals Polar's own
monthly_recurring_revenue and active_subscriptions on every day, the monthly movements add up
to the change of Polar's MRR, one subscription changed after Polar computed its metrics
fails the reconciliation check on exactly the days it counts, and a price change made at Polar
between two refreshes is expansion of exactly its difference on its day."""

import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest

from connectors.polar.config import PolarSettings
from orchestration.defs.dbt.project import BUILD_ARGS
from orchestration.extract.entities import ENTITY_ORDER, sync_entity
from orchestration.extract.entity_run import SyncPolicy
from orchestration.extract.metrics import refresh_metrics
from orchestration.extract.organizations import sync_organizations
from orchestration.extract.scopes import metrics_window
from tests.dbt.conftest import query
from tests.dbt.dbt_runner import WAREHOUSE_FILE_NAME, DbtSession
from tests.dbt.emulated_warehouse import CONNECTION, EmulatedWarehouse, emulated_warehouse
from tests.fake_polar.fixtures import TEST_PII

EXACT_CHECK = "assert_entities_reconcile_exactly_on_the_emulator"
BRIDGE_CHECK = "assert_mrr_bridge_is_exact"
MORE_CENTS = 1000  # added to one monthly USD subscription's amount


@pytest.fixture(scope="module")
def emulated(
    dbt_session: DbtSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatedWarehouse]:
    """The `demo` business (a USD and an EUR organization) with the metrics and entities of
    one refresh, built once. (`default` is not used: syncing its whole entity history alone
    took over the 300 s test timeout on this machine.)"""
    work_dir = tmp_path_factory.mktemp("analytics_demo")
    with emulated_warehouse(dbt_session, work_dir, "demo", entities=True) as warehouse:
        yield warehouse


def test_the_build_passes_the_bridge_and_the_exact_reconciliation(
    emulated: EmulatedWarehouse,
) -> None:
    assert emulated.build.statuses[BRIDGE_CHECK] == "pass"
    assert emulated.build.statuses[EXACT_CHECK] == "pass"
    compared = query(
        emulated.path,
        "select metric, count(*) from marts.polar_entity_reconciliation "
        "where metric in ('monthly_recurring_revenue', 'active_subscriptions') group by 1",
    )
    assert len(compared) == 2 and all(count > 0 for _, count in compared)


def test_mrr_from_subscriptions_equals_polars_mrr_on_every_day(
    emulated: EmulatedWarehouse,
) -> None:
    """Every finished day Polar reported, for every organization: the movements' closing MRR
    and active subscriptions equal Polar's (0 before the organization's first subscription)."""
    rows = query(
        emulated.path,
        """
        select daily.organization_id, daily."date",
            daily.monthly_recurring_revenue, coalesce(movements.closing_mrr, 0),
            daily.active_subscriptions, coalesce(movements.active_subscriptions, 0)
        from marts.polar_metrics_daily as daily
        left join marts.polar_mrr_movements as movements
            using (connection_name, organization_id, "date")
        where not daily.is_partial_day
        order by 1, 2
        """,
    )
    organizations = {row[0] for row in rows}
    assert organizations == set(emulated.organization_ids)
    assert sum(row[2] > 0 for row in rows) > 30  # days with MRR to compare
    different = [row for row in rows if row[2] != row[3] or row[4] != row[5]]
    assert different == []


def test_monthly_movements_sum_to_the_change_in_polars_mrr(emulated: EmulatedWarehouse) -> None:
    """For each month whose last day and the previous month's last day Polar reported:
    new + expansion + contraction + churn + reactivation + fx_impact = Polar's MRR at the
    month's end - Polar's MRR at the previous month's end."""
    polar = {
        (organization, day): mrr
        for organization, day, mrr in query(
            emulated.path,
            'select organization_id, "date", monthly_recurring_revenue '
            "from marts.polar_metrics_daily where not is_partial_day",
        )
    }
    months = query(
        emulated.path,
        "select organization_id, month, new_mrr + expansion_mrr + contraction_mrr + churn_mrr "
        "+ reactivation_mrr + fx_impact_mrr, net_new_mrr + fx_impact_mrr "
        "from marts.polar_mrr_movements_monthly where not is_partial_month",
    )
    checked = 0
    for organization, month, movements, net_new_and_fx in months:
        end, previous_end = _month_end(month), _month_end(_previous_month(month))
        if (organization, end) in polar and (organization, previous_end) in polar:
            change = polar[organization, end] - polar[organization, previous_end]
            assert (organization, month, movements) == (organization, month, change)
            assert net_new_and_fx == change
            checked += 1
    assert checked >= len(emulated.organization_ids)


def test_one_changed_subscription_fails_the_reconciliation_on_exactly_its_days(
    emulated: EmulatedWarehouse, dbt_session: DbtSession, tmp_path: Path
) -> None:
    """A monthly USD subscription's amount raised after Polar computed its metrics: the ERROR
    check fails, and its stored failures are the reconciled days on which that subscription
    is in MRR, each MORE_CENTS over Polar, nothing else; the bridge still holds."""
    path = tmp_path / WAREHOUSE_FILE_NAME
    shutil.copy(emulated.path, path)
    subscription_id, organization_id = query(
        path,
        "select subscription_id, organization_id from marts.polar_subscription_mrr "
        "where currency = 'usd' and recurring_interval = 'month' "
        "and recurring_interval_count = 1 and not is_trialing and valid_to is null "
        "order by valid_from limit 1",
    )[0]
    expected = {
        (organization_id, day)
        for (day,) in query(
            path,
            """
            select recon."date" from marts.polar_entity_reconciliation as recon
            inner join marts.polar_subscription_mrr as segments
                on segments.connection_name = recon.connection_name
                and segments.subscription_id = ?
                and not segments.is_trialing
                and (segments.valid_from is null or segments.valid_from <= recon."date")
                and (segments.valid_to is null or segments.valid_to > recon."date")
            where recon.metric = 'monthly_recurring_revenue'
            """,
            [subscription_id],
        )
    }
    assert expected
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "update raw.polar_subscriptions set amount = amount + ? where id = ?",
            [MORE_CENTS, subscription_id],
        )
    # Only what reads the subscriptions: the rest of the warehouse is unchanged.
    outcome = dbt_session.invoke([*BUILD_ARGS, "--select", "polar_subscriptions+"], path, tmp_path)
    assert not outcome.success
    assert outcome.statuses[EXACT_CHECK] == "fail"
    assert outcome.statuses[BRIDGE_CHECK] == "pass"
    failures = query(
        path,
        f"select organization_id, date, metric, difference, failure from audit.{EXACT_CHECK}",
    )
    assert {(row[0], row[1]) for row in failures} == expected
    assert {(row[2], row[3]) for row in failures} == {("monthly_recurring_revenue", MORE_CENTS)}
    assert all("monthly_recurring_revenue from the entities" in row[4] for row in failures)


@pytest.mark.slow  # a second refresh and a whole `dbt build`: ~65 s on the shared machine
def test_a_price_change_between_refreshes_is_expansion_of_exactly_its_difference(
    emulated: EmulatedWarehouse, dbt_session: DbtSession, tmp_path: Path
) -> None:
    """After the first refresh, a monthly USD subscription's amount is raised at the emulator
    (`PATCH /__emulator__/subscriptions/{id}`: new amount, modified_at now). The next refresh
    and build (on a copy of the warehouse) keep both versions in the snapshot; the
    subscription's MRR steps up by exactly the difference today, its customer's movement
    today is expansion of exactly that, the movements' closing MRR today equals Polar's MRR,
    yesterday's is Polar's minus the difference (Polar values past days at the current amount,
    the movements at each day's own), and the bridge and the exact reconciliation still pass.
    (The emulator's module-scoped warehouse is untouched: this test works on a copy.)"""
    path = tmp_path / WAREHOUSE_FILE_NAME
    shutil.copy(emulated.path, path)
    today = emulated.today
    subscription_id, customer_id, amount = query(
        path,
        """
        select mrr.subscription_id, mrr.customer_id, mrr.amount
        from marts.polar_subscription_mrr as mrr
        inner join marts.polar_subscriptions as subscriptions
            using (connection_name, subscription_id)
        where mrr.currency = 'usd' and mrr.recurring_interval = 'month'
            and mrr.recurring_interval_count = 1 and not mrr.is_trialing
            and mrr.valid_to is null and mrr.valid_from < ? and subscriptions.ends_at is null
            and subscriptions.status = 'active'
            and (select count(*) from marts.polar_subscriptions as others
                 where others.customer_id = mrr.customer_id) = 1
        order by mrr.valid_from limit 1
        """,
        [today - timedelta(days=1)],
    )[0]
    settings = PolarSettings.from_env()
    emulator = settings.environment.api_base_url
    changed = httpx.patch(
        f"{emulator}/__emulator__/subscriptions/{subscription_id}",
        json={"amount": amount + MORE_CENTS},
        timeout=30,
    )
    assert changed.status_code == 200, changed.text
    now = datetime.fromisoformat(httpx.get(f"{emulator}/__emulator__/clock").json()["now"])

    _refresh(emulated, path, settings, now)
    outcome = dbt_session.build(path, tmp_path)

    assert outcome.statuses[BRIDGE_CHECK] == "pass"
    assert outcome.statuses[EXACT_CHECK] == "pass"
    assert query(
        path,
        "select amount from history.polar_subscription_history where subscription_id = ? "
        "order by dbt_valid_from",
        [subscription_id],
    ) == [(amount,), (amount + MORE_CENTS,)]
    segments = query(
        path,
        "select valid_from, segment_start_reason, mrr, mrr_at_current_amount, is_trialing "
        "from marts.polar_subscription_mrr where subscription_id = ? order by valid_from",
        [subscription_id],
    )
    assert segments[-1][:2] == (today, "amount_change")
    assert segments[-1][2] - segments[-2][2] == MORE_CENTS
    # Polar restates every past day at the new amount, except trial days, which count 0 (the
    # subscription chosen may have begun with a trial, depending on the day the test runs).
    assert [row[3] for row in segments] == [
        0 if trialing else amount + MORE_CENTS for *_, trialing in segments
    ]
    assert query(
        path,
        "select movement, movement_mrr, fx_impact "
        "from intermediate.int_polar__customer_mrr_changes "
        "where customer_key = ? and change_date = ?",
        [customer_id, today],
    ) == [("expansion", MORE_CENTS, 0)]
    compared = query(
        path,
        """
        select movements."date", movements.closing_mrr, daily.monthly_recurring_revenue,
            movements.expansion_mrr
        from marts.polar_mrr_movements as movements
        inner join marts.polar_metrics_daily as daily
            using (connection_name, organization_id, "date")
        inner join marts.polar_subscriptions as subscriptions
            on subscriptions.connection_name = movements.connection_name
            and subscriptions.organization_id = movements.organization_id
        where subscriptions.subscription_id = ? and movements."date" >= ?
        order by 1
        """,
        [subscription_id, today - timedelta(days=1)],
    )
    (yesterday, closing_yesterday, polar_yesterday, _), (day, closing, polar, expansion) = compared
    assert (yesterday, day) == (today - timedelta(days=1), today)
    assert closing == polar
    assert closing_yesterday == polar_yesterday - MORE_CENTS
    assert expansion >= MORE_CENTS


def _refresh(
    emulated: EmulatedWarehouse, path: Path, settings: PolarSettings, now: datetime
) -> None:
    """The second refresh into `path`, as the first: metrics window, then every entity."""
    organizations = sync_organizations(
        emulated.client,
        warehouse_path=path,
        connection_name=CONNECTION,
        environment=settings.environment.name,
        connection_status="active",
    )
    refresh_metrics(
        emulated.client,
        warehouse_path=path,
        connection_name=CONNECTION,
        organizations=organizations,
        timezone=emulated.timezone,
        window=metrics_window(emulated.today, settings.window_days),
        concurrency=4,
    )
    for entity in ENTITY_ORDER:
        sync_entity(
            emulated.client,
            warehouse_path=path,
            connection_name=CONNECTION,
            organizations=organizations,
            entity=entity,
            policy=SyncPolicy(),
            pii=TEST_PII,
            now=lambda: now,
            concurrency=2,
        )


def _month_end(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def _previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)

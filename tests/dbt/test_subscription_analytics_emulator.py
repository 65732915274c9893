"""Subscription analytics on the emulator's businesses, filled the product's way (metrics
refresh, then the entity sync, then the real `dbt build`): MRR rebuilt from the subscriptions
(marts.polar_subscription_mrr, through the movements bridge) equals Polar's own
monthly_recurring_revenue and active_subscriptions on every day, the monthly movements add up
to the change of Polar's MRR, and one subscription changed after Polar computed its metrics
fails the reconciliation check on exactly the days it counts."""

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.dbt.conftest import query
from tests.dbt.dbt_runner import WAREHOUSE_FILE_NAME, DbtSession
from tests.dbt.emulated_warehouse import EmulatedWarehouse, emulated_warehouse

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
    outcome = dbt_session.invoke(["build", "--select", "polar_subscriptions+"], path, tmp_path)
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


def _month_end(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def _previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)

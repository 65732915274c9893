"""The rendered page: self-contained, escapes data, and shows notices only when they apply."""

import re
import shutil
import stat
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.outputs.dashboard.data import DashboardData
from orchestration.outputs.dashboard.render import render_dashboard, write_dashboard
from tests.orchestration.outputs.conftest import Pipeline, ScenarioOutputs, environment, load_raw

HOSTILE = "<img src=x onerror=\"document.title='pwned'\"></script><script>alert(1)</script>{{body}}"


def dashboard_data(**changes: Any) -> DashboardData:
    """A minimal dashboard with one active organization."""
    cell = {"value": 1000.0, "text": "$10.00", "previous": "$5.00", "change": "+100.0 %",
            "direction": "up"}  # fmt: skip
    fields: dict[str, Any] = {
        "connection": "default",
        "environment": "emulator",
        "connection_status": "active",
        "last_refresh": datetime(2026, 11, 28, 6, 0, tzinfo=UTC),
        "today": date(2026, 11, 28),
        "organizations": [
            {
                "id": "o1",
                "name": "Shop",
                "slug": "shop",
                "status": "active",
                "currency": "usd",
                "is_queried": True,
            },
        ],  # fmt: skip
        "currency_warning": None,
        "values": {"all": {"last_30_days": {"revenue": cell}, "today": {"revenue": cell}}},
        "periods": {"last_30_days": (date(2026, 10, 30), date(2026, 11, 28))},
        "daily": [{"date": date(2026, 11, 27), "revenue": 5}, {"date": date(2026, 11, 28)}],
    }
    fields.update(changes)
    return DashboardData(**fields)


def test_page_references_nothing_outside_itself(
    scenario_outputs: dict[str, ScenarioOutputs],
) -> None:
    for outputs in scenario_outputs.values():
        page = outputs.dashboard.read_text()
        references = re.findall(r"""(?:src|href|action)\s*=\s*["']?([^"' >]+)""", page)
        assert all(ref.startswith(("#", "data:")) for ref in references), references
        assert "@import" not in page and "url(" not in page
        assert '<link rel="stylesheet"' not in page


def test_organization_names_and_warnings_are_escaped() -> None:
    organizations = [
        {"id": "o1", "name": HOSTILE, "slug": "x", "status": "active", "currency": "usd",
         "is_queried": True},
        {"id": "o2", "name": "Other", "slug": "y", "status": "active", "currency": "eur",
         "is_queried": True},
    ]  # fmt: skip
    page = render_dashboard(dashboard_data(organizations=organizations, currency_warning=HOSTILE))
    assert "<img src=x" not in page
    assert "<script>alert(1)</script>" not in page
    assert page.count("<script") == 2  # only the page's own data and code blocks
    assert "&lt;img src=x" in page
    assert "{{body}}" in page  # a placeholder inside data stays text, never template


@pytest.mark.browser
def test_hostile_organization_name_runs_nothing_in_the_browser(
    browser: Any, tmp_path: Path
) -> None:
    organizations = [
        {"id": "o1", "name": HOSTILE, "slug": "x", "status": "active", "currency": "usd",
         "is_queried": True},
        {"id": "o2", "name": "Other", "slug": "y", "status": "active", "currency": "usd",
         "is_queried": True},
    ]  # fmt: skip
    path = write_dashboard(dashboard_data(organizations=organizations), tmp_path / "page.html")
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    assert page.title() != "pwned" and dialogs == []
    assert page.locator("img").count() == 0
    assert HOSTILE in page.get_by_test_id("fact-organizations").inner_text()
    assert requests == [path.as_uri()]
    context.close()


def test_reconnect_notice_only_when_the_connection_needs_reauthorization() -> None:
    assert 'data-testid="reconnect-notice"' not in render_dashboard(dashboard_data())
    page = render_dashboard(dashboard_data(connection_status="needs_reauth"))
    assert 'data-testid="reconnect-notice"' in page
    assert "polar-metrics connect --connection default" in page


def test_triggered_alerts_are_shown_with_their_severity() -> None:
    alert = {"rule": "revenue_drop", "severity": "error", "message": "ALERT: revenue fell"}
    page = render_dashboard(dashboard_data(alerts=[alert]))
    assert 'data-testid="alert-revenue_drop"' in page
    assert "Revenue alert (error)" in page and "ALERT: revenue fell" in page


def test_organization_table_only_with_more_than_one_active_organization() -> None:
    assert 'data-testid="organization-table"' not in render_dashboard(dashboard_data())
    two = dashboard_data().organizations + [
        {"id": "o2", "name": "B", "slug": "b", "status": "active", "currency": "usd",
         "is_queried": True},
    ]  # fmt: skip
    assert 'data-testid="organization-table"' in render_dashboard(dashboard_data(organizations=two))


def test_refused_refresh_token_puts_the_reconnect_notice_on_the_page(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """Polar revokes the grant; the next refresh fails and the dashboard says to reconnect."""
    import dagster as dg
    import httpx

    from connectors.polar.config import PolarSettings
    from connectors.polar_emulator.config import EmulatorConfig
    from connectors.polar_emulator.server import run_emulator
    from orchestration.cli.headless import (
        connect_headless,
        emulator_environment,
        reserved_loopback_port,
    )
    from orchestration.defs.common.resources import WarehouseResource
    from orchestration.defs.outputs.assets import polar_dashboard
    from orchestration.defs.polar.resources import PolarResource

    shutil.copy(pipeline.warehouse, tmp_path / "warehouse.duckdb")  # marts of the other tests
    with ExitStack() as stack:
        port = stack.enter_context(reserved_loopback_port())
        config = EmulatorConfig(
            scenario="single",
            auto_approve=True,
            redirect_uris=(f"http://127.0.0.1:{port}/callback",),
        )
        emulator = stack.enter_context(run_emulator(config))
        env = emulator_environment(
            emulator.base_url, emulator.client_id, emulator.client_secret, tmp_path
        )
        with environment(env):
            connect_headless(PolarSettings.from_env(), "revoked", port)
            for path in ("revoke-all", "expire-access-tokens"):
                httpx.post(f"{emulator.base_url}/__emulator__/{path}").raise_for_status()
            resources = {
                "polar": PolarResource(connection_name="revoked"),
                "warehouse": WarehouseResource(),
            }
            with pytest.raises(dg.Failure, match="reconnect with `polar-metrics connect"):
                load_raw("revoked")
            result = dg.materialize([polar_dashboard], resources=resources)
    assert result.success
    page = (tmp_path / "polar-dashboard.html").read_text()
    assert 'data-testid="reconnect-notice"' in page
    assert "polar-metrics connect --connection revoked" in page


def test_a_full_refresh_publishes_the_serving_copy_for_bi_tools(pipeline: Pipeline) -> None:
    """After the refresh's dbt build, BI tools get the marts in a separate read-only file."""
    from orchestration.warehouse.serving import serving_path_for

    serving = serving_path_for(pipeline.warehouse)
    with duckdb.connect(str(serving), read_only=True) as reader:
        manifest = dict(
            reader.execute("select table_name, row_count from marts.serving_manifest").fetchall()
        )
        (last_day,) = reader.execute(
            "select max(date) from marts.polar_metrics_daily_all"
        ).fetchone()
        summary_rows = reader.execute(
            "select count(*) from marts.polar_summary(?::date - 6, ?::date)", [last_day, last_day]
        ).fetchone()
        for table, expected in manifest.items():
            assert reader.execute(f"select count(*) from {table}").fetchone() == (expected,)
    assert {"marts.polar_period_summary", "marts.polar_metrics_daily"} <= set(manifest)
    assert manifest["marts.polar_period_summary"] > 0
    assert summary_rows is not None and summary_rows[0] > 0


def test_the_dashboard_file_is_owner_only_even_over_an_older_readable_one(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("older page")
    page.chmod(0o644)
    write_dashboard(dashboard_data(), page)
    assert stat.S_IMODE(page.stat().st_mode) == 0o600


def test_a_disconnected_connection_shows_the_day_its_data_stopped_and_how_to_purge() -> None:
    page = render_dashboard(
        dashboard_data(connection_status="inactive", data_stopped_on=date(2026, 11, 20))
    )
    assert 'data-testid="disconnected-notice"' in page
    assert "its data stopped on 2026-11-20" in page
    assert "polar-metrics disconnect --connection default --purge --yes" in page
    assert 'data-testid="fact-status">disconnected<' in page
    assert 'data-testid="disconnected-notice"' not in render_dashboard(dashboard_data())


def test_today_is_so_far_as_of_the_refresh_and_a_falling_churn_is_coloured_good() -> None:
    churn = {"value": 2.0, "text": "2", "previous": "4", "change": "-50.0 % (partial day)",
             "direction": "down", "tone": "good"}  # fmt: skip
    data = dashboard_data(
        values={"all": {"today": {"churned_subscriptions": churn}}},
        last_refresh=datetime(2026, 11, 28, 13, 5, tzinfo=UTC),
        reporting_timezone="Europe/Berlin",
    )
    page = render_dashboard(data)
    assert "<dt>Today so far, as of 14:05</dt>" in page
    assert '<small class="change good">(-50.0 % (partial day))</small>' in page

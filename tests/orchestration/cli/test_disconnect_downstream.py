"""`disconnect` shown downstream and `disconnect --purge`, through the real CLI and the emulator.

Two connections share one warehouse; `default` is disconnected (marts, serving copy, dashboard
and `summary` say so, with the day its data stopped), then purged (no row of it left in any
table of the warehouse or the serving copy) while `other` keeps every row.
"""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pytest

from connectors.polar.config import PolarSettings
from orchestration.cli.headless import connect_headless
from orchestration.warehouse.purge import connection_row_counts
from orchestration.warehouse.serving import serving_path_for
from tests.orchestration.conftest import EmulatedPolar, emulated_polar, query

CLI = str(Path(sys.executable).with_name("polar-metrics"))


@pytest.fixture(scope="module")
def two_connections(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedPolar]:
    """The `demo` business connected twice: `default` fully refreshed, `other` its recent days."""
    state = tmp_path_factory.mktemp("disconnect-state")
    with emulated_polar(state, scenario="demo") as polar, pytest.MonkeyPatch.context() as env:
        env.setenv("POLAR_METRICS_WINDOW_DAYS", "14")  # a short window keeps the refresh quick
        port = urlparse(polar.emulator.redirect_uris[0]).port
        assert port is not None
        connect_headless(PolarSettings.from_env(), "other", port)
        for args in (["refresh"], ["refresh", "--connection", "other", "--recent"]):
            refreshed = cli(*args, timeout=400)
            assert refreshed.returncode in (0, 3), refreshed.stderr[-3000:]
        yield polar


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The installed `polar-metrics` with the test's environment."""
    return subprocess.run(
        [CLI, *args], env=dict(os.environ), capture_output=True, text=True, timeout=timeout
    )


def counts(path: Path, connection: str) -> dict[str, int]:
    """Rows of `connection` in every table of a DuckDB file that has a connection_name column."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return connection_row_counts(con, connection)
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.timeout(900)  # the module fixture's two refreshes run in the first test's setup
def test_summary_says_today_so_far_marks_partial_changes_and_carries_the_currency_warning(
    two_connections: EmulatedPolar,
) -> None:
    """`summary` (table and JSON): today as of the refresh, partial changes, Polar's USD story."""
    table = cli("summary", "--period", "today")
    assert table.returncode == 0, table.stderr
    assert re.search(r"today so far, as of \d\d:\d\d", table.stdout), table.stdout
    assert "(partial day)" in table.stdout
    assert "Currency warning: organizations use different currencies" in table.stdout
    document = json.loads(cli("summary", "--period", "today", "--json").stdout)
    assert document["as_of"] and document["reporting_timezone"] == "UTC"
    assert all(metric["change_is_partial"] for metric in document["metrics"].values())
    assert "Polar converts every sale into US dollars" in document["currency_warning"]
    assert "without conversion" not in document["currency_warning"]
    yesterday = json.loads(cli("summary", "--period", "yesterday", "--json").stdout)
    assert not any(metric["change_is_partial"] for metric in yesterday["metrics"].values())
    page = Path(os.environ["POLAR_METRICS_WAREHOUSE"]).with_name("polar-dashboard.html")
    assert re.search(r"Today so far, as of \d\d:\d\d", page.read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.timeout(900)  # two refreshes, three dbt builds
def test_disconnect_marks_marts_dashboard_and_summary_then_purge_deletes_only_that_connection(
    two_connections: EmulatedPolar,
) -> None:
    """Disconnected + date everywhere; --purge needs --yes; then no row of it anywhere."""
    warehouse = Path(os.environ["POLAR_METRICS_WAREHOUSE"])
    serving = serving_path_for(warehouse)
    active = query(
        warehouse,
        "select connection_status, last_refreshed_at is not null, reporting_date "
        "from marts.polar_connections where connection_name = 'default'",
    )
    assert active and active[0][:2] == ("active", True)
    reporting_date = active[0][2]
    other_before = counts(warehouse, "other")
    assert "raw.polar_metrics" in other_before and "marts.polar_period_summary" in other_before

    disconnected = cli("disconnect")
    assert disconnected.returncode == 0, disconnected.stdout + disconnected.stderr[-3000:]
    assert f"its data stops on {reporting_date}" in disconnected.stdout
    for path in (warehouse, serving):
        assert query(
            path,
            "select connection_status, data_stopped_on from marts.polar_connections "
            "where connection_name = 'default'",
        ) == [("disconnected", reporting_date)], path
    page = warehouse.with_name("polar-dashboard.html").read_text(encoding="utf-8")
    assert 'data-testid="disconnected-notice"' in page
    assert f"its data stopped on {reporting_date}" in page
    summary = cli("summary", "--json")
    assert json.loads(summary.stdout)["data_stopped_on"] == reporting_date.isoformat()
    assert f"Disconnected: the data stopped on {reporting_date}" in cli("summary").stdout

    unconfirmed = cli("disconnect", "--purge")
    assert unconfirmed.returncode == 1
    assert "raw.polar_metrics:" in unconfirmed.stdout
    assert "Nothing was changed" in unconfirmed.stdout and "--purge --yes" in unconfirmed.stdout
    assert counts(warehouse, "default")  # still there

    purged = cli("disconnect", "--purge", "--yes")
    assert purged.returncode == 0, purged.stdout + purged.stderr[-3000:]
    assert counts(warehouse, "default") == {}
    assert counts(serving, "default") == {}
    assert counts(warehouse, "other") == other_before
    assert counts(serving, "other") == {
        table: rows for table, rows in other_before.items() if table.startswith("marts.")
    }

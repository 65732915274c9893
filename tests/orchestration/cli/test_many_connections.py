"""Several Polar accounts in one deployment, through the real CLI: three connections made with
the emulator's `--accounts` and OIDC login_hint, `connections` listing them, and `refresh --all`
refreshing each (one line per connection) with dbt run once for all of them."""

import html
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from connectors.polar.config import PolarSettings
from orchestration.cli.headless import connect_headless
from orchestration.warehouse.files import open_warehouse
from orchestration.warehouse.serving import tenant_directory, tenant_serving_path_for
from tests.orchestration.cli.conftest import CLI
from tests.orchestration.conftest import EmulatedPolar, emulated_polar, query

ENTITIES = ("products", "customers", "subscriptions", "refunds", "orders")

pytestmark = pytest.mark.slow  # three connections' entity syncs and one dbt build (~1-2 min)
HINTS = {"second": "account-2@example.com", "third": "account-3@example.com"}


@pytest.fixture(scope="module")
def three_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedPolar]:
    """`default` (the primary user) plus `second` and `third`, each its own Polar account."""
    with emulated_polar(tmp_path_factory.mktemp("state"), scenario="demo", accounts=3) as polar:
        port = urlsplit(polar.emulator.redirect_uris[0]).port
        for name, hint in HINTS.items():
            connect_headless(PolarSettings.from_env(), name, port, login_hint=hint)
        yield polar


def _cli(polar: EmulatedPolar, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        env={**os.environ, **polar.env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_connections_lists_each_account_with_its_own_organizations(
    three_accounts: EmulatedPolar,
) -> None:
    result = _cli(three_accounts, "connections", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"default", "second", "third"}
    world = three_accounts.emulator.state.world
    for name, hint in {"default": "founder@example.com", **HINTS}.items():
        user = world.users[world.user_for_login(hint)]
        visible = {org.slug for org in world.visible_organizations(user.id, [])}
        assert set(rows[name]["organizations"]) == visible, name
        assert rows[name]["status"] == "active" and rows[name]["last_refresh"] is None


@pytest.fixture(scope="module")
def refreshed_all(three_accounts: EmulatedPolar) -> subprocess.CompletedProcess[str]:
    """`polar-metrics refresh --all`, once for the module."""
    return _cli(three_accounts, "refresh", "--all")


def test_refresh_all_refreshes_every_connection_and_builds_once(
    three_accounts: EmulatedPolar, refreshed_all: subprocess.CompletedProcess[str]
) -> None:
    result = refreshed_all
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in ("default", "second", "third"):
        assert any(line.startswith(f"{name}: ok, ") for line in lines), result.stdout
    assert any(line.startswith("dbt and outputs: ok, once for 3") for line in lines)
    warehouse = Path(three_accounts.env["POLAR_METRICS_WAREHOUSE"])
    in_marts = query(
        warehouse, "select distinct connection_name from marts.polar_metrics_daily order by 1"
    )
    assert in_marts == [("default",), ("second",), ("third",)]
    listed = json.loads(_cli(three_accounts, "connections", "--json").stdout)
    assert all(row["last_refresh"] and row["last_refresh_status"] == "success" for row in listed)
    table = _cli(three_accounts, "connections").stdout
    assert table.splitlines()[0].split() == [
        "NAME",
        "ENVIRONMENT",
        "STATUS",
        "ORGS",
        "LAST",
        "REFRESH",
        "LAST",
        "ERROR",
    ]


def test_each_tenant_file_holds_only_its_connection_and_opens_while_the_pipeline_writes(
    three_accounts: EmulatedPolar, refreshed_all: subprocess.CompletedProcess[str]
) -> None:
    """A tenant's BI tool opens `tenants/<name>/warehouse.serving.duckdb`: no row of another
    connection in any table (by `connection_name`, and no other tenant's organization id in any
    text column), its summary macro answers for it alone, and it opens read-only while the main
    warehouse is held by a writer."""
    warehouse = Path(three_accounts.env["POLAR_METRICS_WAREHOUSE"])
    org_ids = dict(
        query(
            warehouse,
            "select connection_name, list(organization_id) from marts.polar_organizations "
            "group by 1",
        )
    )
    assert set(org_ids) == {"default", "second", "third"}
    with open_warehouse(warehouse):  # the pipeline writing: tenants still read their file
        for name in org_ids:
            tenant = tenant_serving_path_for(warehouse, name)
            con = duckdb.connect(str(tenant), read_only=True)
            try:
                columns = con.execute(
                    "select table_name, column_name, data_type from duckdb_columns() "
                    "where schema_name = 'marts'"
                ).fetchall()
                for table, column, data_type in columns:
                    if column == "connection_name":
                        found = con.execute(
                            f'select distinct connection_name from marts."{table}"'
                        ).fetchall()
                        assert found in ([], [(name,)]), (name, table, found)
                    elif data_type == "VARCHAR":
                        for other, ids in org_ids.items():
                            if other == name:
                                continue
                            leaked = con.execute(
                                f'select count(*) from marts."{table}" where "{column}" in ?',
                                [ids],
                            ).fetchone()[0]
                            assert leaked == 0, (name, table, column, other)
                summary = con.execute(
                    "select distinct connection_name from marts.polar_period_summary"
                ).fetchall()
                assert summary == [(name,)]
            finally:
                con.close()


def test_each_connection_gets_its_own_dashboard_naming_only_its_organizations(
    three_accounts: EmulatedPolar, refreshed_all: subprocess.CompletedProcess[str]
) -> None:
    warehouse = Path(three_accounts.env["POLAR_METRICS_WAREHOUSE"])
    names = dict(
        query(
            warehouse,
            "select connection_name, list(organization_name) from marts.polar_organizations "
            "where is_queried group by 1",
        )
    )
    for connection, own in names.items():
        page = (tenant_directory(warehouse, connection) / "polar-dashboard.html").read_text()
        assert all(html.escape(name) in page for name in own), connection
        for other, theirs in names.items():
            if other != connection:
                assert not any(html.escape(name) in page for name in theirs), (connection, other)


def test_refresh_all_recent_asks_polar_for_metrics_only(
    three_accounts: EmulatedPolar, refreshed_all: subprocess.CompletedProcess[str]
) -> None:
    """`refresh --all --recent` runs each connection's recent-metrics job: no entity list is
    paged again (it used to run the whole raw job, entity syncs included)."""
    before = three_accounts.control("GET", "stats")["requests"]
    result = _cli(three_accounts, "refresh", "--all", "--recent")
    assert result.returncode == 0, result.stdout + result.stderr
    after = three_accounts.control("GET", "stats")["requests"]
    changed = {path for path in after if after[path] != before.get(path, 0)}
    assert "GET /v1/metrics/" in changed, changed
    paged_again = [path for path in changed for entity in ENTITIES if f"/v1/{entity}" in path]
    assert not paged_again, changed

"""Each connection's own dashboard page, beside its tenant serving file; for many tenants, in
several processes.

A page is ~80 ms, nearly all of it Python under the GIL (measured on a 540-connection warehouse:
80 ms a page in one thread, 73 ms with two, 77 ms with three), so threads do not help; processes
do. A spawned process costs ~0.2 s of imports (DuckDB and this package, no Dagster), a few
pages' worth, so a batch is shared out from a few dozen tenants on.
"""

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from multiprocessing import get_context
from pathlib import Path

import duckdb

from orchestration.outputs.alerts.evaluate import evaluate_rules
from orchestration.outputs.alerts.rules import (
    AlertRule,
    AlertRulesError,
    load_rules,
    rules_path_from_env,
)
from orchestration.outputs.dashboard.data import load_dashboard_data
from orchestration.outputs.dashboard.render import write_dashboard
from orchestration.warehouse.serving import tenant_directory, tenant_serving_path_for

DASHBOARD_FILE = "polar-dashboard.html"
PAGE_PROCESSES = 2  # the machine's cores, in the measurements above
# Fewer tenants than this per process are written in the calling process.
MIN_TENANTS_PER_PROCESS = 10

Notice = dict[str, str]
RulesOrNotice = list[AlertRule] | Notice


def alert_rules() -> RulesOrNotice:
    """The alert rules of the environment, or the notice saying why there are none."""
    try:
        return load_rules(rules_path_from_env())
    except AlertRulesError as error:
        return {"rule": "rules_file", "severity": "error", "message": str(error)}


def alert_notices(
    con: duckdb.DuckDBPyConnection, connection: str, rules: RulesOrNotice
) -> list[Notice]:
    """The dashboard's notices: the rules that triggered for `connection`, or the rules' error."""
    if isinstance(rules, dict):
        return [rules]
    return [
        {"rule": r.rule.name, "severity": r.rule.severity, "message": r.message}
        for r in evaluate_rules(con, connection, rules)
        if r.triggered
    ]


def write_tenant_pages(
    warehouse_file: Path,
    names: list[str],
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    processes: int = PAGE_PROCESSES,
    start_process: Callable[[], None] | None = None,
) -> list[Path]:
    """Every named connection's page; in `processes` spawned processes (each first running
    `start_process`) when there are enough tenants, else here on `con` (a read-only connection
    to the warehouse, opened when not given)."""
    processes = min(processes, len(names) // MIN_TENANTS_PER_PROCESS)
    if processes < 2:
        return write_pages(warehouse_file, names, con)
    shares = [names[i::processes] for i in range(processes)]
    with ProcessPoolExecutor(
        processes, mp_context=get_context("spawn"), initializer=start_process
    ) as pool:
        written = pool.map(write_pages, [warehouse_file] * processes, shares)
        return [path for share in written for path in share]


def write_pages(
    warehouse_file: Path, names: list[str], con: duckdb.DuckDBPyConnection | None = None
) -> list[Path]:
    """The pages of `names`, one after another, the alert rules read once."""
    rules = alert_rules()
    with ExitStack() as stack:
        if con is None:
            con = stack.enter_context(duckdb.connect(str(warehouse_file), read_only=True))
        return [_write_page(con, warehouse_file, name, rules) for name in names]


def _write_page(
    con: duckdb.DuckDBPyConnection, warehouse_file: Path, connection: str, rules: RulesOrNotice
) -> Path:
    """One tenant's page from its own serving file when it has one: read from the warehouse,
    each page scanned every mart, so the pages cost tenants x warehouse. Alerts read the
    warehouse (they need the connection's last refresh, which is not served)."""
    tenant_file = tenant_serving_path_for(warehouse_file, connection)
    if tenant_file.exists():
        with duckdb.connect(str(tenant_file), read_only=True) as own:
            data = load_dashboard_data(own, connection)
    else:  # the dashboard materialized before any serving copy
        data = load_dashboard_data(con, connection)
    data.alerts = alert_notices(con, connection, rules)
    return write_dashboard(data, tenant_directory(warehouse_file, connection) / DASHBOARD_FILE)

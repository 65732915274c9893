"""Benchmark: what the subscription analytics marts add to `dbt build` (time and peak memory).

    .venv/bin/python -m benchmarks.analytics_build [--organizations 200] [--synced 20] [--quick]

The emulator's `many` scenario with `--synced` organizations is loaded the product's way (the
metrics refresh and the entity sync of all five entities, rate limit off). Syncing 200
organizations' entities here takes far longer than the build being measured, so the warehouse
is then grown to `--organizations` by copying the synced organizations' raw rows under new
organization ids (every id suffixed, so keys stay unique and references hold): real emulator
data at the target size. Polar's `all` series is not grown, so the rollup's check against it
fails on the copies; the build still runs every model (its outcome line is printed).

`dbt build` then runs twice in its own process, as a user would: without the analytics marts
(`--exclude` int_polar__customer_mrr_changes+, polar_customer_value, polar_trial_conversion:
polar_subscription_mrr stays, the reconciliation reads it) and the whole project. Peak memory
is the dbt process's maximum RSS (DuckDB runs inside it). Targets: the analytics add at most
50 % to the build and the build stays under 1 GB.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.common import (
    BIN,
    BUILD_ARGS,
    CONNECTION,
    REPO,
    loaded_warehouse,
    print_table,
    timed_process,
)
from connectors.polar.pii import PiiPolicy
from orchestration.extract.entities import ENTITY_ORDER, sync_entity
from orchestration.extract.entity_run import SyncPolicy

ANALYTICS_ONLY = [
    "int_polar__customer_mrr_changes+",
    "polar_customer_value",
    "polar_trial_conversion",
]
REFERENCES = ("id", "customer_id", "product_id", "subscription_id", "order_id")
# What dbt reads from the stored item of each raw table (stg_polar__orders); copies keep only it.
ITEM_READ_BY_DBT = {
    "polar_orders": "json_object('platform_fee_currency', "
    "json_extract_string(raw_rows.item, '$.platform_fee_currency'))"
}
# Runs a command and prints its wall time and the largest RSS of its processes (KiB on Linux).
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "result = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(result.stdout)\n"
    "print('MEASURED', time.perf_counter() - started,"
    " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(result.returncode)\n"
)


def sync_entities(warehouse: Path) -> None:
    """The five entities of every active organization, as the entity assets sync them."""
    from connectors.polar.client import PolarClient
    from connectors.polar.config import PolarSettings
    from connectors.polar.connection import PolarConnection
    from orchestration.extract.organizations import sync_organizations

    settings = PolarSettings.from_env()
    connection = PolarConnection.open(settings, CONNECTION)
    with PolarClient(settings.environment.api_base_url, connection.http_auth()) as client:
        organizations = sync_organizations(
            client,
            warehouse_path=warehouse,
            connection_name=CONNECTION,
            environment=settings.environment.name,
            connection_status=connection.status,
        )
        for entity in ENTITY_ORDER:
            sync_entity(
                client,
                warehouse_path=warehouse,
                connection_name=CONNECTION,
                organizations=organizations,
                entity=entity,
                policy=SyncPolicy(),
                pii=PiiPolicy("drop"),
                concurrency=4,
            )


def grow(warehouse: Path, organizations: int) -> None:
    """Copy the synced organizations' raw rows under new ids until there are `organizations`.

    One `create table ... as` per raw table (the originals and every copy at once), swapped in
    for the original: inserting the copies into the keyed raw tables maintained their primary
    key index row by row and did not finish in 22 minutes at 200 organizations. dbt reads the
    raw tables, never their keys. The copies keep of the stored JSON `item` only what dbt reads
    from it (an order's platform_fee_currency): copying whole items took 18 minutes for the
    customers alone on the shared machine, and the build never reads the rest.
    """
    with duckdb.connect(str(warehouse)) as con:
        synced = [
            r[0]
            for r in con.execute(
                "select organization_id from raw.polar_organizations where is_queried order by 1"
            ).fetchall()
        ]
        copies = [
            (copy, organization_id)
            for copy in range(1, -(-organizations // len(synced)))
            for organization_id in synced[: min(len(synced), organizations - copy * len(synced))]
        ]
        con.execute("create temporary table copies(copy integer, organization_id varchar)")
        con.executemany("insert into copies values (?, ?)", copies)
        tables = con.execute(
            "select table_name, list(column_name) from duckdb_columns() where schema_name = 'raw' "
            "and table_name not in ('polar_api_responses', 'polar_backfill_progress') "
            "group by 1 having list_contains(list(column_name), 'organization_id')"
        ).fetchall()
        con.execute("set preserve_insertion_order = false")
        for table, columns in tables:
            replaced = ", ".join(
                f"raw_rows.{c} || '~' || copies.copy as {c}"
                for c in ("organization_id", *REFERENCES)
                if c in columns
            )
            if "item" in columns:
                replaced += f", {ITEM_READ_BY_DBT.get(table, 'null')}::json as item"
            con.execute(
                f"create table raw.{table}__grown as select * from raw.{table} union all "
                f"select raw_rows.* replace ({replaced}) from raw.{table} as raw_rows "
                "inner join copies using (organization_id)"
            )
            con.execute(f"drop table raw.{table}")
            con.execute(f"alter table raw.{table}__grown rename to {table}")


def measured_build(warehouse: Path, work_dir: Path, extra: list[str]) -> tuple[float, int, str]:
    """(seconds, peak RSS MiB, outcome line) of `dbt build` in its own process."""
    command = [
        str(BIN / "python"),
        "-c",
        MEASURE,
        str(BIN / "dbt"),
        *BUILD_ARGS,
        "--project-dir",
        str(REPO / "dbt_project"),
        "--profiles-dir",
        str(REPO / "dbt_project"),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLAR_")}
    env["POLAR_METRICS_WAREHOUSE"] = str(warehouse)
    _, result = timed_process(command, env, cwd=work_dir, allowed_codes=(0, 1))
    lines = result.stdout.splitlines()
    seconds, max_rss_kib = next(line for line in lines if line.startswith("MEASURED")).split()[1:]
    done = next((line.split("Done. ", 1)[1] for line in lines if "Done. PASS=" in line), "?")
    return float(seconds), int(max_rss_kib) // 1024, done


def main(argv: list[str] | None = None) -> int:
    """Load, grow, build without and with the analytics; print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", type=int, default=200)
    parser.add_argument("--synced", type=int, default=20, help="organizations really synced")
    parser.add_argument("--quick", action="store_true", help="20 organizations, 5 synced")
    args = parser.parse_args(argv)
    organizations, synced = (20, 5) if args.quick else (args.organizations, args.synced)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with loaded_warehouse(work / "state", synced) as loaded:
            started = time.perf_counter()
            sync_entities(loaded.settings.warehouse_path)
            sync_seconds = time.perf_counter() - started
            warehouse = loaded.settings.warehouse_path
        grow(warehouse, organizations)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            subscriptions, orders = con.execute(
                "select (select count(*) from raw.polar_subscriptions), "
                "(select count(*) from raw.polar_orders)"
            ).fetchone()
        without = measured_build(warehouse, work, ["--exclude", *ANALYTICS_ONLY])
        with_all = measured_build(warehouse, work, [])
    print_table(
        f"dbt build with and without the analytics marts (`many`: {organizations} organizations, "
        f"{synced} synced and copied; {subscriptions} subscriptions, {orders} orders; "
        f"metrics {loaded.load_seconds:.0f} s + entity sync {sync_seconds:.0f} s to load)",
        ["build", "seconds", "peak RSS MiB", "dbt outcome"],
        [
            ("without the analytics marts", f"{without[0]:.1f}", without[1], without[2]),
            ("with them (whole project)", f"{with_all[0]:.1f}", with_all[1], with_all[2]),
            ("analytics add", f"{(with_all[0] / without[0] - 1) * 100:+.0f} %", "", ""),
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

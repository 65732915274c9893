"""Benchmark: publishing the tenant serving files after a batch, every tenant vs changed ones.

    .venv/bin/python -m benchmarks.tenant_copies [--tenants 50] [--quick]

Runs `polar-metrics demo` in a temporary directory (the `demo` business: metrics, entities and
every mart), then copies its connection's rows in every mart under `--tenants` connection names,
so the warehouse holds as many connections as a deployment of that size. Then it times, in one
run: every tenant file copied (what each batch did before), a publication where nothing changed,
and one after a single tenant's rows changed (what a batch that refreshed one connection sees).
Every tenant is written from one sorted staging copy (tenant_copies.py); `--one-by-one` tenants
are first timed the way it was done before, each file a scan of every mart, for the ratio.
"""

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from benchmarks.common import BIN, print_table
from orchestration.cli.demo import DEMO_DIR
from orchestration.warehouse.serving import publish_serving_copy, tenant_serving_path_for
from orchestration.warehouse.tenant_copies import publish_tenant_copies


def add_tenants(warehouse: Path, tenants: int) -> list[str]:
    """Copy connection `default`'s rows of every mart under `tenant-0001`... names."""
    names = [f"tenant-{index:04d}" for index in range(1, tenants + 1)]
    with duckdb.connect(str(warehouse)) as con:
        tables = con.execute(
            "select table_name from duckdb_columns() where schema_name = 'marts' "
            "and column_name = 'connection_name' and table_name in "
            "(select table_name from duckdb_tables() where schema_name = 'marts')"
        ).fetchall()
        for (table,) in tables:
            con.execute(
                f'insert into marts."{table}" by name '
                "select t.* replace (n.name as connection_name) "
                f'from marts."{table}" t, (select unnest(?) as name) n '
                "where t.connection_name = 'default'",
                [names],
            )
    return names


def timed(action: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def change_one_tenant(warehouse: Path, name: str) -> None:
    """One more cent of revenue on the last day of one connection."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.polar_metrics_daily set revenue = revenue + 1 where connection_name = ? "
            "and date = (select max(date) from marts.polar_metrics_daily)",
            [name],
        )


def main(argv: list[str] | None = None) -> int:
    """Build, add tenants, time the publications, print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="20 tenants")
    parser.add_argument(
        "--one-by-one", type=int, default=50, help="tenants timed the old way (each a scan)"
    )
    args = parser.parse_args(argv)
    tenants = 20 if args.quick else args.tenants
    with tempfile.TemporaryDirectory() as tmp:
        demo = subprocess.run(
            [str(BIN / "polar-metrics"), "demo"], cwd=tmp, capture_output=True, text=True
        )
        if demo.returncode != 0:
            raise SystemExit(f"polar-metrics demo failed: {demo.stderr[-2000:]}")
        warehouse = Path(tmp) / DEMO_DIR / "warehouse.duckdb"
        names = ["default", *add_tenants(warehouse, tenants)]
        sample = names[: args.one_by_one]
        each = timed(
            lambda: [
                publish_serving_copy(warehouse, tenant_serving_path_for(warehouse, n), connection=n)
                for n in sample
            ]
        )
        for name in sample:  # the staged publication below writes every tenant
            tenant_serving_path_for(warehouse, name).unlink()
        staged = timed(lambda: publish_tenant_copies(warehouse))  # also records every digest
        unchanged = timed(lambda: publish_tenant_copies(warehouse))
        change_one_tenant(warehouse, names[1])
        started = time.perf_counter()
        one_changed = publish_tenant_copies(warehouse)
        one = time.perf_counter() - started
        size_mb = warehouse.stat().st_size / 1e6
    assert one_changed.copied == [names[1]], one_changed.copied
    per_tenant = each / len(sample)
    print_table(
        f"Tenant serving files after a batch: {len(names)} connections of the demo business "
        f"(warehouse {size_mb:.0f} MB)",
        ["publication", "seconds", "ms per tenant", "ratio to one by one"],
        [
            (
                f"one by one, each scanning every mart ({len(sample)} timed, the rest estimated)",
                f"{per_tenant * len(names):.1f}",
                f"{per_tenant * 1000:.0f}",
                "1.00",
            ),
            (
                "every tenant, from one sorted staging copy",
                f"{staged:.1f}",
                f"{staged / len(names) * 1000:.0f}",
                f"{staged / (per_tenant * len(names)):.3f}",
            ),
            ("nothing changed", f"{unchanged:.2f}", "", ""),
            ("one tenant's rows changed", f"{one:.2f}", "", ""),
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

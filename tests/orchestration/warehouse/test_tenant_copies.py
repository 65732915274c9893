"""Tenant serving files are copied again only for the tenants whose rows changed, and a change
anywhere a tenant file reads from (its rows, a shared table, a column, a macro) is never missed.

A small marts schema on a real DuckDB file: two tables with `connection_name`, one shared table
without it and a table macro, three connections.
"""

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse.serving import tenant_serving_path_for
from orchestration.warehouse.tenant_copies import (
    publish_tenant_copies,
    recorded_fingerprint,
    remove_tenant_copy,
)

CONNECTIONS = ("alpha", "beta", "gamma")


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.polar_connections as select unnest(?) as connection_name",
            [list(CONNECTIONS)],
        )
        con.execute(
            "create table marts.daily as select c.connection_name, d::date as date, "
            "(hash(c.connection_name, d) % 10000)::bigint as revenue_cents "
            "from marts.polar_connections c, range(date '2026-01-01', date '2026-03-01', "
            "interval 1 day) r(d)"
        )
        con.execute("create table marts.rates as select 'EUR' as currency, 1.08 as usd_per_unit")
        con.execute(
            "create macro marts.revenue(name) as table "
            "select sum(revenue_cents) as cents from marts.daily where connection_name = name"
        )
    return path


def file_identity(path: Path) -> tuple[int, int]:
    """(inode, mtime in ns): a republication renames a new file over the old one."""
    status = path.stat()
    return status.st_ino, status.st_mtime_ns


def identities(warehouse: Path) -> dict[str, tuple[int, int]]:
    return {name: file_identity(tenant_serving_path_for(warehouse, name)) for name in CONNECTIONS}


def test_the_first_publication_copies_every_tenant_and_the_next_one_none(warehouse: Path) -> None:
    first = publish_tenant_copies(warehouse)
    assert sorted(first.copied) == list(CONNECTIONS) and first.unchanged == []
    before = identities(warehouse)
    again = publish_tenant_copies(warehouse)
    assert again.copied == [] and sorted(again.unchanged) == list(CONNECTIONS)
    assert identities(warehouse) == before  # not rewritten
    with duckdb.connect(str(first.paths["beta"]), read_only=True) as con:
        names = con.execute("select distinct connection_name from marts.daily").fetchall()
        assert names == [("beta",)]


def test_every_tenant_file_holds_exactly_its_rows_and_no_staging_is_left(
    warehouse: Path,
) -> None:
    """The files are written from one sorted staging copy (`_copy_tenants`): each still holds
    every row of its own, none of another's, and the shared tables whole."""
    publish_tenant_copies(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        expected = dict(
            con.execute(
                "select connection_name, list((date, revenue_cents) order by date) "
                "from marts.daily group by 1"
            ).fetchall()
        )
    for name in CONNECTIONS:
        path = tenant_serving_path_for(warehouse, name)
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute(
                "select list((date, revenue_cents) order by date), "
                "count(distinct connection_name) from marts.daily"
            ).fetchone()
            assert rows == (expected[name], 1)
            assert con.execute(
                "select currency, usd_per_unit::double from marts.rates"
            ).fetchall() == [("EUR", 1.08)]
            columns = con.execute("select * from marts.daily limit 0").description
            assert [column[0] for column in columns] == ["connection_name", "date", "revenue_cents"]
    left = sorted(path.name for path in warehouse.parent.iterdir())
    assert left == ["tenants", "warehouse.duckdb"]  # the staging file and its spill are gone


@pytest.mark.parametrize(
    ("change", "copied"),
    [
        # One cent on one day of one tenant: that tenant only.
        (
            "update marts.daily set revenue_cents = revenue_cents + 1 "
            "where connection_name = 'beta' and date = date '2026-02-10'",
            ["beta"],
        ),
        # The same rows in another order: nobody.
        (
            "create or replace table marts.daily as select * from marts.daily "
            "order by revenue_cents desc",
            [],
        ),
        # A row moved from one tenant to another: both.
        (
            "update marts.daily set connection_name = 'gamma' "
            "where connection_name = 'alpha' and date = date '2026-01-05'",
            ["alpha", "gamma"],
        ),
        # Shared reference data, a new column, a changed macro: everyone.
        ("update marts.rates set usd_per_unit = 1.09", list(CONNECTIONS)),
        ("alter table marts.daily add column note varchar", list(CONNECTIONS)),
        (
            "create or replace macro marts.revenue(name) as table select 0 as cents",
            list(CONNECTIONS),
        ),
    ],
)
def test_a_change_republishes_exactly_the_tenants_that_read_it(
    warehouse: Path, change: str, copied: list[str]
) -> None:
    publish_tenant_copies(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(change)
    result = publish_tenant_copies(warehouse)
    assert sorted(result.copied) == copied
    if "revenue_cents + 1" in change:
        with duckdb.connect(str(result.paths["beta"]), read_only=True) as con:
            cents = con.execute(
                "select revenue_cents from marts.daily where date = date '2026-02-10'"
            ).fetchone()
        with duckdb.connect(str(warehouse), read_only=True) as con:
            expected = con.execute(
                "select revenue_cents from marts.daily "
                "where connection_name = 'beta' and date = date '2026-02-10'"
            ).fetchone()
        assert cents == expected


def test_a_deleted_tenant_file_or_lost_digest_is_published_again(warehouse: Path) -> None:
    publish_tenant_copies(warehouse)
    alpha = tenant_serving_path_for(warehouse, "alpha")
    alpha.unlink()  # someone removed the file: its recorded digest no longer counts
    beta = tenant_serving_path_for(warehouse, "beta")
    beta.with_name(beta.name + ".fingerprint").unlink()  # a crash before the digest was written
    result = publish_tenant_copies(warehouse)
    assert sorted(result.copied) == ["alpha", "beta"]
    assert alpha.exists() and recorded_fingerprint(beta) is not None


def test_removing_a_tenant_copy_removes_its_digest(warehouse: Path) -> None:
    publish_tenant_copies(warehouse)
    gamma = tenant_serving_path_for(warehouse, "gamma")
    assert remove_tenant_copy(gamma) and not gamma.exists()
    assert not gamma.with_name(gamma.name + ".fingerprint").exists()
    assert not remove_tenant_copy(gamma)


LIVE_STAGING = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table rows as select range from range(1000)")
print("ready", flush=True)
sys.stdin.readline()
con.execute("insert into rows select range from range(10)")
print(con.execute("select count(*) from rows").fetchone()[0], flush=True)
"""


def test_a_killed_publications_staging_is_removed_and_a_live_one_kept(warehouse: Path) -> None:
    """A staging file nobody writes (its publication was killed) goes with its WAL and spill
    directory at the next publication; one another process is writing stays and works on."""
    abandoned = warehouse.with_name(f".{warehouse.stem}.tenant-staging.killed")
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import duckdb; duckdb.connect({str(abandoned)!r})"
            ".execute('create table t as select 1')",
        ],
        check=True,
    )
    abandoned.with_name(abandoned.name + ".wal").write_bytes(b"")
    (spill := Path(f"{abandoned}.tmp")).mkdir()
    (spill / "block").write_bytes(b"x")
    live = warehouse.with_name(f".{warehouse.stem}.tenant-staging.live")
    writer = subprocess.Popen(
        [sys.executable, "-c", LIVE_STAGING, str(live)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdin is not None
        assert writer.stdout.readline().strip() == "ready"
        publish_tenant_copies(warehouse)
        assert not abandoned.exists() and not spill.exists()
        assert not abandoned.with_name(abandoned.name + ".wal").exists()
        assert live.exists()
        writer.stdin.write("\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "1010"  # its file was left alone
    finally:
        writer.kill()
        writer.wait()

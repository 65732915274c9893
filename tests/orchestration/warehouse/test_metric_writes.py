"""raw.polar_metrics without a key index (schema 5): a schema-4 warehouse is migrated with its
rows, and replacing a window keeps exactly one row per (connection, organization, date, slug)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.warehouse import files, schema, writes

KEYED_METRICS_DDL = schema.METRICS_DDL[: -len(")")] + (
    ", primary key (connection_name, organization_id, date, metric_slug))"
)
DAY = date(2026, 11, 1)


def frame(values: dict[tuple[str, date, str], float], fetched_at: datetime) -> pd.DataFrame:
    """`raw.polar_metrics` rows of connection `c`: {(organization, date, slug): value}."""
    return pd.DataFrame(
        [("c", org, day, slug, value, fetched_at) for (org, day, slug), value in values.items()],
        columns=schema.METRIC_COLUMNS,
    )


def replace(
    con: duckdb.DuckDBPyConnection, scopes: list[str], start: date, end: date, rows: pd.DataFrame
) -> int:
    with files.transaction(con):
        return writes.replace_metrics(
            con, connection_name="c", scopes=scopes, start=start, end=end, frames=[rows]
        )


def stored(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "select connection_name, organization_id, date, metric_slug, value "
        "from raw.polar_metrics order by all"
    ).fetchall()


def test_a_version_4_warehouse_loses_the_metrics_key_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    for statement in (*schema.RAW_DDL, schema.REVISIONS_DDL):
        con.execute(statement.replace(schema.METRICS_DDL, KEYED_METRICS_DDL))
    con.execute("insert into raw.polar_metrics values ('c', 'o1', ?, 'revenue', 5, now())", [DAY])
    con.execute("create table raw.schema_version(version integer)")
    con.execute("insert into raw.schema_version values (4)")
    assert con.execute(
        "select count(*) from duckdb_constraints() where table_name = 'polar_metrics' "
        "and constraint_type = 'PRIMARY KEY'"
    ).fetchall() == [(1,)]
    con.close()
    with files.open_warehouse(path) as con:
        keys = con.execute(
            "select count(*) from duckdb_constraints() where table_name = 'polar_metrics' "
            "and constraint_type = 'PRIMARY KEY'"
        ).fetchall()
        columns = [r[0] for r in con.execute("describe raw.polar_metrics").fetchall()]
        version = con.execute("select version from raw.schema_version").fetchall()
        assert stored(con) == [("c", "o1", DAY, "revenue", 5.0)]
    assert (keys, version) == ([(0,)], [(schema.SCHEMA_VERSION,)])
    assert columns == schema.METRIC_COLUMNS


def test_replacing_a_window_keeps_one_row_per_key_and_leaves_the_rest(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    days = [DAY + timedelta(days=i) for i in range(3)]
    with files.open_warehouse(tmp_path / "w.duckdb") as con:
        first = {(org, d, "revenue"): 1.0 for org in ("o1", "o2") for d in days}
        assert replace(con, ["o1", "o2"], days[0], days[-1], frame(first, now)) == 6
        # o1's window again: new values, one day fewer (Polar no longer answers it).
        again = {("o1", d, "revenue"): 2.0 for d in days[:2]}
        assert replace(con, ["o1"], days[0], days[-1], frame(again, now)) == 2
        rows = stored(con)
        revisions = con.execute(
            "select organization_id, date, previous_value, value from raw.polar_metric_revisions "
            "order by all"
        ).fetchall()
    assert rows == sorted(
        [("c", "o1", d, "revenue", 2.0) for d in days[:2]]
        + [("c", "o2", d, "revenue", 1.0) for d in days]
    )
    # Both days had ended when first stored (November 2026): Polar restated them.
    assert revisions == [("o1", d, 1.0, 2.0) for d in days[:2]]


@pytest.mark.parametrize("problem", ["outside the window", "key twice"])
def test_rows_that_would_break_one_row_per_key_are_refused_and_nothing_is_written(
    tmp_path: Path, problem: str
) -> None:
    now = datetime.now(UTC)
    with files.open_warehouse(tmp_path / "w.duckdb") as con:
        replace(con, ["o1"], DAY, DAY, frame({("o1", DAY, "revenue"): 1.0}, now))
        if problem == "outside the window":
            bad = frame({("o1", DAY, "revenue"): 2.0, ("o1", DAY + timedelta(1), "mrr"): 3.0}, now)
        else:
            bad = pd.concat([frame({("o1", DAY, "revenue"): 2.0}, now)] * 2)
        with pytest.raises(ValueError, match="nothing was written"):
            replace(con, ["o1"], DAY, DAY, bad)
        assert stored(con) == [("c", "o1", DAY, "revenue", 1.0)]

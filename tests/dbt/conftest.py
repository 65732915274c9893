"""Fixtures: dbt parsed once per session, and a synthetic raw warehouse built with it."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.dbt.dbt_runner import WAREHOUSE_FILE_NAME, DbtOutcome, DbtSession
from tests.dbt.raw_fixture import DailyValues, create_raw_warehouse


@dataclass
class BuiltWarehouse:
    """A warehouse whose marts were built, and the daily series it was filled from."""

    path: Path
    series: dict[str, list[DailyValues]]
    build: DbtOutcome


def query(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of a read-only query."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql, params or []).fetchall()


@pytest.fixture(scope="session")
def dbt_session(tmp_path_factory: pytest.TempPathFactory) -> DbtSession:
    """The real dbt with the project parsed once."""
    return DbtSession(tmp_path_factory.mktemp("dbt_parse"))


@pytest.fixture(scope="session")
def synthetic_warehouse(
    dbt_session: DbtSession, tmp_path_factory: pytest.TempPathFactory
) -> BuiltWarehouse:
    """The synthetic raw tables (eur + usd organizations, one blocked) and `dbt build` once."""
    work_dir = tmp_path_factory.mktemp("synthetic")
    path = work_dir / WAREHOUSE_FILE_NAME
    series = create_raw_warehouse(path)
    return BuiltWarehouse(path, series, dbt_session.build(path, work_dir))

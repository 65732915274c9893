"""The DuckDB warehouse as a Dagster resource (key `warehouse`)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from connectors.polar.config import PolarSettings
from orchestration.warehouse.files import open_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file: writers inside the `duckdb_warehouse` pool, readers read-only."""

    path: str | None = Field(
        default=None, description="DuckDB file; default POLAR_METRICS_WAREHOUSE or the state dir."
    )

    def file(self) -> Path:
        """The warehouse file path."""
        if self.path:
            return Path(self.path).expanduser()
        return PolarSettings.from_env().warehouse_path

    @contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection (raises WarehouseError when there is no warehouse yet)."""
        with open_warehouse(self.file(), read_only=True) as con:
            yield con


def env_or_none(name: str) -> str | dg.EnvVar | None:
    """`dg.EnvVar(name)` when the variable is set (secrets stay out of run config), else None."""
    return dg.EnvVar(name) if os.environ.get(name) else None


defs = dg.Definitions(resources={"warehouse": WarehouseResource()})

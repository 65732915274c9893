"""A warehouse filled the product's way: the emulator over loopback HTTP, the real OAuth flow,
the real extraction (`orchestration.extract`) into the warehouse, then real dbt."""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from connectors.polar.client import PolarClient
from connectors.polar.config import PolarSettings
from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.server import run_emulator
from orchestration.cli.headless import (
    connect_headless,
    emulator_environment,
    reserved_loopback_port,
)
from orchestration.extract.entities import ENTITY_ORDER, sync_entity
from orchestration.extract.entity_run import SyncPolicy
from orchestration.extract.metrics import refresh_metrics
from orchestration.extract.organizations import sync_organizations
from orchestration.extract.scopes import local_today, metrics_window
from tests.dbt.dbt_runner import WAREHOUSE_FILE_NAME, DbtOutcome, DbtSession
from tests.fake_polar.fixtures import TEST_PII

CONNECTION = "default"


@dataclass
class EmulatedWarehouse:
    """A built warehouse, the API client that filled it, and what it was filled with."""

    scenario: str
    timezone: str  # the reporting timezone of the refresh (POLAR_METRICS_TIMEZONE)
    path: Path
    client: PolarClient
    organization_ids: list[str]  # the queried (active) organizations
    today: date
    build: DbtOutcome


@contextmanager
def emulated_warehouse(
    dbt_session: DbtSession,
    work_dir: Path,
    scenario: str,
    timezone: str = "UTC",
    entities: bool = False,
    **config: object,
) -> Iterator[EmulatedWarehouse]:
    """Run the emulator, connect, extract the window in the reporting `timezone` (and, with
    `entities`, sync every entity right after, as one refresh does), `dbt build`; yield while
    the emulator still serves."""
    # One fixed "now" for the emulator and the loader, so today's values cannot move between
    # the load and the comparison.
    now = datetime.now(UTC).replace(microsecond=0)
    with ExitStack() as stack:
        port = stack.enter_context(reserved_loopback_port())
        emulator_config = EmulatorConfig(
            scenario=scenario,
            auto_approve=True,
            redirect_uris=(f"http://127.0.0.1:{port}/callback",),
            now=now,
            **config,  # type: ignore[arg-type]
        )
        emulator = stack.enter_context(run_emulator(emulator_config))
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        env = emulator_environment(
            emulator.base_url, emulator.client_id, emulator.client_secret, work_dir
        )
        env["POLAR_METRICS_WAREHOUSE"] = str(work_dir / WAREHOUSE_FILE_NAME)
        env["POLAR_METRICS_TIMEZONE"] = timezone
        for name, value in env.items():
            patch.setenv(name, value)
        settings = PolarSettings.from_env()
        connection = connect_headless(settings, CONNECTION, port)
        with PolarClient(settings.environment.api_base_url, connection.http_auth()) as client:
            organizations = sync_organizations(
                client,
                warehouse_path=settings.warehouse_path,
                connection_name=CONNECTION,
                environment=settings.environment.name,
                connection_status="active",
            )
            today = local_today(timezone, now)
            refresh_metrics(
                client,
                warehouse_path=settings.warehouse_path,
                connection_name=CONNECTION,
                organizations=organizations,
                timezone=timezone,
                window=metrics_window(today, settings.window_days),
                concurrency=4,
            )
            for entity in ENTITY_ORDER if entities else ():
                sync_entity(
                    client,
                    warehouse_path=settings.warehouse_path,
                    connection_name=CONNECTION,
                    organizations=organizations,
                    entity=entity,
                    policy=SyncPolicy(),
                    pii=TEST_PII,
                    now=lambda: now,
                    concurrency=2,
                )
            build = dbt_session.build(settings.warehouse_path, work_dir)
            yield EmulatedWarehouse(
                scenario=scenario,
                timezone=timezone,
                path=settings.warehouse_path,
                client=client,
                organization_ids=[o.id for o in organizations if o.is_queried],
                today=today,
                build=build,
            )

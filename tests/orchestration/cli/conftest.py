"""Fixtures: a connected state (token store + warehouse) and the real CLI run as a subprocess.

Each bad-input test runs `.venv/bin/polar-metrics ...` with one setting broken and checks that
the command fails with a message saying what is wrong and what to do, prints no Python
traceback, leaks no secret, and leaves the token store and the warehouse as they were.
"""

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from connectors.polar.token_store import TokenStore
from tests.soak.harness import CONNECTION, SoakPolar, refresh_round, soak_polar

CLI = Path(sys.executable).with_name("polar-metrics")
WINDOW_DAYS = 7


@dataclass
class ConnectedState:
    """A connected `default` connection and a loaded warehouse, with the env that reaches them."""

    polar: SoakPolar
    env: dict[str, str]
    token_store: Path
    warehouse: Path
    loaded: list[tuple[object, ...]] = field(default_factory=list)  # raw row counts after load

    def cli(
        self, *args: str, timeout: float = 120, **overrides: str
    ) -> subprocess.CompletedProcess[str]:
        """Run the real CLI with the state's environment plus `overrides` ('' = unset).

        Whatever the outcome, neither the client secret nor the token keys may appear in it.
        """
        result = run_cli(self.env, *args, timeout=timeout, **overrides)
        output = result.stdout + result.stderr
        for name in ("POLAR_CLIENT_SECRET", "POLAR_TOKEN_KEYS"):
            secret = self.env[name].split(":")[-1]
            assert secret not in output, f"{name} leaked into the output of {args}"
        return result


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 120, **overrides: str
) -> subprocess.CompletedProcess[str]:
    """`polar-metrics ARGS` in a subprocess; a variable overridden with '' is removed."""
    merged = {**env, **overrides}
    merged = {name: value for name, value in merged.items() if value != ""}
    return subprocess.run(
        [str(CLI), *args],
        env=merged,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_clean_failure(
    result: subprocess.CompletedProcess[str], *needles: str, secrets: tuple[str, ...] = ()
) -> str:
    """Non-zero exit, no traceback, every needle in the output (case-insensitive); the output."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle.lower() in output.lower(), f"{needle!r} not in:\n{output}"
    for secret in secrets:
        assert secret not in output, "a secret was echoed"
    return output


def token_row(path: Path) -> tuple[object, ...]:
    """What must never change by a failed command: status, generation and both ciphertexts."""
    row = TokenStore(path).read(CONNECTION)
    assert row is not None
    return (row.status, row.generation, row.access_token_ct, row.refresh_token_ct)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def warehouse_content(path: Path) -> list[tuple[object, ...]]:
    """Row counts of every raw table (opened read-only)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw' "
                "order by 1"
            ).fetchall()
        ]
        return [
            (name, con.execute(f"select count(*) from raw.{name}").fetchone()[0]) for name in tables
        ]
    finally:
        con.close()


@pytest.fixture(scope="module")
def connected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectedState]:
    """An emulator with two organizations, connected, and one refresh loaded into the warehouse."""
    with soak_polar(tmp_path_factory.mktemp("bad-input-state"), 2) as polar:
        settings = polar.settings
        refresh_round(settings, settings.warehouse_path, window_days=WINDOW_DAYS)
        env = {**os.environ, "POLAR_METRICS_WINDOW_DAYS": str(WINDOW_DAYS)}
        yield ConnectedState(
            polar,
            env,
            settings.token_store_path,
            settings.warehouse_path,
            warehouse_content(settings.warehouse_path),
        )

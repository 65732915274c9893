"""Helpers shared by the connection tests: run the CLI and the worker, poke the store."""

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.polar.config import PolarSettings
from connectors.polar.crypto import KeyRing
from connectors.polar.token_store import TokenStore

REPO = Path(__file__).resolve().parents[3]
CLI = str(REPO / ".venv" / "bin" / "polar-metrics")


def process_env(env: dict[str, str], **extra: str) -> dict[str, str]:
    """A child-process environment: ours plus the test settings, unbuffered output."""
    return {**os.environ, **env, "PYTHONUNBUFFERED": "1", **extra}


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `polar-metrics ARGS` to completion."""
    return subprocess.run(
        [CLI, *args], env=process_env(env), capture_output=True, text=True, timeout=60, cwd=REPO
    )


STARTED: list[subprocess.Popen[str]] = []  # killed at teardown if a test left one running


def worker(env: dict[str, str], *args: str, **extra: str) -> subprocess.Popen[str]:
    """Start the test worker process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.connectors.polar.refresh_worker", *args],
        env=process_env(env, **extra),
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    STARTED.append(process)
    return process


def expire_in_store(settings: PolarSettings, name: str = "default") -> int:
    """Make the stored access token look expired; the new generation."""
    store = TokenStore(settings.token_store_path)
    row = store.read(name)
    assert row is not None
    past = datetime.now(UTC) - timedelta(minutes=5)
    return store.update(row.with_changes(access_token_expires_at=past)).generation


def stored_access_token(settings: PolarSettings, name: str = "default") -> str:
    """The plaintext access token in the store (test-side decryption)."""
    row = TokenStore(settings.token_store_path).read(name)
    assert row is not None and row.access_token_ct
    ring = KeyRing.parse(settings.token_keys)
    return ring.decrypt(row.access_token_ct, connection=name, field_name="access_token")


def fingerprint(token: str) -> str:
    """What the worker reports for a bearer token."""
    return hashlib.sha256(f"Bearer {token}".encode()).hexdigest()[:16]


def generation(settings: PolarSettings, name: str = "default") -> int:
    """The stored generation of connection `name`."""
    row = TokenStore(settings.token_store_path).read(name)
    assert row is not None
    return row.generation

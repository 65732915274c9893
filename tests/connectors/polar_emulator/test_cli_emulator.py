"""`polar-metrics emulator` as a real subprocess, and its refusal to listen beyond loopback."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from orchestration.cli import build_parser

REPO = Path(__file__).resolve().parents[3]
CLI = REPO / ".venv" / "bin" / "polar-metrics"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_banner(process: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
        if not line and process.poll() is not None:
            break
        lines.append(line.rstrip())
        if line.startswith("Press Ctrl+C"):
            return lines
    raise AssertionError(
        f"emulator did not start: {lines} {process.stderr.read() if process.stderr else ''}"
    )


@pytest.mark.timeout(90)
def test_cli_serves_discovery_and_prints_how_to_connect(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [
            str(CLI),
            "emulator",
            "--port",
            str(port),
            "--auto-approve",
            "--client-id",
            "polar_ci_cli",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        banner = "\n".join(_wait_for_banner(process))
        document = httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration").json()
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert document["token_endpoint"] == f"http://127.0.0.1:{port}/v1/oauth2/token"
    assert f"export POLAR_ENVIRONMENT=http://127.0.0.1:{port}" in banner
    assert "export POLAR_CLIENT_ID=polar_ci_cli" in banner
    assert re.search(r"export POLAR_CLIENT_SECRET=polar_cs_\w+", banner)
    assert "redirect URI:             http://127.0.0.1:8976/callback" in banner


def test_cli_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["emulator", "--host", "0.0.0.0"])
    assert args.func(args) == 2
    assert "pass --allow-remote" in capsys.readouterr().err


def test_module_entry_point_shows_the_same_flags() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "connectors.polar_emulator", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0
    assert "--auto-approve" in result.stdout and "--access-token-lifetime" in result.stdout

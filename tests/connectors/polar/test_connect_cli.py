"""`polar-metrics connect/status/disconnect` as real processes against the emulator."""

import json
import subprocess
from pathlib import Path

from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection
from tests.connectors.polar.conftest import (
    Emulated,
    connect_in_process,
    environment_for,
    play_browser,
    start_emulator,
)
from tests.connectors.polar.helpers import CLI, REPO, process_env, run_cli


def cli_connect(env: dict[str, str], port: int, *extra: str) -> tuple[int, str, str, str]:
    """Run `connect --no-browser`, act as the browser; exit code, stdout, stderr, page text."""
    process = subprocess.Popen(
        [CLI, "connect", "--no-browser", "--port", str(port), "--timeout", "20", *extra],
        env=process_env(env),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("http"):
            break
    page = play_browser(lines[-1].strip())
    out, err = process.communicate(timeout=30)
    return process.returncode, "".join(lines) + out, err, page.text


def expected_organizations(emulator: Emulated) -> set[str]:
    """Ids of the organizations the emulator's user can see."""
    world = emulator.running.state.world
    return {org.id for org in world.visible_organizations(world.primary_user_id, [])}


def test_connect_from_the_cli_then_status_lists_the_organizations(
    env: dict[str, str], emulator: Emulated
) -> None:
    code, out, err, page = cli_connect(env, emulator.callback_port)
    assert code == 0, err
    assert "Connected — you can close this tab" in page
    assert "scope=openid+email+metrics%3Aread" in out and "code_challenge_method=S256" in out
    assert "sub_type=user" in out
    status = run_cli(env, "status", "--json")
    report = json.loads(status.stdout)
    assert status.returncode == 0
    assert report["status"] == "active" and report["usable"] is True
    assert report["environment"] == "emulator"
    assert {org["id"] for org in report["organizations"]} == expected_organizations(emulator)
    assert {o["is_queried"] for o in report["organizations"] if o["status"] != "active"} <= {False}
    assert report["access_token_expires_at"]
    assert len(report["granted_scopes"]) == 9


def test_connect_with_no_organization_is_valid_and_says_so(tmp_path: Path) -> None:
    port, context = start_emulator("empty")
    with context as running:
        emulator = Emulated(running, port)
        env = environment_for(tmp_path, emulator)
        code, out, err, _ = cli_connect(env, port)
        status = run_cli(env, "status")
    assert code == 0, err
    assert "No organization" in out
    assert status.returncode == 0
    assert "No organization" in status.stdout


def test_status_without_a_connection_exits_1(env: dict[str, str]) -> None:
    status = run_cli(env, "status", "--json")
    assert status.returncode == 1
    assert json.loads(status.stdout)["status"] == "not_connected"


def test_named_connections_coexist_and_disconnect_revokes_only_its_own(
    env: dict[str, str], settings: PolarSettings, emulator: Emulated
) -> None:
    assert cli_connect(env, emulator.callback_port, "--connection", "second")[0] == 0
    connect_in_process(settings, emulator)  # `default`, made in this process
    disconnect = run_cli(env, "disconnect", "--connection", "second")
    assert disconnect.returncode == 0
    assert "Revoked" in disconnect.stdout and "https://polar.sh/settings" in disconnect.stdout
    assert run_cli(env, "status", "--connection", "second").returncode == 1
    assert run_cli(env, "status").returncode == 0


def test_status_help_documents_the_exit_codes() -> None:
    help_text = subprocess.run([CLI, "status", "--help"], capture_output=True, text=True).stdout
    assert "exit codes" in help_text and "0  the connection is active" in help_text


def test_disconnect_when_polar_refuses_the_revocation_still_forgets_the_tokens(
    env: dict[str, str], emulator: Emulated, connected: PolarConnection
) -> None:
    emulator.control(
        "POST",
        "faults",
        {"fail_next": {"count": 5, "status": 503, "path_prefix": "/v1/oauth2/revoke"}},
    )
    result = run_cli(env, "disconnect")
    assert result.returncode == 0
    assert "Could not revoke at Polar" in result.stdout
    assert "Deleted the stored tokens" in result.stdout
    report = json.loads(run_cli(env, "status", "--json").stdout)
    assert report["status"] == "inactive" and report["usable"] is False


def test_an_organization_name_with_escape_sequences_reaches_the_terminal_inert(
    env: dict[str, str], emulator: Emulated
) -> None:
    # A name Polar accepts from any account owner: clear the screen, retitle the window, link.
    hostile = "Evil\x1b[2J\x1b]0;pwned\x07 \x1b]8;;https://x.example\x1b\\Corp\x1b]8;;\x1b\\\u202e"
    emulator.control("POST", "organizations", {"name": hostile})
    code, out, err, _ = cli_connect(env, emulator.callback_port)
    status = run_cli(env, "status")
    assert code == 0 and status.returncode == 0, err + status.stderr
    for output in (out, status.stdout):
        assert "Evil Corp" in output
        assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output

"""Tokens at rest: encrypted, bound, key rotation, clear errors, nothing leaks anywhere."""

import base64
import json
import logging
import os
from pathlib import Path

import httpx
import pytest

from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection, disconnect
from connectors.polar.crypto import generate_key_entry
from connectors.polar.errors import ConfigurationError, NeedsReauthError, TokenCryptoError
from connectors.polar.token_store import TokenStore
from tests.connectors.polar.conftest import Emulated, connect_in_process
from tests.connectors.polar.helpers import expire_in_store, run_cli, stored_access_token, worker
from tests.connectors.polar.test_connect_cli import cli_connect


def _state_bytes(home: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(home.rglob("*")) if path.is_file())


def _settings(env: dict[str, str], **changes: str) -> PolarSettings:
    return PolarSettings.from_env({**env, **changes})


def test_disconnect_revokes_at_polar_and_leaves_no_ciphertext(
    settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    old_token = stored_access_token(settings)
    row = TokenStore(settings.token_store_path).read("default")
    outcome = disconnect(settings)
    after = TokenStore(settings.token_store_path).read("default")
    userinfo = httpx.get(
        f"{emulator.base_url}/v1/oauth2/userinfo", headers={"Authorization": f"Bearer {old_token}"}
    )
    assert outcome.revoked
    assert userinfo.status_code == 401
    assert after.status == "inactive" and after.access_token_ct is None
    assert after.refresh_token_ct is None
    state = _state_bytes(settings.home)
    for ciphertext in (row.access_token_ct, row.refresh_token_ct):
        assert ciphertext.split(".")[2][:40].encode() not in state
    assert b"v1." + row.access_token_ct.split(".")[1].encode() + b"." not in state


@pytest.mark.parametrize(
    ("problem", "expected"),
    [("wrong key", "different key"), ("unknown kid", "not in POLAR_TOKEN_KEYS")],
)
def test_wrong_or_unknown_key_is_a_clear_error_and_nothing_is_reset(
    env: dict[str, str],
    settings: PolarSettings,
    connected: PolarConnection,
    problem: str,
    expected: str,
) -> None:
    kid = env["POLAR_TOKEN_KEYS"].split(":")[0]
    replacement = generate_key_entry().split(":")[1]
    other = f"{kid}:{replacement}" if problem == "wrong key" else generate_key_entry()
    before = TokenStore(settings.token_store_path).read("default")
    with pytest.raises(TokenCryptoError, match=expected):
        PolarConnection.open(_settings(env, POLAR_TOKEN_KEYS=other)).ensure_usable()
    status = run_cli({**env, "POLAR_TOKEN_KEYS": other}, "status")
    assert status.returncode == 1 and expected in status.stdout
    assert TokenStore(settings.token_store_path).read("default") == before


def test_a_31_byte_key_stops_start_up_without_echoing_it(
    env: dict[str, str], connected: PolarConnection
) -> None:
    short = "k1:" + base64.urlsafe_b64encode(os.urandom(31)).decode().rstrip("=")
    with pytest.raises(ConfigurationError, match="31 bytes"):
        PolarConnection.open(_settings(env, POLAR_TOKEN_KEYS=short))
    result = run_cli({**env, "POLAR_TOKEN_KEYS": short}, "status")
    assert result.returncode == 1 and "31 bytes" in result.stderr
    assert short.split(":")[1] not in result.stderr + result.stdout


def test_tampered_or_moved_ciphertext_is_refused_and_kept(
    env: dict[str, str],
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
) -> None:
    connect_in_process(settings, emulator, "second")
    store = TokenStore(settings.token_store_path)
    default, second = store.read("default"), store.read("second")
    moved = store.update(second.with_changes(refresh_token_ct=default.refresh_token_ct))
    envelope = default.access_token_ct
    flipped = envelope[:-2] + ("A" if envelope[-2] != "A" else "B") + envelope[-1]
    tampered = store.update(default.with_changes(access_token_ct=flipped))
    with pytest.raises(TokenCryptoError, match="altered or moved"):
        PolarConnection.open(settings, "default").ensure_usable()
    expire_in_store(settings, "second")
    with pytest.raises(TokenCryptoError, match="refresh_token of connection 'second'"):
        PolarConnection.open(settings, "second").ensure_usable()
    assert store.read("default").access_token_ct == tampered.access_token_ct
    assert store.read("second").refresh_token_ct == moved.refresh_token_ct
    assert store.read("second").status == "active"


def test_keys_rotate_moves_every_connection_to_the_primary_key(
    env: dict[str, str],
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
) -> None:
    old = env["POLAR_TOKEN_KEYS"]
    new = generate_key_entry()
    rotate = run_cli({**env, "POLAR_TOKEN_KEYS": f"{new},{old}"}, "keys", "rotate")
    assert rotate.returncode == 0, rotate.stderr
    row = TokenStore(settings.token_store_path).read("default")
    assert row.access_token_ct.startswith(f"v1.{new.split(':')[0]}.")
    only_new = PolarConnection.open(_settings(env, POLAR_TOKEN_KEYS=new))
    only_new.ensure_usable()
    with httpx.Client(auth=only_new.http_auth()) as http:
        assert http.get(f"{emulator.base_url}/v1/oauth2/userinfo").status_code == 200


def test_keys_generate_prints_a_usable_entry(env: dict[str, str]) -> None:
    result = run_cli(env, "keys", "generate")
    entry = result.stdout.strip()
    assert result.returncode == 0
    assert PolarSettings.from_env({**env, "POLAR_TOKEN_KEYS": entry}).token_keys == entry
    run = run_cli({**env, "POLAR_TOKEN_KEYS": entry}, "status")
    assert "POLAR_TOKEN_KEYS" not in run.stderr  # it parsed


def test_no_token_secret_or_key_appears_anywhere_after_a_full_run(
    env: dict[str, str],
    settings: PolarSettings,
    emulator: Emulated,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    code, out, err, page = cli_connect(env, emulator.callback_port)
    assert code == 0, err
    texts += [out, err, page]
    seen_tokens = [stored_access_token(settings)]
    for _ in range(2):  # two refreshes, in another process
        emulator.control("POST", "expire-access-tokens")
        call = worker(env, "call")
        texts += list(call.communicate(timeout=30))
        seen_tokens.append(stored_access_token(settings))
    status = run_cli(env, "status", "--json")
    texts += [status.stdout, status.stderr]
    emulator.control("POST", "revoke-all")  # the failure: Polar refuses the refresh token
    connection = PolarConnection.open(settings)
    with (
        pytest.raises(NeedsReauthError) as failure,
        httpx.Client(auth=connection.http_auth()) as http,
    ):
        http.get(f"{emulator.base_url}/v1/oauth2/userinfo")
    texts += [str(failure.value), repr(failure.value), repr(connection), repr(settings)]
    texts += [repr(connection.http_auth()), caplog.text]
    haystack = "\n".join(texts).encode() + _state_bytes(settings.home)
    key = env["POLAR_TOKEN_KEYS"].split(":")[1]
    assert len(set(seen_tokens)) == 3
    for secret in [*seen_tokens, env["POLAR_CLIENT_SECRET"], key]:
        assert secret.encode() not in haystack
    assert b"polar_at_" not in haystack and b"polar_rt_" not in haystack
    assert json.loads(status.stdout)["usable"] is True

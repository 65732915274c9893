"""The key ring and the AES-256-GCM envelope: clear errors, bound ciphertexts, unique nonces."""

import base64
import os

import pytest

from connectors.polar.crypto import KeyRing, generate_key_entry
from connectors.polar.errors import ConfigurationError, TokenCryptoError


def _entry(kid: str, length: int = 32) -> str:
    return f"{kid}:" + base64.urlsafe_b64encode(os.urandom(length)).decode().rstrip("=")


def test_round_trip_under_primary_and_read_with_older_key() -> None:
    old = KeyRing.parse(_entry("old"))
    envelope = old.encrypt("polar_at_u_secret", connection="default", field_name="access_token")
    assert envelope.startswith("v1.old.")
    assert "polar_at_u_secret" not in envelope
    ring = KeyRing.parse(f"{_entry('new')},{old_entry_of(old)}")
    assert ring.primary_kid == "new"
    assert ring.decrypt(envelope, connection="default", field_name="access_token") == (
        "polar_at_u_secret"
    )
    assert ring.encrypt("x", connection="default", field_name="access_token").startswith("v1.new.")


def old_entry_of(ring: KeyRing) -> str:
    key = ring.keys[ring.primary_kid]
    return f"{ring.primary_kid}:" + base64.urlsafe_b64encode(key).decode().rstrip("=")


def test_generated_entry_parses_as_a_32_byte_key() -> None:
    ring = KeyRing.parse(generate_key_entry())
    assert len(ring.keys[ring.primary_kid]) == 32


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "POLAR_TOKEN_KEYS is not set"),
        ("nokey", "not of the form kid:base64url-key"),
        ("k1:***not-base64***", "not valid base64url"),
        (None, "is 31 bytes long"),
        ("k 1:AAAA", "invalid key id"),
        ("dup", "appears twice"),
    ],
)
def test_malformed_key_rings_stop_with_a_clear_error_that_never_echoes_the_key(
    raw: str | None, expected: str
) -> None:
    if raw is None:
        raw = _entry("short", 31)
    if raw == "dup":
        raw = f"{_entry('same')},{_entry('same')}"
    with pytest.raises(ConfigurationError, match=expected) as caught:
        KeyRing.parse(raw)
    for part in raw.replace(",", ":").split(":")[1::2]:
        if len(part) > 8:
            assert part not in str(caught.value)


def test_tampered_ciphertext_is_refused() -> None:
    ring = KeyRing.parse(_entry("k1"))
    envelope = ring.encrypt("polar_rt_u_x", connection="default", field_name="refresh_token")
    body = bytearray(base64.urlsafe_b64decode(envelope.split(".")[2] + "=="))
    body[20] ^= 1
    tampered = "v1.k1." + base64.urlsafe_b64encode(bytes(body)).decode().rstrip("=")
    with pytest.raises(TokenCryptoError, match="altered or moved"):
        ring.decrypt(tampered, connection="default", field_name="refresh_token")


@pytest.mark.parametrize(
    ("connection", "field_name"), [("other", "refresh_token"), ("default", "access_token")]
)
def test_ciphertext_moved_to_another_connection_or_field_is_refused(
    connection: str, field_name: str
) -> None:
    ring = KeyRing.parse(_entry("k1"))
    envelope = ring.encrypt("polar_rt_u_x", connection="default", field_name="refresh_token")
    with pytest.raises(TokenCryptoError, match="moved from another connection or field"):
        ring.decrypt(envelope, connection=connection, field_name=field_name)


def test_wrong_key_under_the_same_id_is_refused() -> None:
    envelope = KeyRing.parse(_entry("k1")).encrypt("t", connection="c", field_name="f")
    with pytest.raises(TokenCryptoError, match="different key"):
        KeyRing.parse(_entry("k1")).decrypt(envelope, connection="c", field_name="f")


def test_unknown_key_id_names_the_missing_id() -> None:
    envelope = KeyRing.parse(_entry("retired")).encrypt("t", connection="c", field_name="f")
    with pytest.raises(TokenCryptoError, match="key id 'retired', which is not in POLAR_TOKEN"):
        KeyRing.parse(_entry("k2")).decrypt(envelope, connection="c", field_name="f")


def test_garbage_envelope_is_refused_clearly() -> None:
    with pytest.raises(TokenCryptoError, match="not a valid v1 ciphertext envelope"):
        KeyRing.parse(_entry("k1")).decrypt("v1.k1.abc", connection="c", field_name="f")


def test_one_hundred_thousand_encryptions_never_repeat_a_nonce() -> None:
    ring = KeyRing.parse(_entry("k1"))
    nonces = set()
    for _ in range(100_000):
        envelope = ring.encrypt("polar_at_u_same", connection="c", field_name="f")
        nonces.add(base64.urlsafe_b64decode(envelope[6:] + "==")[:12])
    assert len(nonces) == 100_000


def test_repr_of_key_ring_hides_the_keys() -> None:
    entry = _entry("k1")
    ring = KeyRing.parse(entry)
    assert entry.split(":")[1] not in repr(ring)
    assert "***" in repr(ring) and "***" in str(ring)

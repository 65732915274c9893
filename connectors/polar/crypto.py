"""Encryption of tokens at rest: a key ring from `POLAR_TOKEN_KEYS` and an AES-256-GCM envelope.

Envelope: `v1.<kid>.<base64url(nonce || ciphertext || tag)>`, a fresh 12-byte random nonce per
encryption, a 16-byte tag. The associated data binds each ciphertext to its connection and field,
so a ciphertext copied to another row or column fails to decrypt instead of being used.
"""

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from connectors.polar.errors import ConfigurationError, TokenCryptoError

ENVELOPE_VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEYS_VARIABLE = "POLAR_TOKEN_KEYS"
_KID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class KeyRing:
    """Named AES-256 keys; the first is the primary (used for every new encryption)."""

    keys: dict[str, bytes] = field(repr=False)
    primary_kid: str

    def __repr__(self) -> str:
        return f"KeyRing(primary={self.primary_kid!r}, kids={list(self.keys)!r}, keys=***)"

    __str__ = __repr__

    @classmethod
    def parse(cls, raw: str | None) -> "KeyRing":
        """The key ring from `kid:base64url(32 bytes)[,kid:key...]`, or a ConfigurationError."""
        if raw is None or not raw.strip():
            raise ConfigurationError(
                f"{KEYS_VARIABLE} is not set: generate a key with `polar-metrics keys generate` "
                f"and export {KEYS_VARIABLE}=<the printed kid:key>."
            )
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(raw.split(","), start=1):
            kid, key = _parse_entry(entry.strip(), position)
            if kid in keys:
                raise ConfigurationError(
                    f"{KEYS_VARIABLE}: key id {kid!r} appears twice; every key needs its own id."
                )
            keys[kid] = key
        return cls(keys=keys, primary_kid=next(iter(keys)))

    def encrypt(self, plaintext: str, *, connection: str, field_name: str) -> str:
        """The envelope of `plaintext` under the primary key, bound to connection and field."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.primary_kid]).encrypt(
            nonce, plaintext.encode("utf-8"), _associated_data(connection, field_name)
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{ENVELOPE_VERSION}.{self.primary_kid}.{body}"

    def decrypt(self, envelope: str, *, connection: str, field_name: str) -> str:
        """The plaintext of an envelope, or a TokenCryptoError saying why and what to do."""
        where = f"the stored {field_name} of connection {connection!r}"
        version, kid, blob = _split_envelope(envelope, where)
        if kid not in self.keys:
            raise TokenCryptoError(
                f"{where} was encrypted with key id {kid!r}, which is not in {KEYS_VARIABLE}. "
                f"Add that key back to {KEYS_VARIABLE} (after the primary), or reconnect with "
                f"`polar-metrics connect --connection {connection}`."
            )
        try:
            plain = AESGCM(self.keys[kid]).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(connection, field_name)
            )
        except InvalidTag:
            raise TokenCryptoError(
                f"{where} cannot be decrypted with key id {kid!r}: either that id holds a "
                "different key than the one used to encrypt, or the ciphertext was altered or "
                f"moved from another connection or field. Restore the right key in "
                f"{KEYS_VARIABLE}, or reconnect with `polar-metrics connect --connection "
                f"{connection}`. Nothing was changed."
            ) from None
        return plain.decode("utf-8")

    def key_id_of(self, envelope: str) -> str:
        """The key id an envelope was encrypted with."""
        return _split_envelope(envelope, "a stored ciphertext")[1]


def generate_key_entry(now: datetime | None = None) -> str:
    """A new `kid:key` entry for `POLAR_TOKEN_KEYS` (32 random bytes, base64url)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d")
    kid = f"k{stamp}{secrets.token_hex(2)}"
    key = base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii").rstrip("=")
    return f"{kid}:{key}"


def _parse_entry(entry: str, position: int) -> tuple[str, bytes]:
    # Messages name the position and key id only: the key itself is never echoed.
    kid, sep, encoded = entry.partition(":")
    kid = kid.strip()
    if not sep or not kid or not encoded.strip():
        raise ConfigurationError(
            f"{KEYS_VARIABLE}: entry {position} is not of the form kid:base64url-key "
            "(generate one with `polar-metrics keys generate`)."
        )
    if not _KID_PATTERN.match(kid):
        raise ConfigurationError(
            f"{KEYS_VARIABLE}: entry {position} has an invalid key id; use 1-32 characters "
            "from A-Z, a-z, 0-9, '_' and '-'."
        )
    key = _decode_key(encoded.strip(), kid)
    return kid, key


def _decode_key(encoded: str, kid: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        key = None
    if key is None or not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", encoded):
        raise ConfigurationError(
            f"{KEYS_VARIABLE}: key {kid!r} is not valid base64url; generate a new key with "
            "`polar-metrics keys generate`."
        )
    if len(key) != KEY_BYTES:
        raise ConfigurationError(
            f"{KEYS_VARIABLE}: key {kid!r} is {len(key)} bytes long; AES-256 needs exactly "
            f"{KEY_BYTES} bytes (generate one with `polar-metrics keys generate`)."
        )
    return key


def _split_envelope(envelope: str, where: str) -> tuple[str, str, bytes]:
    parts = envelope.split(".") if isinstance(envelope, str) else []
    blob = b""
    if len(parts) == 3 and parts[0] == ENVELOPE_VERSION:
        try:
            blob = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        except (binascii.Error, ValueError):
            blob = b""
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise TokenCryptoError(
            f"{where} is not a valid {ENVELOPE_VERSION} ciphertext envelope (damaged token "
            "store?). Nothing was changed; reconnect with `polar-metrics connect` if it persists."
        )
    return parts[0], parts[1], blob


def _associated_data(connection: str, field_name: str) -> bytes:
    return f"polar-metrics/{ENVELOPE_VERSION}|{connection}|{field_name}".encode()

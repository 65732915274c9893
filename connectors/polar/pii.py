"""Customer personal data in entity items: kept, replaced by a keyed hash, or dropped.

`POLAR_METRICS_CUSTOMER_PII=hash` (default) replaces email, name, billing name, the street part
of the billing address, the tax id and the avatar URL (Polar derives it from the email) with
HMAC-SHA256 under a key of ours: the same value always gives the same hash (joins and distinct
counts work) but the value cannot be recovered without the key. `drop` replaces them with null;
`keep` stores Polar's values. Country and state of the billing address stay (coarse geography).

Person objects are the customer entity itself and the `customer`/`user` objects embedded in
orders and subscriptions; orders also carry their own `billing_name` and `billing_address`.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from connectors.polar.config import PII_MODES, PolarSettings
from connectors.polar.crypto import KeyRing
from connectors.polar.errors import ConfigurationError

PII_KEY_VARIABLE = "POLAR_METRICS_PII_KEY"
HASH_PREFIX = "pii_"
_DERIVATION_INFO = b"polar-metrics/customer-pii-hash/v1"
_PERSON_TEXT_FIELDS = ("email", "name", "public_name", "avatar_url")
_ADDRESS_TEXT_FIELDS = ("line1", "line2", "postal_code", "city")
_EMBEDDED_PEOPLE = ("customer", "user")

Item = dict[str, Any]


@dataclass(frozen=True)
class PiiPolicy:
    """What to do with personal fields: `hash` (keyed), `keep` or `drop`."""

    mode: str
    key: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if self.mode not in PII_MODES:
            raise ConfigurationError(f"unknown PII mode {self.mode!r}; use hash, keep or drop.")
        if self.mode == "hash" and len(self.key) < 16:
            raise ConfigurationError("the PII hash key must be at least 16 bytes.")

    @property
    def signature(self) -> str:
        """Mode plus a fingerprint of the key (safe to store): a change means re-hashing."""
        if self.mode != "hash":
            return self.mode
        fingerprint = hmac.new(self.key, b"polar-metrics/pii-fingerprint", hashlib.sha256)
        return f"hash:{fingerprint.hexdigest()[:16]}"

    def hash_value(self, value: str, *, is_email: bool = False) -> str:
        """The keyed hash of one value (emails compared case-insensitively)."""
        text = value.strip().lower() if is_email else value
        digest = hmac.new(self.key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{HASH_PREFIX}{digest[:40]}"

    def scrub(self, entity: str, item: Item) -> Item:
        """A copy of `item` with its personal fields hashed or dropped (as is under `keep`)."""
        if self.mode == "keep":
            return item
        if entity == "customers":
            return self._person(item)
        scrubbed = self._billing(dict(item))
        for key in _EMBEDDED_PEOPLE:
            if isinstance(scrubbed.get(key), dict):
                scrubbed[key] = self._person(scrubbed[key])
        return scrubbed

    def _person(self, person: Item) -> Item:
        scrubbed = self._billing(dict(person))
        for name in _PERSON_TEXT_FIELDS:
            if name in scrubbed:
                scrubbed[name] = self._text(scrubbed[name], is_email=name == "email")
        tax_id = scrubbed.get("tax_id")
        if isinstance(tax_id, list) and tax_id:  # Polar's TaxID: [number, type]
            scrubbed["tax_id"] = [self._text(tax_id[0]), *tax_id[1:]]
        elif isinstance(tax_id, str):
            scrubbed["tax_id"] = self._text(tax_id)
        return scrubbed

    def _billing(self, holder: Item) -> Item:
        if "billing_name" in holder:
            holder["billing_name"] = self._text(holder["billing_name"])
        address = holder.get("billing_address")
        if isinstance(address, dict):
            holder["billing_address"] = {
                key: self._text(value) if key in _ADDRESS_TEXT_FIELDS else value
                for key, value in address.items()
            }
        return holder

    def _text(self, value: Any, *, is_email: bool = False) -> Any:
        if value is None or self.mode == "keep":
            return value
        if self.mode == "drop":
            return None
        return self.hash_value(str(value), is_email=is_email)


def pii_policy(settings: PolarSettings) -> PiiPolicy:
    """The policy of `POLAR_METRICS_CUSTOMER_PII`, with its key when it hashes."""
    if settings.customer_pii != "hash":
        return PiiPolicy(settings.customer_pii)
    return PiiPolicy("hash", pii_key(settings))


def pii_key(settings: PolarSettings) -> bytes:
    """`POLAR_METRICS_PII_KEY` (base64url, >= 16 bytes), else derived from the token key ring.

    The derived key follows the ring's primary key: rotating `POLAR_TOKEN_KEYS` changes every
    hash (the next sync re-hashes everything). Set POLAR_METRICS_PII_KEY to keep hashes stable.
    """
    if settings.pii_key:
        return _decode_pii_key(settings.pii_key)
    ring = KeyRing.parse(settings.token_keys)
    return _derive(ring.keys[ring.primary_kid])


def _derive(secret: bytes) -> bytes:
    derive: Callable[[bytes], bytes] = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_INFO
    ).derive
    return derive(secret)


def _decode_pii_key(raw: str) -> bytes:
    text = raw.strip()
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < 16:
        raise ConfigurationError(
            f"{PII_KEY_VARIABLE} must be base64url of at least 16 bytes; generate one with "
            "`polar-metrics keys generate` and use the part after the colon."
        )
    return key

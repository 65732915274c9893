"""Customer personal data: hashed with a key (stable, not reversible), dropped, or kept."""

import base64

import pytest

from connectors.polar.config import PolarSettings
from connectors.polar.crypto import generate_key_entry
from connectors.polar.errors import ConfigurationError
from connectors.polar.pii import PiiPolicy, pii_policy

KEY = b"k" * 32
CUSTOMER = {
    "id": "c1",
    "email": "Ada.Lovelace@Example.com",
    "name": "Ada Lovelace",
    "billing_name": "Ada L.",
    "billing_address": {"line1": "1 Analytical St", "line2": None, "postal_code": "75001",
                        "city": "Paris", "state": None, "country": "FR"},
    "tax_id": ["FR123", "eu_vat"],
    "avatar_url": "https://www.gravatar.com/avatar/abc?d=404",
    "external_id": "usr_1",
}  # fmt: skip
CLEAR = ("Ada", "Lovelace", "Analytical", "Paris", "75001", "FR123", "gravatar")


def test_hash_replaces_every_personal_field_and_keeps_the_rest() -> None:
    scrubbed = PiiPolicy("hash", KEY).scrub("customers", CUSTOMER)
    text = str(scrubbed)
    assert not any(value in text for value in CLEAR)
    assert scrubbed["billing_address"]["country"] == "FR"  # coarse geography stays
    assert scrubbed["tax_id"][1] == "eu_vat" and scrubbed["external_id"] == "usr_1"
    assert scrubbed["email"].startswith("pii_") and CUSTOMER["email"].startswith("Ada")  # a copy


def test_hashes_are_stable_case_insensitive_for_emails_and_keyed() -> None:
    policy = PiiPolicy("hash", KEY)
    assert policy.hash_value("a@x.com", is_email=True) == policy.hash_value(
        " A@X.com", is_email=True
    )
    assert policy.scrub("customers", CUSTOMER) == policy.scrub("customers", CUSTOMER)
    other = PiiPolicy("hash", b"z" * 32)
    assert (
        other.scrub("customers", CUSTOMER)["email"] != policy.scrub("customers", CUSTOMER)["email"]
    )
    assert policy.signature != other.signature and KEY.hex() not in policy.signature


def test_customers_embedded_in_orders_hash_like_the_customer_itself() -> None:
    policy = PiiPolicy("hash", KEY)
    user = {"id": "c1", "email": CUSTOMER["email"], "public_name": "A"}
    order = {"id": "o1", "billing_name": "Ada L.", "billing_address": CUSTOMER["billing_address"],
             "customer": CUSTOMER, "user": user, "product": {"name": "Pro plan"}}  # fmt: skip
    scrubbed = policy.scrub("orders", order)
    assert scrubbed["customer"]["email"] == policy.scrub("customers", CUSTOMER)["email"]
    assert scrubbed["user"]["email"] == scrubbed["customer"]["email"]
    assert scrubbed["product"]["name"] == "Pro plan"  # a product name is not personal
    assert not any(value in str(scrubbed) for value in CLEAR)


def test_drop_removes_personal_values_and_keep_leaves_them() -> None:
    dropped = PiiPolicy("drop").scrub("customers", CUSTOMER)
    assert dropped["email"] is None and dropped["name"] is None
    assert (
        dropped["billing_address"]["line1"] is None
        and dropped["billing_address"]["country"] == "FR"
    )
    assert PiiPolicy("keep").scrub("customers", CUSTOMER) is CUSTOMER


def test_the_setting_accepts_three_modes_and_says_what_they_mean() -> None:
    assert PolarSettings.from_env({}).customer_pii == "hash"
    assert PolarSettings.from_env({"POLAR_METRICS_CUSTOMER_PII": "DROP"}).customer_pii == "drop"
    with pytest.raises(ConfigurationError, match="'hash'.*'keep'.*'drop'"):
        PolarSettings.from_env({"POLAR_METRICS_CUSTOMER_PII": "encrypt"})


def test_the_key_is_its_own_setting_or_derived_from_the_token_key_ring() -> None:
    ring = generate_key_entry()
    derived = pii_policy(PolarSettings.from_env({"POLAR_TOKEN_KEYS": ring}))
    again = pii_policy(PolarSettings.from_env({"POLAR_TOKEN_KEYS": ring}))
    assert derived.signature == again.signature
    own_key = base64.urlsafe_b64encode(b"s" * 32).decode()
    own = pii_policy(
        PolarSettings.from_env({"POLAR_TOKEN_KEYS": ring, "POLAR_METRICS_PII_KEY": own_key})
    )
    assert own.key == b"s" * 32 and own.signature != derived.signature
    with pytest.raises(ConfigurationError, match="POLAR_METRICS_PII_KEY"):
        pii_policy(PolarSettings.from_env({"POLAR_METRICS_PII_KEY": "short"}))
    settings = PolarSettings.from_env({"POLAR_METRICS_PII_KEY": own_key})
    assert own_key not in repr(settings) and own_key not in repr(own)

"""Customers' personal data (realistic, obviously fake) and the customers merchants delete.

Everything derives from (customer seed, customer label): names from short lists, emails at
example.com, billing addresses on invented streets. Subscribers and buyers are numbered
customers (label = their index); besides them every organization gets, about every 20 days, a
customer its staff added by hand (label `m<j>`, e.g. for an invoice or a test), most of whom
are deleted again weeks later. They never buy, so deleting them changes no metric, and the
client can prove it keeps customers the list stops showing.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from connectors.polar_emulator.business.derived_ids import derived_int, derived_uuid4, hash_uniform
from connectors.polar_emulator.business.simulation_model import DAY

MANUAL_CUSTOMER_EVERY = 20 * DAY
MANUAL_DELETED_SHARE = 0.6
_FIRST = (
    "Ada", "Ben", "Chloe", "David", "Elif", "Farah", "Gustav", "Hana", "Ivan", "Julia",
    "Kenji", "Lea", "Mateo", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tara",
    "Ugo", "Vera", "Wei", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
_LAST = (
    "Anders", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes", "Ito",
    "Jansen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Patel", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Urban", "Vogel", "Walsh", "Young", "Zimmer",
)  # fmt: skip
_STREETS = (
    "Example Street", "Sample Avenue", "Placeholder Road", "Fictional Lane", "Demo Way",
    "Mockingbird Test Court", "Nowhere Boulevard", "Imaginary Place",
)  # fmt: skip
# country -> (share for USD sellers, share for EUR sellers, locale, [(city, state, postal code)])
_COUNTRIES: dict[str, tuple[float, float, str, tuple[tuple[str, str | None, str], ...]]] = {
    "US": (0.55, 0.05, "en-US", (("Springfield", "US-IL", "627"), ("Austin", "US-TX", "787"))),
    "CA": (0.1, 0.0, "en-CA", (("Toronto", "CA-ON", "M5V"), ("Vancouver", "CA-BC", "V6B"))),
    "GB": (0.1, 0.05, "en-GB", (("London", None, "EC1A"), ("Leeds", None, "LS1"))),
    "DE": (0.1, 0.45, "de-DE", (("Berlin", None, "101"), ("Hamburg", None, "201"))),
    "FR": (0.05, 0.2, "fr-FR", (("Lyon", None, "690"), ("Paris", None, "750"))),
    "NL": (0.05, 0.1, "nl-NL", (("Utrecht", None, "351"), ("Rotterdam", None, "301"))),
    "AU": (0.05, 0.0, "en-AU", (("Perth", "WA", "600"), ("Sydney", "NSW", "200"))),
    "AT": (0.0, 0.15, "de-AT", (("Vienna", None, "10"), ("Graz", None, "80"))),
}


@dataclass(frozen=True)
class Person:
    """One customer's personal data."""

    name: str
    email: str
    email_verified: bool
    external_id: str | None
    locale: str
    billing_address: dict[str, Any]


def customer_id(seed: int, label: int | str) -> str:
    """The UUID of customer `label` (an index, or `m<j>` for hand-added customers)."""
    return derived_uuid4(seed, "customer", label)


def _country(seed: int, label: int | str, currency: str) -> str:
    draw = (derived_int(seed, "country", label) % 10_000) / 10_000
    column = 1 if currency == "eur" else 0
    for country, spec in _COUNTRIES.items():
        draw -= spec[column]
        if draw < 0:
            return country
    return "US" if column == 0 else "DE"


def person(seed: int, label: int | str, currency: str) -> Person:
    """Deterministic fake personal data of customer `label` of an organization."""
    number = derived_int(seed, "person", label)
    first, last = _FIRST[number % len(_FIRST)], _LAST[number // 97 % len(_LAST)]
    country = _country(seed, label, currency)
    _, _, locale, cities = _COUNTRIES[country]
    city, state, postal = cities[number // 7 % len(cities)]
    street = f"{1 + number // 11 % 480} {_STREETS[number // 13 % len(_STREETS)]}"
    return Person(
        name=f"{first} {last}",
        email=f"{first}.{last}.{label}@example.com".lower(),
        email_verified=number % 10 != 0,
        external_id=f"usr_{number % 16**10:010x}" if number % 5 < 3 else None,
        locale=locale,
        billing_address={
            "line1": street,
            "line2": f"Suite {number % 900 + 100}" if number % 6 == 0 else None,
            "postal_code": f"{postal}{number % 100:02d}",
            "city": city,
            "state": state,
            "country": country,
        },
    )


def manual_customers(seed: int, start: float, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """(created, deleted) of the hand-added customers up to `horizon` (deleted inf = kept)."""
    count = max(0, int((horizon - start) // MANUAL_CUSTOMER_EVERY))
    keys = np.arange(count)
    created = start + (keys + 1) * MANUAL_CUSTOMER_EVERY - 5 * DAY * hash_uniform(seed, keys, 20)
    lifetime = (1 + 60 * hash_uniform(seed, keys, 21)) * DAY
    deleted = np.where(
        hash_uniform(seed, keys, 22) < MANUAL_DELETED_SHARE, created + lifetime, np.inf
    )
    keep = created < horizon
    return created[keep], deleted[keep]

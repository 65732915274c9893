"""`GET /v1/products/`: the catalogue, as Polar's `Product` schema (product/schemas.py)."""

from collections.abc import Callable
from typing import Any

import numpy as np

from connectors.polar_emulator.api.entities.listing import (
    ListParams,
    Part,
    QueryReader,
    SortKey,
    no_nulls,
)
from connectors.polar_emulator.api.entities.render import iso, iso_if_by
from connectors.polar_emulator.business.simulation_model import OrganizationHistory, Product
from connectors.polar_emulator.business.world_model import EmulatedOrganization

SORT_KEYS = ("created_at", "name", "price_amount_type", "price_amount")
VISIBILITIES = ("draft", "private", "public")


def _trial(product: Product) -> dict[str, Any]:
    trial = product.trial_days > 0
    return {
        "trial_interval": "day" if trial else None,
        "trial_interval_count": product.trial_days if trial else None,
    }


def product_base_json(org: EmulatedOrganization, product: Product, now: float) -> dict[str, Any]:
    """ProductBase + metadata: what orders embed (`OrderProduct`)."""
    recurring = product.interval is not None
    return {
        "metadata": {},
        "id": product.id,
        "created_at": iso(product.created_at),
        "modified_at": iso_if_by(product.archived_at, now),
        **_trial(product),
        "name": product.name,
        "description": product.description,
        "visibility": "public",
        "recurring_interval": product.interval,
        "recurring_interval_count": 1 if recurring else None,
        "meter_interval": None,
        "meter_interval_count": None,
        "is_recurring": recurring,
        "is_archived": product.archived_at <= now,
        "organization_id": org.id,
    }


def price_json(org: EmulatedOrganization, product: Product) -> dict[str, Any]:
    """The product's one catalog price: fixed, or seat-based with a single volume tier.

    `type` and `recurring_interval` (and `price_per_seat`) are hidden from Polar's OpenAPI
    schema but still serialized for backward compatibility.
    """
    price: dict[str, Any] = {
        "created_at": iso(product.created_at),
        "modified_at": None,
        "id": product.price_id,
        "source": "catalog",
        "amount_type": "seat_based" if product.seat_based else "fixed",
        "price_currency": org.default_presentment_currency,
        "tax_behavior": None,
        "is_archived": False,
        "product_id": product.id,
        "type": "recurring" if product.interval else "one_time",
        "recurring_interval": product.interval,
    }
    if product.seat_based:
        tier = {"min_seats": 1, "max_seats": None, "price_per_seat": product.price_amount}
        price["seat_tiers"] = {
            "seat_tier_type": "volume",
            "tiers": [tier],
            "minimum_seats": 1,
            "maximum_seats": None,
        }
        price["price_per_seat"] = product.price_amount
    else:
        price["price_amount"] = product.price_amount
    return price


def product_json(org: EmulatedOrganization, product: Product, now: float) -> dict[str, Any]:
    """The full `Product`: base fields, prices, benefits, medias, custom fields."""
    return {
        **product_base_json(org, product, now),
        "is_deletable": False,  # every product has been sold
        "prices": [price_json(org, product)],
        "benefits": [],
        "medias": [],
        "attached_custom_fields": [],
    }


def _amount_type_rank(product: Product) -> float:
    return np.nan if product.seat_based else 2.0  # custom = 1, fixed = 2, others NULL


class ProductListing:
    """Filters and sort keys of the products endpoint."""

    sort_keys = SORT_KEYS
    default_sorting = "-created_at"
    scopes = frozenset({"products:read", "products:write"})

    def __init__(self, query: QueryReader) -> None:
        self.ids = query.uuids("id")
        self.organization_ids = query.uuids("organization_id")
        self.text = query.text("query")
        self.is_archived = query.boolean("is_archived")
        self.is_recurring = query.boolean("is_recurring")
        self.benefit_ids = query.uuids("benefit_id")
        self.visibility = query.choices("visibility", VISIBILITIES)
        self.metadata = query.metadata()
        self.params: ListParams = query.list_params(SORT_KEYS, self.default_sorting)

    def rows(
        self, org: EmulatedOrganization, history: OrganizationHistory, now: float
    ) -> np.ndarray:
        """Catalogue indexes passing the filters."""
        keep = []
        for index, product in enumerate(history.products):
            archived = product.archived_at <= now
            checks = (
                product.created_at <= now,
                self.ids is None or product.id in self.ids,
                self.text is None or self.text.lower() in product.name.lower(),
                self.is_archived is None or archived == self.is_archived,
                self.is_recurring is None or (product.interval is not None) == self.is_recurring,
                self.visibility is None or "public" in self.visibility,
                self.benefit_ids is None,  # no product grants benefits
                self.metadata is None,  # every product's metadata is empty
            )
            if all(checks):
                keep.append(index)
        return np.array(keep, dtype=np.int64)

    def keys(self, now: float) -> dict[str, SortKey]:
        """Sort keys by name (NaN = NULL)."""
        return {
            "created_at": _column(lambda product: product.created_at),
            "name": _column(lambda product: product.name),
            "price_amount_type": _column(_amount_type_rank),
            "price_amount": _column(
                lambda product: np.nan if product.seat_based else float(product.price_amount)
            ),
        }

    def render(self, part: Part, rows: np.ndarray, now: float) -> list[dict[str, Any]]:
        """The products' JSON."""
        return [product_json(part.org, part.history.products[int(row)], now) for row in rows]


def _column(value: Callable[[Product], Any]) -> SortKey:
    def key(part: Part) -> tuple[np.ndarray, np.ndarray]:
        values = np.array([value(part.history.products[row]) for row in part.rows])
        if values.dtype.kind != "f":
            return no_nulls(values)
        return np.nan_to_num(values), np.isnan(values)

    return key

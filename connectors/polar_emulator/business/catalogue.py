"""An organization's product catalogue, its launch discount, and the 2024 Starter relaunch.

Organizations older than the relaunch sold Starter as "Starter (2023 plan)", archived on
STARTER_RELAUNCH: its subscribers keep it (Polar never moves them), new ones get the new Starter.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from connectors.polar_emulator.business.derived_ids import derived_int, derived_uuid4
from connectors.polar_emulator.business.simulation_model import (
    MONTH,
    YEAR,
    BusinessProfile,
    Product,
)

STARTER, PRO_MONTHLY = 0, 1
LEGACY_STARTER = 7  # only in catalogues of organizations that existed before the relaunch
STARTER_RELAUNCH = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
DISCOUNT_SHARE_OF_PRICE = 0.8  # the launch discount: 20 % off, forever
_SPECS = (
    ("Starter", "recurring", MONTH, 900, 14, False, False, "For side projects."),
    ("Pro", "recurring", MONTH, 2900, 14, False, False, "Everything, billed monthly."),
    ("Pro (yearly)", "recurring", YEAR, 29000, 0, False, False, "Everything, billed yearly."),
    ("Team", "recurring", MONTH, 1200, 14, True, False, "Per seat, for teams."),
    ("Priority support", "recurring", MONTH, 900, 0, False, True, "Answers within 4 hours."),
    ("Template pack", "one_time", 0.0, 2900, 0, False, False, "Fifty starter templates."),
    ("Lifetime license", "one_time", 0.0, 14900, 0, False, False, None),
)


@dataclass(frozen=True)
class Discount:
    """The organization's one discount: percentage, forever, from its first day."""

    id: str
    name: str
    code: str
    basis_points: int
    created_at: float


def product_catalogue(profile: BusinessProfile) -> tuple[Product, ...]:
    """The organization's products: monthly, yearly, seat-based, add-on and one-time ones."""
    scale = 1 + (derived_int(profile.seed, "prices") % 5) / 4  # 1.0 .. 2.0
    products = [
        Product(
            id=derived_uuid4(profile.seed, "product", index),
            name=name,
            billing_type=billing_type,
            interval_seconds=interval,
            price_amount=int(round(price * scale / 100) * 100 - 1) if price > 900 else price,
            trial_days=trial,
            seat_based=seats,
            add_on=add_on,
            created_at=profile.start + 60.0 * (index + 1),
            description=description,
            price_id=derived_uuid4(profile.seed, "price", index),
        )
        for index, (name, billing_type, interval, price, trial, seats, add_on, description) in (
            enumerate(_SPECS)
        )
    ]
    if profile.start < STARTER_RELAUNCH:
        legacy = replace(
            products[STARTER],
            id=derived_uuid4(profile.seed, "product", LEGACY_STARTER),
            name="Starter (2023 plan)",
            archived_at=STARTER_RELAUNCH,
            price_id=derived_uuid4(profile.seed, "price", LEGACY_STARTER),
        )
        products[STARTER] = replace(products[STARTER], created_at=STARTER_RELAUNCH)
        products.append(legacy)
    return tuple(products)


def launch_discount(profile: BusinessProfile) -> Discount:
    """The discount a tenth of the purchases use (20 % off)."""
    return Discount(
        id=derived_uuid4(profile.seed, "discount"),
        name="Launch 20%",
        code="LAUNCH20",
        basis_points=round((1 - DISCOUNT_SHARE_OF_PRICE) * 10_000),
        created_at=profile.start,
    )


def list_prices(products: tuple[Product, ...]) -> np.ndarray:
    """Price per unit of each product index."""
    return np.array([product.price_amount for product in products], dtype=np.int64)


def relaunched_products(
    products: tuple[Product, ...], product: np.ndarray, created: np.ndarray
) -> np.ndarray:
    """Starter subscriptions from before the relaunch belong to the archived 2023 plan."""
    if len(products) <= LEGACY_STARTER:
        return product
    return np.where((product == STARTER) & (created < STARTER_RELAUNCH), LEGACY_STARTER, product)

"""Currencies of the simulated businesses: fixed USD rates, the conversion rule, sales tax.

Entities carry amounts in their own (presentment) currency; Polar's metrics are USD cents of
the settlement currency. The emulator converts at a FIXED rate per currency, in exact integer
arithmetic, so a client can reproduce every metric from the entities:

    usd_cents(amount) = floor((amount * FX_TO_USD_MICROS[currency] + 500_000) / 1_000_000)

i.e. amount x rate rounded half up (amounts are never negative). MRR normalizes the converted
amount of a yearly subscription by 12, again rounded half up (Postgres `round` on numeric,
as Polar's metrics/queries.py does: convert first, then normalize).
"""

import numpy as np

MICROS = 1_000_000
# Fixed presentment -> USD rates of every scenario, in millionths (1.08 USD per EUR, ...).
FX_TO_USD_MICROS = {
    "usd": 1_000_000,
    "eur": 1_080_000,
    "gbp": 1_270_000,
    "cad": 730_000,
    "aud": 660_000,
}
DEFAULT_FX_TO_USD_MICROS = MICROS  # an unlisted currency converts 1:1
COUNTRY_BY_CURRENCY = {"usd": "US", "eur": "DE", "gbp": "GB", "cad": "CA", "aud": "AU"}
# Sales tax added on top of net_amount (tax-exclusive prices); it never enters the metrics.
TAX_BASIS_POINTS = {"eur": 1900, "gbp": 2000}
MONTHS_PER_INTERVAL = {"month": 1, "year": 12}


def fx_micros(currency: str) -> int:
    """USD per unit of `currency`, in millionths."""
    return FX_TO_USD_MICROS.get(currency.lower(), DEFAULT_FX_TO_USD_MICROS)


def divide_half_up(numerator: np.ndarray, denominator: int | np.ndarray) -> np.ndarray:
    """numerator / denominator rounded half up, exactly (non-negative integers)."""
    numerator = np.asarray(numerator, dtype=np.int64)
    return (2 * numerator + denominator) // (2 * np.asarray(denominator, dtype=np.int64))


def to_usd_cents(amounts: np.ndarray, currency: str) -> np.ndarray:
    """Presentment cents -> USD cents at the currency's fixed rate, rounded half up."""
    return divide_half_up(np.asarray(amounts, dtype=np.int64) * fx_micros(currency), MICROS)


def monthly_usd_cents(amounts: np.ndarray, months: np.ndarray, currency: str) -> np.ndarray:
    """A subscription's MRR contribution: converted amount / months per period, half up."""
    return divide_half_up(to_usd_cents(amounts, currency), np.asarray(months, dtype=np.int64))


def tax_amounts(net_amounts: np.ndarray, currency: str) -> np.ndarray:
    """Sales tax on top of `net_amounts` (0 where the emulator charges none)."""
    rate = TAX_BASIS_POINTS.get(currency.lower(), 0)
    return divide_half_up(np.asarray(net_amounts, dtype=np.int64) * rate, 10_000)


def net_revenue_cents(
    amount_usd: np.ndarray, fee_usd: np.ndarray, refund_usd: np.ndarray
) -> np.ndarray:
    """An order's net revenue: USD amount - Polar's fee - the refund net of its fee share.

    The refund share is refund_usd / amount_usd of (amount_usd - fee), rounded half up, so a
    full refund nets the order to zero. It is booked on the ORIGINAL order's day.
    """
    after_fee = np.asarray(amount_usd, dtype=np.int64) - fee_usd
    refunded = divide_half_up(after_fee * refund_usd, np.maximum(amount_usd, 1))
    return after_fee - refunded

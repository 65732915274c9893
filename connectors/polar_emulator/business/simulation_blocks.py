"""One calendar quarter of a simulated business: new subscriptions, purchases, checkouts, usage.

Each quarter draws from its own random generator, so extending the history later never changes
the quarters already generated (the past stays put while the emulator's clock moves on).
"""

from dataclasses import dataclass

import numpy as np

from connectors.polar_emulator.business.simulation_model import (
    DAY,
    MONTH,
    YEAR,
    BusinessProfile,
    Product,
)

BASE_PLANS = np.array([0, 1, 2, 3])  # Starter, Pro monthly, Pro yearly, Team (seats)
BASE_PLAN_SHARES = np.array([0.35, 0.35, 0.15, 0.15])
ADD_ON_PRODUCT = 4
ONE_TIME_PRODUCTS = np.array([5, 6])
ONE_TIME_SHARES = np.array([0.7, 0.3])
REASON_SHARES = np.array([0.08, 0.07, 0.12, 0.1, 0.06, 0.22, 0.15, 0.08, 0.12])
REASON_CODES = np.arange(REASON_SHARES.size)


@dataclass
class Block:
    """What one quarter adds; subscription columns follow `Subscriptions` (minus derived ones)."""

    subs: dict[str, np.ndarray]
    one_time: dict[str, np.ndarray]
    checkouts: dict[str, np.ndarray]
    costs: dict[str, np.ndarray]
    new_customers: int


def _pick(rng: np.random.Generator, values: np.ndarray, shares: np.ndarray, n: int) -> np.ndarray:
    """`n` draws of `values` with these shares (cheaper than Generator.choice with p=)."""
    cumulative = np.cumsum(shares)
    return values[np.searchsorted(cumulative, rng.random(n) * cumulative[-1], "right")]


def daily_rate(profile: BusinessProfile, days: np.ndarray, base: float) -> np.ndarray:
    """Expected events per day: growth since the start, quieter weekends, a 60-day ramp-up."""
    age = (days - profile.start) / YEAR
    weekday = ((days // DAY).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    weekend = np.where(weekday >= 5, 0.75, 1.0)
    ramp = np.minimum(1.0, 0.2 + (days - profile.start) / (60 * DAY))
    return base * profile.yearly_growth**age * weekend * ramp


def _events_per_day(
    rng: np.random.Generator, days: np.ndarray, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    counts = rng.poisson(rate * rng.gamma(25.0, 1 / 25.0, days.size))
    times = np.repeat(days, counts) + rng.random(int(counts.sum())) * DAY
    return counts, times


def _price_table(products: tuple[Product, ...]) -> dict[str, np.ndarray]:
    return {
        "interval": np.array([p.interval_seconds for p in products]),
        "price": np.array([p.price_amount for p in products], dtype=np.int64),
        "trial_days": np.array([p.trial_days for p in products], dtype=np.float64),
        "seat_based": np.array([p.seat_based for p in products]),
    }


def _lifetimes(
    rng: np.random.Generator,
    profile: BusinessProfile,
    product: np.ndarray,
    created: np.ndarray,
    paid_from: np.ndarray,
    interval: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(canceled_at, ended_at/ends_at): a geometric number of paid periods, some trial drop-outs."""
    n = created.size
    churn = np.where(interval >= YEAR, 0.22, profile.monthly_churn * np.where(product == 0, 1.4, 1))
    periods = rng.geometric(churn)
    canceled = paid_from + (periods - 1 + rng.random(n)) * interval
    immediate = rng.random(n) < 0.12  # revoked at once instead of at the period end
    period_end = paid_from + periods * interval
    trial_dropout = (paid_from > created) & (rng.random(n) < 0.3)  # canceled during the trial
    canceled = np.where(trial_dropout, created + rng.random(n) * (paid_from - created), canceled)
    period_end = np.where(trial_dropout, paid_from, period_end)
    return canceled, np.where(immediate, canceled, period_end)


def _base_subscriptions(
    rng: np.random.Generator,
    profile: BusinessProfile,
    table: dict[str, np.ndarray],
    created: np.ndarray,
    customer_offset: int,
) -> dict[str, np.ndarray]:
    n = created.size
    product = _pick(rng, BASE_PLANS, BASE_PLAN_SHARES, n)
    interval = table["interval"][product]
    seats = np.where(table["seat_based"][product], rng.integers(2, 11, n), 0)
    discounted = rng.random(n) < 0.1
    amount = table["price"][product] * np.maximum(seats, 1)
    amount = np.where(discounted, np.rint(amount * 0.8), amount).astype(np.int64)
    trial_days = table["trial_days"][product]
    has_trial = (trial_days > 0) & (rng.random(n) < profile.trial_share)
    paid_from = created + np.where(has_trial, trial_days * DAY, 0.0)
    canceled, end = _lifetimes(rng, profile, product, created, paid_from, interval)
    return {
        "created": created,
        "paid_from": paid_from,
        "canceled": canceled,
        "end": end,
        "reason": _pick(rng, REASON_CODES, REASON_SHARES, n),
        "amount": amount,
        "interval": interval,
        "product": product,
        "customer": customer_offset + np.arange(n),
        "add_on": np.zeros(n, dtype=bool),
        "seats": seats,
    }


def _add_ons(
    rng: np.random.Generator, base: dict[str, np.ndarray], table: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Second subscriptions that never outlive (nor outlast the cancellation of) their base."""
    chosen = np.flatnonzero(
        (base["end"] > base["paid_from"]) & (rng.random(base["end"].size) < 0.08)
    )
    m = chosen.size
    created = base["paid_from"][chosen] + rng.uniform(3, 60, m) * DAY
    periods = rng.geometric(0.12, m)
    canceled = np.minimum(created + (periods - 1 + rng.random(m)) * MONTH, base["canceled"][chosen])
    end = np.minimum(created + periods * MONTH, base["end"][chosen])
    keep = (created < canceled) & (created < end)
    n = int(keep.sum())
    return {
        "created": created[keep],
        "paid_from": created[keep],
        "canceled": canceled[keep],
        "end": end[keep],
        "reason": _pick(rng, REASON_CODES, REASON_SHARES, n),
        "amount": np.full(n, table["price"][ADD_ON_PRODUCT], dtype=np.int64),
        "interval": np.full(n, MONTH),
        "product": np.full(n, ADD_ON_PRODUCT),
        "customer": base["customer"][chosen][keep],
        "add_on": np.ones(n, dtype=bool),
        "seats": np.zeros(n, dtype=np.int64),
    }


def _one_time_purchases(
    rng: np.random.Generator,
    profile: BusinessProfile,
    table: dict[str, np.ndarray],
    days: np.ndarray,
    known_customers: int,
) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
    counts, times = _events_per_day(
        rng, days, daily_rate(profile, days, profile.daily_one_time_orders)
    )
    n = times.size
    product = _pick(rng, ONE_TIME_PRODUCTS, ONE_TIME_SHARES, n)
    is_new = (rng.random(n) < 0.6) | (known_customers == 0)
    new_ids = known_customers + np.cumsum(is_new) - 1
    customer = np.where(is_new, new_ids, rng.integers(0, max(known_customers, 1), n))
    discounted = rng.random(n) < 0.1
    amount = np.where(discounted, np.rint(table["price"][product] * 0.8), table["price"][product])
    purchases = {"time": times, "product": product, "customer": customer, "amount": amount}
    return purchases, counts, int(is_new.sum())


def _checkouts(
    rng: np.random.Generator,
    profile: BusinessProfile,
    days: np.ndarray,
    paid: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    paid_per_day: np.ndarray,
) -> dict[str, np.ndarray]:
    """A succeeded checkout minutes before each purchase, plus abandoned ones around them."""
    subs, purchases = paid
    paid_times = np.concatenate([subs["created"], purchases["time"]])
    abandoned = rng.poisson(paid_per_day * (1 / profile.checkout_conversion - 1) + 0.2)
    abandoned_opened = np.repeat(days, abandoned) + rng.random(int(abandoned.sum())) * DAY
    products = np.concatenate([BASE_PLANS, ONE_TIME_PRODUCTS])
    return {
        "opened": np.concatenate(
            [paid_times - rng.uniform(60, 1200, paid_times.size), abandoned_opened]
        ),
        "succeeded": np.concatenate(
            [np.ones(paid_times.size, dtype=bool), np.zeros(abandoned_opened.size, dtype=bool)]
        ),
        "product": np.concatenate(
            [
                subs["product"],
                purchases["product"],
                products[rng.integers(0, products.size, abandoned_opened.size)],
            ]
        ),
        "customer": np.concatenate(
            [subs["customer"], purchases["customer"], np.full(abandoned_opened.size, -1)]
        ),
    }


def _cost_events(
    rng: np.random.Generator, profile: BusinessProfile, days: np.ndarray, customers: int
) -> dict[str, np.ndarray]:
    _, times = _events_per_day(rng, days, daily_rate(profile, days, profile.daily_cost_events))
    customer = rng.integers(0, max(customers, 1), times.size)
    return {"time": times, "customer": customer, "cost": rng.gamma(2.0, 0.9, times.size)}


def simulate_block(
    profile: BusinessProfile,
    products: tuple[Product, ...],
    block_index: int,
    days: np.ndarray,
    customer_offset: int,
) -> Block:
    """The activity of one block (`days` = its UTC midnights) for customers numbered from offset."""
    rng = np.random.default_rng([profile.seed, block_index])
    table = _price_table(products)
    sub_counts, created = _events_per_day(
        rng, days, daily_rate(profile, days, profile.daily_new_subscriptions)
    )
    base = _base_subscriptions(rng, profile, table, created, customer_offset)
    add_ons = _add_ons(rng, base, table)
    subs = {key: np.concatenate([base[key], add_ons[key]]) for key in base}
    known = customer_offset + created.size
    purchases, purchase_counts, new_buyers = _one_time_purchases(rng, profile, table, days, known)
    checkouts = _checkouts(rng, profile, days, (base, purchases), sub_counts + purchase_counts)
    costs = _cost_events(rng, profile, days, known + new_buyers)
    return Block(subs, purchases, checkouts, costs, created.size + new_buyers)

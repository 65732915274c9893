"""Changes to subscriptions after they were sold: reactivations and upgrades.

Both are drawn from hashes of the subscription's index (never from a quarter's random
generator), so adding them left every other draw of the simulation as it was, and extending the
history never changes them.

- Reactivation: a cancellation at period end undone before the period ends (Polar's
  "uncancel": canceled_at and ends_at cleared). The subscription then renews for a new
  lifetime, which may end with a second, final cancellation.
- Upgrade: Starter -> Pro (monthly), applied at a renewal like a pending update, so no
  proration order: that renewal and every later one charge the new amount.
- Amount change (`PATCH /__emulator__/subscriptions/{id}`, tests only): from a given instant
  the subscription has a new amount, like an upgrade at that instant (it replaces a simulated
  one); every later renewal charges it, and Polar's MRR values every day at it.
"""

import numpy as np

from connectors.polar_emulator.business.catalogue import (
    DISCOUNT_SHARE_OF_PRICE,
    LEGACY_STARTER,
    PRO_MONTHLY,
    STARTER,
)
from connectors.polar_emulator.business.derived_ids import hash_uniform

REACTIVATION_SHARE = 0.12  # of the cancellations at period end
NEVER_CANCELED_AGAIN_SHARE = 0.3
MEAN_PERIODS_AFTER_REACTIVATION = 8
UPGRADE_SHARE = 0.08  # of Starter subscriptions
MAX_CYCLES_BEFORE_UPGRADE = 6
_STREAM_PICK, _STREAM_WHEN, _STREAM_PERIODS, _STREAM_AGAIN, _STREAM_LAST = 7, 8, 9, 10, 11
_STREAM_UPGRADE, _STREAM_UPGRADE_CYCLE = 12, 13

AmountChanges = dict[int, tuple[float, int]]  # subscription row -> (from instant, new amount)


def reactivate(seed: int, subs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Adds first_canceled / first_end / uncanceled; canceled and end become the final ones."""
    keys = np.arange(subs["created"].size)
    canceled, end, interval = subs["canceled"], subs["end"], subs["interval"]
    at_period_end = np.isfinite(canceled) & (end > canceled) & (canceled >= subs["paid_from"])
    chosen = at_period_end & ~subs["add_on"]
    chosen &= hash_uniform(seed, keys, _STREAM_PICK) < REACTIVATION_SHARE
    uncanceled = canceled + (0.2 + 0.6 * hash_uniform(seed, keys, _STREAM_WHEN)) * (end - canceled)
    extra = 1 + np.floor(
        -np.log1p(-hash_uniform(seed, keys, _STREAM_PERIODS)) * MEAN_PERIODS_AFTER_REACTIVATION
    )
    final_end = end + extra * interval
    final_canceled = final_end - (0.05 + 0.9 * hash_uniform(seed, keys, _STREAM_LAST)) * interval
    forever = hash_uniform(seed, keys, _STREAM_AGAIN) < NEVER_CANCELED_AGAIN_SHARE
    final_end = np.where(forever, np.inf, final_end)
    final_canceled = np.where(forever, np.inf, final_canceled)
    return {
        **subs,
        "canceled": np.where(chosen, final_canceled, canceled),
        "end": np.where(chosen, final_end, end),
        "first_canceled": np.where(chosen, canceled, np.inf),
        "first_end": np.where(chosen, end, np.inf),
        "uncanceled": np.where(chosen, uncanceled, np.inf),
    }


def upgrade(seed: int, subs: dict[str, np.ndarray], prices: np.ndarray) -> dict[str, np.ndarray]:
    """Adds upgraded / upgraded_product / upgraded_amount (Starter -> Pro at a renewal)."""
    keys = np.arange(subs["created"].size)
    starter = np.isin(subs["product"], (STARTER, LEGACY_STARTER)) & ~subs["add_on"]
    chosen = starter & np.isinf(subs["uncanceled"])
    chosen &= hash_uniform(seed, keys, _STREAM_UPGRADE) < UPGRADE_SHARE
    cycles = 1 + np.floor(
        hash_uniform(seed, keys, _STREAM_UPGRADE_CYCLE) * MAX_CYCLES_BEFORE_UPGRADE
    )
    when = subs["paid_from"] + cycles * subs["interval"]
    chosen &= when < subs["canceled"]  # upgraded before deciding to leave
    pro = prices[PRO_MONTHLY]
    pro_amount = np.where(subs["discounted"], np.rint(pro * DISCOUNT_SHARE_OF_PRICE), pro)
    return {
        **subs,
        "upgraded": np.where(chosen, when, np.inf),
        "upgraded_product": np.where(chosen, PRO_MONTHLY, subs["product"]),
        "upgraded_amount": np.where(chosen, pro_amount, subs["amount"]).astype(np.int64),
    }


def change_amounts(subs: dict[str, np.ndarray], changes: AmountChanges) -> dict[str, np.ndarray]:
    """The upgrade columns carrying each changed subscription's new amount from its instant."""
    if not changes:
        return subs
    rows = np.array(list(changes), dtype=np.int64)
    rows = rows[rows < subs["created"].size]  # a row beyond this horizon changes nothing yet
    at = np.array([changes[int(row)][0] for row in rows])
    upgraded = subs["upgraded"].copy()
    product = subs["upgraded_product"].copy()
    amount = subs["upgraded_amount"].copy()
    product[rows] = np.where(upgraded[rows] <= at, product[rows], subs["product"][rows])
    upgraded[rows] = at
    amount[rows] = [changes[int(row)][1] for row in rows]
    return {**subs, "upgraded": upgraded, "upgraded_product": product, "upgraded_amount": amount}


def discounted(subs: dict[str, np.ndarray], prices: np.ndarray) -> np.ndarray:
    """Whether each subscription was bought with the launch discount (paid below list)."""
    return subs["amount"] < prices[subs["product"]] * np.maximum(subs["seats"], 1)

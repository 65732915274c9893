"""What is known about each subscription at an instant (the emulator's clock).

The simulation knows every subscription's whole future; Polar only knows what has happened.
At `now`: a cancellation is known once canceled_at has passed, an undone cancellation
(reactivation) is forgotten once it was undone, an upgrade shows once applied. The metrics and
the entity endpoints both read subscriptions through `subscriptions_at`, so they agree.
"""

from dataclasses import dataclass

import numpy as np

from connectors.polar_emulator.business.simulation_model import Subscriptions


@dataclass(frozen=True)
class SubscriptionsAt:
    """Per subscription (all rows, also those not started yet), as of `now`."""

    canceled: np.ndarray  # canceled_at as Polar holds it now, inf if none
    end: np.ndarray  # COALESCE(ended_at, ends_at) as Polar holds it now, inf if none
    product: np.ndarray
    amount: np.ndarray
    monthly_usd: np.ndarray


def subscriptions_at(subs: Subscriptions, now: float) -> SubscriptionsAt:
    """The subscriptions' current cancellation, end, product and amount."""
    pending_undone = (subs.first_canceled <= now) & (now < subs.uncanceled)
    known = subs.canceled <= now  # a final cancellation always comes after any undo
    upgraded = subs.upgraded <= now
    return SubscriptionsAt(
        canceled=np.where(
            pending_undone, subs.first_canceled, np.where(known, subs.canceled, np.inf)
        ),
        end=np.where(pending_undone, subs.first_end, np.where(known, subs.end, np.inf)),
        product=np.where(upgraded, subs.upgraded_product, subs.product),
        amount=np.where(upgraded, subs.upgraded_amount, subs.amount),
        monthly_usd=np.where(upgraded, subs.upgraded_monthly_usd, subs.monthly_usd),
    )

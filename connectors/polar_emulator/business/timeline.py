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


@dataclass(frozen=True)
class SubscriptionRows:
    """Polar's view of some subscriptions at `now`: status, period, cancellation, change."""

    status: np.ndarray  # trialing | active | canceled
    period_start: np.ndarray
    period_end: np.ndarray
    canceled: np.ndarray  # inf = not canceled
    end: np.ndarray  # inf = no scheduled end
    at_period_end: np.ndarray  # bool: cancel_at_period_end
    product: np.ndarray
    amount: np.ndarray
    modified: np.ndarray  # last change by now, inf = never modified


def subscription_rows(subs: Subscriptions, rows: np.ndarray, now: float) -> SubscriptionRows:
    """The current state of subscriptions `rows` (all started by `now`)."""
    current = subscriptions_at(subs, now)
    created, paid_from, interval = subs.created[rows], subs.paid_from[rows], subs.interval[rows]
    canceled, end = current.canceled[rows], current.end[rows]
    reference = np.minimum(now, end - 1e-6)  # the last period of an ended subscription
    trialing = reference < paid_from
    cycle = np.floor(np.maximum(reference - paid_from, 0) / interval)
    period_start = np.where(trialing, created, paid_from + cycle * interval)
    period_end = np.where(trialing, paid_from, period_start + interval)
    status = np.where(end <= now, "canceled", np.where(trialing, "trialing", "active"))
    changes = np.stack(
        [
            np.where(period_start > created, period_start, -np.inf),
            np.where(np.isfinite(canceled), canceled, -np.inf),
            np.where(end <= now, end, -np.inf),
            np.where(subs.uncanceled[rows] <= now, subs.uncanceled[rows], -np.inf),
            np.where(subs.upgraded[rows] <= now, subs.upgraded[rows], -np.inf),
        ]
    ).max(axis=0)
    return SubscriptionRows(
        status=status,
        period_start=period_start,
        period_end=period_end,
        canceled=canceled,
        end=end,
        at_period_end=np.isfinite(canceled) & (end > canceled),
        product=current.product[rows],
        amount=current.amount[rows],
        modified=np.where(np.isfinite(changes), changes, np.inf),
    )


def billable_at(subs: Subscriptions, now: float) -> np.ndarray:
    """Mask of subscriptions trialing or active at `now` (Polar's billable statuses)."""
    return (subs.created <= now) & (subscriptions_at(subs, now).end > now)

"""The simulated history of one organization: quarter blocks joined, payments derived from them."""

from datetime import UTC, datetime

import numpy as np

from connectors.polar_emulator.business.catalogue import (
    list_prices,
    product_catalogue,
    relaunched_products,
)
from connectors.polar_emulator.business.currency import monthly_usd_cents, to_usd_cents
from connectors.polar_emulator.business.derived_ids import hash_uniform
from connectors.polar_emulator.business.simulation_blocks import Block, simulate_block
from connectors.polar_emulator.business.simulation_model import (
    DAY,
    YEAR,
    BusinessProfile,
    Checkouts,
    CostEvents,
    Orders,
    OrganizationHistory,
    Seats,
    Subscriptions,
)
from connectors.polar_emulator.business.subscription_changes import (
    AmountChanges,
    change_amounts,
    discounted,
    reactivate,
    upgrade,
)

POLAR_FEE_RATE = 0.04  # Polar's fee: 4% + 40 cents per payment
POLAR_FEE_FIXED = 40
REFUND_SHARE = 0.025
# Every payment of the `drop` scenario's last days fails (an outage): with 85 % failing, one
# surviving annual payment kept yesterday above half of the trailing week on 3 of 60 days
# checked, and the default alert rule missed the fall (a flaky alert test on those days).
FAILED_PAYMENT_SHARE_AFTER_DROP = 1.0
_ONE_TIME_KEY_BASE = 1 << 42  # hash keys of one-time orders, apart from renewal keys


def _quarter_start(moment: datetime) -> datetime:
    return datetime(moment.year, (moment.month - 1) // 3 * 3 + 1, 1, tzinfo=UTC)


def _next_quarter(start: datetime) -> datetime:
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 10
        else start.replace(month=start.month + 3)
    )


def horizon_after(moment: datetime) -> float:
    """The first block boundary after `moment`: histories only ever grow by whole quarters."""
    return _next_quarter(_quarter_start(moment.astimezone(UTC))).timestamp()


def block_spans(start: float, horizon: float) -> list[tuple[int, float, float]]:
    """(quarter index since 2023, first UTC midnight, next quarter's) of the simulated quarters."""
    quarter = _quarter_start(datetime.fromtimestamp(start, UTC))
    spans = []
    while (begin := quarter.timestamp()) < horizon:
        index = (quarter.year - 2023) * 4 + (quarter.month - 1) // 3
        quarter = _next_quarter(quarter)
        spans.append((index, max(begin, start), quarter.timestamp()))
    return spans


def _subscription_payments(subs: Subscriptions, horizon: float) -> dict[str, np.ndarray]:
    """One order per billing period started before the subscription ended (or the horizon)."""
    stop = np.minimum(subs.end, horizon)
    span = (stop - subs.paid_from) / subs.interval
    counts = np.where(stop > subs.paid_from, np.ceil(span - 1e-9), 0).astype(np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    cycle = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    after_trial = subs.paid_from[owner] > subs.created[owner]
    reason = np.where(cycle > 0, 2, np.where(after_trial, 3, 1))
    time = subs.paid_from[owner] + cycle * subs.interval[owner]
    upgraded = time >= subs.upgraded[owner]
    return {
        "time": time,
        "subscription": owner,
        "product": np.where(upgraded, subs.upgraded_product[owner], subs.product[owner]),
        "customer": subs.customer[owner],
        "amount": np.where(upgraded, subs.upgraded_amount[owner], subs.amount[owner]),
        "billing_reason": reason,
        "key": owner * 4096 + cycle,
        "cycle": cycle,
    }


def _orders(
    profile: BusinessProfile,
    subs: Subscriptions,
    one_time: dict[str, np.ndarray],
    horizon: float,
) -> Orders:
    payments = _subscription_payments(subs, horizon)
    n_one_time = one_time["time"].size
    joined = {
        "time": np.concatenate([payments["time"], one_time["time"]]),
        "subscription": np.concatenate([payments["subscription"], np.full(n_one_time, -1)]),
        "product": np.concatenate([payments["product"], one_time["product"]]),
        "customer": np.concatenate([payments["customer"], one_time["customer"]]),
        "amount": np.concatenate([payments["amount"], one_time["amount"]]).astype(np.int64),
        "billing_reason": np.concatenate([payments["billing_reason"], np.zeros(n_one_time, int)]),
        "key": np.concatenate([payments["key"], _ONE_TIME_KEY_BASE + np.arange(n_one_time)]),
        "cycle": np.concatenate([payments["cycle"], np.zeros(n_one_time, int)]),
    }
    keep = joined["time"] < horizon
    if profile.drop_from is not None:
        failed = hash_uniform(profile.seed, joined["key"], 4) < FAILED_PAYMENT_SHARE_AFTER_DROP
        keep &= ~((joined["time"] >= profile.drop_from) & failed)
    order = np.argsort(joined["time"][keep], kind="stable")
    rows = {name: column[keep][order] for name, column in joined.items()}
    return _priced_orders(profile, rows)


def _priced_orders(profile: BusinessProfile, rows: dict[str, np.ndarray]) -> Orders:
    """USD revenue at the fixed rate, Polar's fee, and the refunds (in both currencies)."""
    amount_usd = to_usd_cents(rows["amount"], profile.currency)
    refunded = hash_uniform(profile.seed, rows["key"], 1) < REFUND_SHARE
    full = hash_uniform(profile.seed, rows["key"], 3) < 0.7
    refund = np.where(refunded, np.where(full, rows["amount"], rows["amount"] // 2), 0)
    delay = (1 + 20 * hash_uniform(profile.seed, rows["key"], 2)) * DAY
    return Orders(
        time=rows["time"],
        subscription=rows["subscription"],
        product=rows["product"],
        customer=rows["customer"],
        amount=rows["amount"],
        amount_usd=amount_usd,
        fee_usd=np.rint(amount_usd * POLAR_FEE_RATE + POLAR_FEE_FIXED).astype(np.int64),
        refund_amount=refund,
        refund_usd=to_usd_cents(refund, profile.currency),
        refunded_at=np.where(refunded, rows["time"] + delay, np.inf),
        billing_reason=rows["billing_reason"],
        key=rows["key"],
        cycle=rows["cycle"],
    )


def _join(blocks: list[Block], part: str) -> dict[str, np.ndarray]:
    parts = [getattr(block, part) for block in blocks]
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _seats(profile: BusinessProfile, subs: Subscriptions) -> Seats:
    owner = np.repeat(np.arange(subs.seats.size), subs.seats)
    keys = np.arange(owner.size)
    delay = -np.log1p(-hash_uniform(profile.seed, keys, 5)) * 3 * DAY  # mean 3 days
    never = hash_uniform(profile.seed, keys, 6) < 0.2
    claimed = np.where(never, np.inf, subs.created[owner] + delay)
    return Seats(subscription=owner, claimed=claimed)


def _customer_created(
    count: int, subs: dict[str, np.ndarray], one_time: dict[str, np.ndarray]
) -> np.ndarray:
    """Each customer's first activity: a subscription started or a purchase (paid or not)."""
    first = np.full(count, np.inf)
    np.minimum.at(first, subs["customer"].astype(np.int64), subs["created"])
    np.minimum.at(first, one_time["customer"].astype(np.int64), one_time["time"])
    return first


def _subscriptions(
    profile: BusinessProfile,
    subs: dict[str, np.ndarray],
    prices: np.ndarray,
    amount_changes: AmountChanges,
) -> Subscriptions:
    subs = {**subs, "discounted": discounted(subs, prices)}
    subs = upgrade(profile.seed, reactivate(profile.seed, subs), prices)
    subs = change_amounts(subs, amount_changes)
    months = np.where(subs["interval"] >= YEAR, 12, 1)
    monthly = monthly_usd_cents(subs["amount"], months, profile.currency)
    upgraded = monthly_usd_cents(subs["upgraded_amount"], months, profile.currency)
    return Subscriptions(monthly_usd=monthly, upgraded_monthly_usd=upgraded, **subs)


def simulate_organization(
    profile: BusinessProfile, horizon: float, amount_changes: AmountChanges | None = None
) -> OrganizationHistory:
    """Everything the organization's business did from its start up to `horizon` (with the
    amount changes made through the control path, by subscription row)."""
    products = product_catalogue(profile)
    blocks: list[Block] = []
    customers = 0
    for index, begin, end in block_spans(profile.start, horizon):
        days = np.arange(begin, end, DAY)
        blocks.append(simulate_block(profile, products, index, days, customers))
        customers += blocks[-1].new_customers
    if not blocks:
        blocks.append(simulate_block(profile, products, 0, np.arange(0.0), 0))
    subs = _join(blocks, "subs")
    subs["product"] = relaunched_products(products, subs["product"], subs["created"])
    checkouts = _join(blocks, "checkouts")
    checkouts["product"] = relaunched_products(products, checkouts["product"], checkouts["opened"])
    one_time = _join(blocks, "one_time")
    subscriptions = _subscriptions(profile, subs, list_prices(products), amount_changes or {})
    return OrganizationHistory(
        products=products,
        subscriptions=subscriptions,
        orders=_orders(profile, subscriptions, one_time, horizon),
        checkouts=Checkouts(**checkouts),
        seats=_seats(profile, subscriptions),
        cost_events=CostEvents(**_join(blocks, "costs")),
        customer_count=customers,
        customer_seed=profile.seed,
        horizon=horizon,
        customer_created=_customer_created(customers, subs, one_time),
        currency=profile.currency,
    )

"""Every customer of an organization's history in one table, and Polar's `Customer` JSON.

Rows 0..n-1 are the numbered customers (subscribers and buyers; created at their first
activity, a few minutes before it), rows n.. the hand-added ones (business/people.py).
"""

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from connectors.polar_emulator.api.entities.lookups import cached
from connectors.polar_emulator.api.entities.render import iso, iso_if_by
from connectors.polar_emulator.business.derived_ids import derived_uuid4, hash_uniform
from connectors.polar_emulator.business.people import (
    Person,
    customer_id,
    manual_customers,
    person,
)
from connectors.polar_emulator.business.simulation_model import OrganizationHistory
from connectors.polar_emulator.business.world_model import EmulatedOrganization


@dataclass(frozen=True)
class CustomerTable:
    """Customers by row: who, when created and deleted, and their searchable text."""

    labels: list[int | str]
    ids: np.ndarray
    created: np.ndarray
    deleted: np.ndarray  # inf = never deleted
    people: list[Person]
    emails: np.ndarray
    names: np.ndarray
    external_ids: np.ndarray  # "" where none
    first_event: np.ndarray  # first ingested usage event, inf if none
    numbered: int  # rows below this are the numbered customers


def _first_events(history: OrganizationHistory) -> np.ndarray:
    first = np.full(history.customer_count, np.inf)
    events = history.cost_events
    valid = events.customer < history.customer_count
    np.minimum.at(first, events.customer[valid].astype(np.int64), events.time[valid])
    return first


def _build(org: EmulatedOrganization, history: OrganizationHistory) -> CustomerTable:
    seed, count = history.customer_seed, history.customer_count
    manual_created, manual_deleted = manual_customers(seed, org.profile.start, history.horizon)
    labels: list[int | str] = [*range(count), *(f"m{j}" for j in range(manual_created.size))]
    lead = 60 + 540 * hash_uniform(seed, np.arange(count), 23)  # checkout minutes before
    people = [person(seed, label, history.currency) for label in labels]
    return CustomerTable(
        labels=labels,
        ids=np.array([customer_id(seed, label) for label in labels], dtype=object),
        created=np.concatenate([history.customer_created - lead, manual_created]),
        deleted=np.concatenate([np.full(count, np.inf), manual_deleted]),
        people=people,
        emails=np.array([p.email for p in people], dtype=str),
        names=np.array([p.name for p in people], dtype=str),
        external_ids=np.array([p.external_id or "" for p in people], dtype=str),
        first_event=np.concatenate([_first_events(history), np.full(manual_created.size, np.inf)]),
        numbered=count,
    )


def customer_table(org: EmulatedOrganization, history: OrganizationHistory) -> CustomerTable:
    """The organization's customers (built once per history)."""
    return cached(history, "customers", lambda: _build(org, history))


def team_customers(history: OrganizationHistory, now: float) -> np.ndarray:
    """Numbered customers who bought seats by `now` (Polar upgrades them to `team`)."""
    subs = history.subscriptions
    seated = (subs.seats > 0) & (subs.created <= now)
    return np.unique(subs.customer[seated]).astype(np.int64)


def avatar_url(email: str) -> str:
    """Polar's avatar for a personal-domain email: a Gravatar URL of its SHA-256."""
    return f"https://www.gravatar.com/avatar/{hashlib.sha256(email.lower().encode()).hexdigest()}?d=404"


def customer_json(
    org: EmulatedOrganization, table: CustomerTable, row: int, now: float, team: bool
) -> dict[str, Any]:
    """Polar's `Customer` (also embedded in orders and subscriptions, deleted ones too)."""
    who = table.people[row]
    deleted = table.deleted[row]
    numbered = row < table.numbered
    payment_method = (
        derived_uuid4(org.id, "payment-method", table.labels[row]) if numbered else None
    )
    return {
        "id": table.ids[row],
        "created_at": iso(table.created[row]),
        "modified_at": iso_if_by(deleted, now),
        "metadata": {},
        "external_id": who.external_id,
        "email": who.email,
        "email_verified": who.email_verified,
        "type": "team" if team else "individual",
        "name": who.name,
        "billing_name": who.name,
        "billing_address": dict(who.billing_address),
        "tax_id": None,
        "locale": who.locale,
        "organization_id": org.id,
        "default_payment_method_id": payment_method,
        "deleted_at": iso_if_by(deleted, now),
        "first_user_event_at": iso_if_by(table.first_event[row], now),
        "avatar_url": avatar_url(who.email),
    }

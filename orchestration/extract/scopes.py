"""What one refresh asks Polar for: the scopes (each organization, and `all`) and the window."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from connectors.polar.records import MetricsResponse, Organization
from orchestration.warehouse.schema import ALL_SCOPE


class MetricsClient(Protocol):
    """What extraction needs from `connectors.polar.client.PolarClient`."""

    def list_organizations(self) -> list[Organization]: ...

    def get_metrics(
        self,
        *,
        start_date: date,
        end_date: date,
        interval: str = "day",
        timezone: str = "UTC",
        organization_ids: Sequence[str] = (),
        metrics: Sequence[str] | None = None,
    ) -> MetricsResponse: ...


@dataclass(frozen=True)
class Scope:
    """One metrics call: an organization, or `all` with every active organization id."""

    scope_id: str
    label: str
    organization_ids: tuple[str, ...]


def local_today(timezone: str, now: datetime | None = None) -> date:
    """Today's date in the reporting timezone."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()


def metrics_window(today: date, window_days: int) -> tuple[date, date]:
    """The cached window: `window_days` days ending today (inclusive)."""
    return today - timedelta(days=window_days - 1), today


def scopes_for(organizations: Sequence[Organization]) -> list[Scope]:
    """`all` plus one scope per active organization (nothing when none is active)."""
    active = [o for o in organizations if o.is_queried]
    if not active:
        return []
    scopes = [Scope(o.id, o.name or o.slug or o.id, (o.id,)) for o in active]
    # `all` first: Polar sums every organization for it, so it is the slowest call.
    return [Scope(ALL_SCOPE, "All organizations", tuple(o.id for o in active)), *scopes]

"""Typed records for what Polar returns, parsed from its JSON bodies."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

ACTIVE_STATUS = "active"


@dataclass(frozen=True)
class Organization:
    """A Polar organization as listed by `GET /v1/organizations/` (the fields we keep)."""

    id: str
    name: str
    slug: str
    status: str  # created | review | snoozed | denied | active | blocked | offboarding | offboarded
    default_presentment_currency: str
    created_at: str | None = None

    @property
    def is_queried(self) -> bool:
        """Only active organizations have their metrics pulled."""
        return self.status == ACTIVE_STATUS

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "Organization":
        """Parse one item of the organizations list."""
        return cls(
            id=str(item["id"]),
            name=str(item.get("name") or ""),
            slug=str(item.get("slug") or ""),
            status=str(item.get("status") or ""),
            default_presentment_currency=str(item.get("default_presentment_currency") or "usd"),
            created_at=item.get("created_at"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The form stored in the connection metadata (`organizations[]`)."""
        return {
            "id": self.id,
            "name": self.name,
            "slug": self.slug,
            "status": self.status,
            "default_presentment_currency": self.default_presentment_currency,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class MetricDefinitionSeen:
    """A metric definition as Polar sent it in a response's `metrics` object."""

    slug: str
    display_name: str
    type: str


@dataclass(frozen=True)
class MetricsResponse:
    """One `GET /v1/metrics/` answer: daily periods, Polar's totals and the definitions."""

    periods: list[dict[str, Any]]  # each: {"timestamp": str, "<slug>": int | float, ...}
    totals: dict[str, int | float]
    definitions: dict[str, MetricDefinitionSeen]
    raw_body: str = field(repr=False, default="")

    def daily_periods(self, start_date: date) -> list[tuple[date, dict[str, Any]]]:
        """Each daily period with its local date, counted from `start_date`.

        Dates come from the position, not the timestamp: for a non-UTC timezone Polar may render
        a bucket start as the UTC instant (Europe/Paris 2024-01-01 -> 2023-12-31T23:00:00Z).
        """
        return [(start_date + timedelta(days=i), p) for i, p in enumerate(self.periods)]

    @classmethod
    def from_api(cls, body: Mapping[str, Any], raw_body: str = "") -> "MetricsResponse":
        """Parse the JSON body of the metrics endpoint."""
        definitions = {
            slug: MetricDefinitionSeen(
                slug=slug, display_name=str(d.get("display_name", slug)), type=str(d.get("type"))
            )
            for slug, d in dict(body.get("metrics") or {}).items()
        }
        return cls(
            periods=[dict(p) for p in body.get("periods") or []],
            totals=dict(body.get("totals") or {}),
            definitions=definitions,
            raw_body=raw_body,
        )

"""What Polar's entity list endpoints share: query parsing, sorting, offset pages, the envelope.

Polar (server/polar/kit/pagination.py, kit/sorting.py, kit/repository/base.py): `page` > 0,
`limit` > 0 and silently clamped to 100, offset = limit * (page - 1), `max_page` =
ceil(total / limit); `sorting` is a repeatable enum of `key` / `-key` applied in order with
Postgres semantics (ascending puts NULLs last, descending first). Postgres leaves ties
unordered; the emulator breaks them by organization and row, so pages are reproducible.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from starlette.datastructures import QueryParams

from connectors.polar_emulator.business.simulation_model import OrganizationHistory
from connectors.polar_emulator.business.world_model import EmulatedOrganization
from connectors.polar_emulator.http.query_validation import (
    Collector,
    parse_bool,
    parse_choice,
    parse_datetime,
    parse_positive_int,
    parse_uuid4,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PAGE_SIZE = 100  # API_PAGINATION_MAX_LIMIT: larger limits are clamped, not refused
DEFAULT_PAGE_SIZE = 10


@dataclass(frozen=True)
class Part:
    """One organization's rows of an entity that pass the filters."""

    org: EmulatedOrganization
    history: OrganizationHistory
    rows: np.ndarray  # row indexes into the entity's arrays (or catalogue, customer table)


# A sort key: per row of a part, its values and where they are NULL.
SortKey = Callable[[Part], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ListParams:
    """Page, clamped limit and the parsed sorting criteria (name, descending)."""

    page: int
    limit: int
    sorting: list[tuple[str, bool]]


class QueryReader:
    """Reads an endpoint's query parameters, collecting every error like FastAPI does."""

    def __init__(self, params: QueryParams) -> None:
        self.params = params
        self.collector = Collector()

    def uuids(self, name: str) -> list[str] | None:
        """A repeatable UUID4 filter (None when absent)."""
        values = self.params.getlist(name)
        if not values:
            return None
        parsed = [
            self.collector.take(parse_uuid4(["query", name, i], v)) for i, v in enumerate(values)
        ]
        return [value for value in parsed if value is not None]

    def choices(self, name: str, allowed: Sequence[str]) -> list[str] | None:
        """A repeatable enum filter (None when absent)."""
        values = self.params.getlist(name)
        if not values:
            return None
        parsed = [
            self.collector.take(parse_choice(["query", name, i], v, allowed))
            for i, v in enumerate(values)
        ]
        return [value for value in parsed if value is not None]

    def strings(self, name: str) -> list[str] | None:
        """A repeatable free-text filter (None when absent)."""
        return self.params.getlist(name) or None

    def text(self, name: str) -> str | None:
        """A single free-text parameter."""
        return self.params.get(name)

    def boolean(self, name: str) -> bool | None:
        """A boolean parameter (None when absent)."""
        raw = self.params.get(name)
        return None if raw is None else self.collector.take(parse_bool(["query", name], raw))

    def instant(self, name: str) -> int | None:
        """A datetime parameter as epoch microseconds (None when absent); see `micros`."""
        raw = self.params.get(name)
        if raw is None:
            return None
        parsed: datetime | None = self.collector.take(parse_datetime(["query", name], raw))
        return None if parsed is None else (parsed - _EPOCH) // timedelta(microseconds=1)

    def metadata(self) -> dict[str, list[str]] | None:
        """`metadata[key]=value` filters (None when absent)."""
        found: dict[str, list[str]] = {}
        for key, value in self.params.multi_items():
            if key.startswith("metadata[") and key.endswith("]"):
                found.setdefault(key[9:-1], []).append(value)
        return found or None

    def list_params(self, sort_names: Sequence[str], default: str) -> ListParams:
        """page, limit and sorting; raises the collected 422 if anything failed."""
        take = self.collector.take
        page = take(parse_positive_int(["query", "page"], self.params.get("page", "1")))
        limit = take(
            parse_positive_int(["query", "limit"], self.params.get("limit", str(DEFAULT_PAGE_SIZE)))
        )
        choices = [choice for name in sort_names for choice in (name, f"-{name}")]
        raw_sorting = self.params.getlist("sorting") or [default]
        sorting = [
            take(parse_choice(["query", "sorting", i], raw, choices))
            for i, raw in enumerate(raw_sorting)
        ]
        self.collector.raise_if_any()
        criteria = [(value.removeprefix("-"), value.startswith("-")) for value in sorting]
        return ListParams(page, min(limit, MAX_PAGE_SIZE), criteria)


def organizations_in_scope(
    visible: list[EmulatedOrganization], requested: list[str] | None
) -> list[EmulatedOrganization]:
    """The visible organizations, narrowed to the requested ids (foreign ids match nothing)."""
    if requested is None:
        return visible
    wanted = set(requested)
    return [org for org in visible if org.id in wanted]


def _rank(values: np.ndarray, nulls: np.ndarray, descending: bool) -> np.ndarray:
    ranks = np.zeros(values.size, dtype=np.int64)
    present = ~nulls
    if present.any():
        ranks[present] = np.unique(values[present], return_inverse=True)[1].ravel()
    top = int(ranks.max(initial=0)) + 1
    if descending:  # DESC: larger first, NULLs first
        return np.where(nulls, -top, -ranks)
    return np.where(nulls, top, ranks)  # ASC: NULLs last


def page_of(
    parts: list[Part],
    keys: dict[str, SortKey],
    params: ListParams,
) -> tuple[list[tuple[Part, int]], int]:
    """The (part, row) pairs on the requested page and the total count."""
    parts = [part for part in parts if part.rows.size]
    total = sum(int(part.rows.size) for part in parts)
    if not total:
        return [], 0
    owner = np.concatenate([np.full(part.rows.size, i) for i, part in enumerate(parts)])
    rows = np.concatenate([part.rows for part in parts])
    columns: list[np.ndarray] = [rows, owner]  # ties: organization, then row
    for name, descending in reversed(params.sorting):
        pieces = [keys[name](part) for part in parts]
        values = np.concatenate([piece[0] for piece in pieces])
        nulls = np.concatenate([piece[1] for piece in pieces]).astype(bool)
        columns.append(_rank(values, nulls, descending))
    order = np.lexsort(columns)
    offset = params.limit * (params.page - 1)
    chosen = order[offset : offset + params.limit]
    return [(parts[int(owner[i])], int(rows[i])) for i in chosen], total


def envelope(items: list[dict[str, Any]], total: int, limit: int) -> dict[str, Any]:
    """Polar's ListResource: items plus pagination (max_page 0 when empty)."""
    return {
        "items": items,
        "pagination": {"total_count": total, "max_page": math.ceil(total / limit)},
    }


def micros(times: np.ndarray) -> np.ndarray:
    """Epoch seconds as the whole microseconds the JSON shows (render.iso floors the same way).

    Datetime filters compare these, so a bound copied from an item's timestamp selects
    exactly the items whose rendered timestamp passes it.
    """
    return np.floor(np.asarray(times, dtype=np.float64) * 1_000_000)


def no_nulls(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A sort key without NULLs."""
    return values, np.zeros(values.size, dtype=bool)


def infinite_is_null(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A time sort key where `inf` (never) is NULL."""
    return np.where(np.isinf(values), 0.0, values), np.isinf(values)


def render_page(
    pairs: list[tuple[Part, int]],
    render: Callable[[Part, np.ndarray], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Items of a page in page order, rendered one organization at a time (vectorized)."""
    items: list[dict[str, Any] | None] = [None] * len(pairs)
    groups: dict[int, tuple[Part, list[int]]] = {}
    for position, (part, _) in enumerate(pairs):
        groups.setdefault(id(part), (part, []))[1].append(position)
    for part, positions in groups.values():
        rows = np.array([pairs[p][1] for p in positions], dtype=np.int64)
        for position, item in zip(positions, render(part, rows), strict=True):
            items[position] = item
    return [item for item in items if item is not None]

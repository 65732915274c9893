"""Reading Polar's offset pages completely while items arrive or disappear.

Polar pages by offset (`page`, `limit`), so an item inserted before the read position shifts the
unread items one place later (the next page repeats one: harmless, upserts are by id) and an item
deleted before it shifts them one place earlier (the next page skips one: a gap). Two readers:

- `read_ascending`: oldest first. New items get the newest timestamp, so they append at the end
  and never shift unread pages. Deletions (customers, products) are caught by probing each page
  boundary: after reading page k+1, the item at the last position of page k must still be the one
  read there; if not, the list moved and page k is read again. Equal timestamps across a boundary
  (Polar sorts ties in no fixed order) are re-read as a group through the time filters.
- `read_descending`: newest first down to a horizon. New items shift the list later (repeats
  only); it is used where nothing is deleted (refunds) or a sweep repairs a gap (new customers).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.polar.entities import (
    EntityClient,
    EntityEndpoint,
    EntityPage,
    EntityQuery,
    parse_datetime,
)

Item = dict[str, Any]
# (items of one page, where to resume after it or None when the read is complete)
PageWriter = Callable[[list[Item], dict[str, Any] | None], None]
# After a shift is detected, how many pages a read may step back before it gives up verifying.
MAX_STEP_BACKS = 20
_TIE_MARGIN = timedelta(microseconds=1)


@dataclass
class ReadResult:
    """What one read saw: pages, ids, newest sort key, and whether every boundary held."""

    pages: int = 0
    ids: set[str] = field(default_factory=set)
    newest: datetime | None = None
    verified: bool = True

    def saw(self, items: list[Item], key: str) -> None:
        """Account for the items of one page."""
        self.pages += 1
        for item in items:
            self.ids.add(str(item["id"]))
            value = parse_datetime(item.get(key))
            if value is not None and (self.newest is None or value > self.newest):
                self.newest = value


@dataclass(frozen=True)
class TieFilters:
    """The strict time filters that select one instant of the sort key (e.g. created_after)."""

    after: str
    before: str


def read_ascending(
    entities: EntityClient,
    endpoint: EntityEndpoint,
    query: EntityQuery,
    *,
    key: str,
    write: PageWriter,
    start_page: int = 1,
    boundary_id: str | None = None,
    probe_boundaries: bool = False,
    ties: TieFilters | None = None,
) -> ReadResult:
    """Every page from `start_page`, oldest first; `boundary_id` = last id before start_page."""
    result = ReadResult()
    last_ids: dict[int, str] = {start_page - 1: boundary_id} if boundary_id else {}
    last_keys: dict[int, datetime | None] = {}
    page_number, step_backs = start_page, 0
    while True:
        page = entities.page(endpoint, query, page_number)
        # An empty page is probed too: the list may have shrunk under the last page.
        if probe_boundaries and page_number > 1:
            expected = last_ids.get(page_number - 1)
            if expected is None:
                result.verified = False  # resumed without a boundary: cannot prove this one
            elif _item_id(entities.item_at(endpoint, query, page.offset - 1)) != expected:
                step_backs += 1
                if step_backs <= MAX_STEP_BACKS:
                    page_number = max(1, page_number - 1)  # the list moved: read page k again
                    continue
                result.verified = False
        items = list(page.items)
        if ties is not None and items:
            items += _tie_group(entities, endpoint, query, ties, key, last_keys, page)
        result.saw(items, key)
        if page.items:
            last_ids[page_number] = str(page.items[-1]["id"])
            last_keys[page_number] = parse_datetime(page.items[-1].get(key))
        done = page.is_last
        boundary = last_ids.get(page_number)
        write(items, None if done else {"page": page_number + 1, "boundary_id": boundary})
        if done:
            return result
        page_number += 1


def _tie_group(
    entities: EntityClient,
    endpoint: EntityEndpoint,
    query: EntityQuery,
    ties: TieFilters,
    key: str,
    last_keys: dict[int, datetime | None],
    page: EntityPage,
) -> list[Item]:
    """Every item sharing the sort key that straddles the boundary before `page`, if any."""
    previous = last_keys.get(page.page - 1)
    first = parse_datetime(page.items[0].get(key))
    if previous is None or first is None or previous != first:
        return []
    instant = query.where(**{ties.after: first - _TIE_MARGIN, ties.before: first + _TIE_MARGIN})
    return [item for tied in entities.pages(endpoint, instant) for item in tied.items]


def read_descending(
    entities: EntityClient,
    endpoint: EntityEndpoint,
    query: EntityQuery,
    *,
    key: str,
    horizon: datetime | None,
    write: PageWriter,
    start_page: int = 1,
) -> ReadResult:
    """Pages newest first until one reaches back past `horizon` (None = the whole list)."""
    result = ReadResult()
    page_number = start_page
    while True:
        page = entities.page(endpoint, query, page_number)
        result.saw(page.items, key)
        keys = [k for k in (parse_datetime(i.get(key)) for i in page.items) if k is not None]
        reached = horizon is not None and bool(keys) and min(keys) < horizon
        done = page.is_last or reached
        write(list(page.items), None if done else {"page": page_number + 1})
        if done:
            return result
        page_number += 1


def _item_id(item: Item | None) -> str | None:
    return str(item["id"]) if item and item.get("id") else None

"""JSON forms shared by the entity endpoints."""

import math
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(seconds: float) -> str | None:
    """Pydantic's JSON form of an aware UTC datetime; `inf` (never) is null.

    Floored to the microsecond, so comparing the rendered instant with a whole second (a day
    boundary, a filter) gives the same answer as comparing the simulated one.
    """
    if not math.isfinite(seconds):
        return None
    moment = _EPOCH + timedelta(microseconds=math.floor(seconds * 1_000_000))
    return moment.isoformat().replace("+00:00", "Z")


def iso_if_by(seconds: float, now: float) -> str | None:
    """`iso(seconds)` if that instant has passed by `now`, else null."""
    return iso(seconds) if seconds <= now else None

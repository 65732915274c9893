"""JSON forms shared by the entity endpoints."""

import math
import time


def iso(seconds: float) -> str | None:
    """Pydantic's JSON form of an aware UTC datetime; `inf` (never) is null.

    Floored to the microsecond, so comparing the rendered instant with a whole second (a day
    boundary, a filter) gives the same answer as comparing the simulated one.
    """
    if not math.isfinite(seconds):
        return None
    whole, micros = divmod(math.floor(seconds * 1_000_000), 1_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{text}.{micros:06d}Z" if micros else f"{text}Z"


def iso_if_by(seconds: float, now: float) -> str | None:
    """`iso(seconds)` if that instant has passed by `now`, else null."""
    return iso(seconds) if seconds <= now else None

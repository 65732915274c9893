"""Query-string validation with Polar's (FastAPI + pydantic) 422 error items, word for word."""

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from starlette.responses import JSONResponse

from connectors.polar_emulator.http.errors import EmulatorHTTPError

_UUID_SHAPE = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_DATE_SHAPE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

ErrorItem = dict[str, Any]


def validation_error(error: str, items: Sequence[ErrorItem]) -> EmulatorHTTPError:
    """422 `{"error": <RequestValidationError|PolarRequestValidationError>, "detail": [...]}`."""
    return EmulatorHTTPError(JSONResponse({"error": error, "detail": list(items)}, status_code=422))


def missing(name: str) -> ErrorItem:
    """A required query parameter that was not sent."""
    return {"type": "missing", "loc": ["query", name], "msg": "Field required", "input": None}


def _date_problem(raw: str) -> str:
    if len(raw) < 10:
        return "input is too short"
    match = _DATE_SHAPE.match(raw)
    if match is None:
        return (
            "invalid character in year"
            if not raw[:4].isdigit()
            else "invalid date separator, expected `-`"
        )
    if not 1 <= int(match.group(2)) <= 12:
        return "month value is outside expected range of 1-12"
    return "day value is outside expected range"


def parse_date(loc: list[Any], raw: str) -> date | ErrorItem:
    """A `YYYY-MM-DD` date, or pydantic's `date_from_datetime_parsing` error."""
    if _DATE_SHAPE.match(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    problem = _date_problem(raw)
    return {
        "type": "date_from_datetime_parsing",
        "loc": loc,
        "msg": f"Input should be a valid date or datetime, {problem}",
        "input": raw,
        "ctx": {"error": problem},
    }


def parse_uuid4(loc: list[Any], raw: str) -> str | ErrorItem:
    """A lowercase UUID4 string, or pydantic's `uuid_parsing` / `uuid_version` error."""
    if not _UUID_SHAPE.match(raw):
        problem = (
            f"invalid length: found {len(raw)}"
            if len(raw.replace("-", "")) != 32
            else (
                "invalid character: expected an optional prefix of `urn:uuid:` followed by "
                "[0-9a-fA-F-], found an invalid character"
            )
        )
        return {
            "type": "uuid_parsing",
            "loc": loc,
            "msg": f"Input should be a valid UUID, {problem}",
            "input": raw,
            "ctx": {"error": problem},
        }
    hex_digits = raw.replace("-", "").lower()
    if hex_digits[12] != "4":
        return {
            "type": "uuid_version",
            "loc": loc,
            "msg": "UUID version 4 expected",
            "input": raw,
            "ctx": {"expected_version": 4},
        }
    return "-".join(
        (hex_digits[:8], hex_digits[8:12], hex_digits[12:16], hex_digits[16:20], hex_digits[20:])
    )


def _expected(values: Sequence[str]) -> str:
    quoted = [f"'{value}'" for value in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def parse_choice(loc: list[Any], raw: str, choices: Sequence[str]) -> str | ErrorItem:
    """One of `choices`, or pydantic's `enum` error listing them."""
    if raw in choices:
        return raw
    expected = _expected(choices)
    return {
        "type": "enum",
        "loc": loc,
        "msg": f"Input should be {expected}",
        "input": raw,
        "ctx": {"expected": expected},
    }


def parse_positive_int(loc: list[Any], raw: str) -> int | ErrorItem:
    """An integer > 0, or pydantic's `int_parsing` / `greater_than` error."""
    try:
        value = int(raw.strip())
    except ValueError:
        return {
            "type": "int_parsing",
            "loc": loc,
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": raw,
        }
    if value <= 0:
        return {
            "type": "greater_than",
            "loc": loc,
            "msg": "Input should be greater than 0",
            "input": raw,
            "ctx": {"gt": 0},
        }
    return value


class Collector:
    """Gathers error items across parameters, as FastAPI reports every invalid one at once."""

    def __init__(self) -> None:
        self.errors: list[ErrorItem] = []

    def take(self, parsed: Any) -> Any:
        """The parsed value, or None after recording the error item it turned out to be."""
        if isinstance(parsed, dict) and "type" in parsed and "loc" in parsed:
            self.errors.append(parsed)
            return None
        return parsed

    def raise_if_any(self) -> None:
        """Raise FastAPI's RequestValidationError (422) if anything failed."""
        if self.errors:
            raise validation_error("RequestValidationError", self.errors)


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def parse_bool(loc: list[Any], raw: str) -> bool | ErrorItem:
    """A boolean the way pydantic reads one from a query string, or its `bool_parsing` error."""
    lowered = raw.strip().lower()
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    return {
        "type": "bool_parsing",
        "loc": loc,
        "msg": "Input should be a valid boolean, unable to interpret input",
        "input": raw,
    }


def parse_datetime(loc: list[Any], raw: str) -> datetime | ErrorItem:
    """An aware datetime (naive = UTC, a date = its midnight, a number = Unix seconds).

    Pydantic's lax datetime accepts these forms; anything else is its
    `datetime_from_date_parsing` error.
    """
    text = raw.strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError):
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        problem = _date_problem(text[:10]) if len(text) >= 10 else "input is too short"
        if _DATE_SHAPE.match(text[:10]) and len(text) > 10:
            problem = "invalid datetime separator, expected `T`, `t`, `_` or space"
        return {
            "type": "datetime_from_date_parsing",
            "loc": loc,
            "msg": f"Input should be a valid datetime or date, {problem}",
            "input": raw,
            "ctx": {"error": problem},
        }
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

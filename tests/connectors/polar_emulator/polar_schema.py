"""Strict validation of emulator JSON against Polar's own models (polar-sdk, API 2026-04).

Two checks per page:
- the SDK's deserializer (what a Polar client runs) must load it;
- a stricter walk of the same dataclasses: every declared field present (even those with a
  default), no undeclared field except the few Polar serializes while hiding them from its
  OpenAPI schema (HIDDEN_FIELDS, read from server/polar/*/schemas.py), exact JSON types (a bool
  is not an int), literals within their enum, nullability as declared, unions matched by one
  member.
"""

import dataclasses
import functools
import types
import typing
from typing import Any

from polar.base import deserialize
from polar.v2026_04 import outputs

# SkipJsonSchema fields and computed fields Polar still puts in the JSON (deprecated aliases).
HIDDEN_FIELDS: dict[str, frozenset[str]] = {
    "Order": frozenset(
        {"amount", "from_balance_amount", "user_id", "user", "product_price_id", "product_price"}
    ),
    "OrderSubscription": frozenset({"price_id", "user_id"}),
    "Subscription": frozenset({"price_id", "user_id", "user", "price"}),
    "ProductPriceFixed": frozenset({"type", "recurring_interval"}),
    "ProductPriceSeatBased": frozenset({"type", "recurring_interval", "price_per_seat"}),
}


@dataclasses.dataclass(kw_only=True)
class LegacyUser:
    """The shape of the hidden `user` (OrderUser / SubscriptionUser in Polar's schemas)."""

    id: str
    email: str | None
    public_name: str
    avatar_url: str | None
    github_username: str | None


HIDDEN_TYPES: dict[str, Any] = {
    "amount": int,
    "from_balance_amount": int,
    "user_id": str,
    "price_id": str,
    "product_price_id": str | None,
    "user": LegacyUser,
    "price": outputs.ProductPrice,
    "product_price": outputs.ProductPrice | None,
    "type": typing.Literal["one_time", "recurring"],
    "recurring_interval": typing.Literal["day", "week", "month", "year"] | None,
    "price_per_seat": int,
}
LIST_MODELS = {
    "orders": outputs.ListResourceOrder,
    "subscriptions": outputs.ListResourceSubscription,
    "customers": outputs.ListResourceCustomer,
    "products": outputs.ListResourceProduct,
    "refunds": outputs.ListResourceRefund,
}


class SchemaMismatch(AssertionError):
    """The JSON does not match Polar's model."""


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def _declared(cls: type) -> frozenset[str]:
    return frozenset(field.name for field in dataclasses.fields(cls))


def check(value: Any, annotation: Any, path: str = "$") -> None:
    """Raise SchemaMismatch unless `value` matches `annotation` strictly."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return
    if origin in (typing.Union, types.UnionType):
        errors = []
        for member in typing.get_args(annotation):
            try:
                check(value, member, path)
                return
            except SchemaMismatch as error:
                errors.append(str(error))
        raise SchemaMismatch(f"{path}: no union member matches: {errors}")
    if annotation is type(None):
        if value is not None:
            raise SchemaMismatch(f"{path}: expected null, got {value!r}")
        return
    if origin is typing.Literal:
        if value not in typing.get_args(annotation):
            raise SchemaMismatch(f"{path}: {value!r} not in {typing.get_args(annotation)}")
        return
    if origin is list:
        if not isinstance(value, list):
            raise SchemaMismatch(f"{path}: expected a list, got {value!r}")
        for i, item in enumerate(value):
            check(item, typing.get_args(annotation)[0], f"{path}[{i}]")
        return
    if origin is dict:
        if not isinstance(value, dict):
            raise SchemaMismatch(f"{path}: expected an object, got {value!r}")
        for key, item in value.items():
            check(item, typing.get_args(annotation)[1], f"{path}.{key}")
        return
    if dataclasses.is_dataclass(annotation):
        _check_object(value, annotation, path)
        return
    _check_scalar(value, annotation, path)


def _check_scalar(value: Any, annotation: Any, path: str) -> None:
    if annotation is bool:
        ok = isinstance(value, bool)
    elif annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif annotation is str:
        ok = isinstance(value, str)
    else:
        raise SchemaMismatch(f"{path}: unsupported annotation {annotation!r}")
    if not ok:
        raise SchemaMismatch(f"{path}: expected {annotation.__name__}, got {value!r}")


def _check_object(value: Any, cls: type, path: str) -> None:
    if not isinstance(value, dict):
        raise SchemaMismatch(f"{path}: expected {cls.__name__} object, got {value!r}")
    declared = _declared(cls)
    missing = declared - set(value)
    extra = set(value) - declared - HIDDEN_FIELDS.get(cls.__name__, frozenset())
    if missing or extra:
        raise SchemaMismatch(f"{path} ({cls.__name__}): missing {missing}, undeclared {extra}")
    hints = _hints(cls)
    for name in declared:
        check(value[name], hints[name], f"{path}.{name}")
    for name in set(value) - declared:
        check(value[name], HIDDEN_TYPES[name], f"{path}.{name}")


def validate_page(entity: str, body: dict[str, Any]) -> None:
    """Both checks on one list response body."""
    model = LIST_MODELS[entity]
    deserialize(body, model)
    check(body, model)


# Fields whose value picks a branch of Polar's schema or a member of an enum: a sample of items
# must hold each value present (the Literal-typed fields of the models, found below, and these).
VARYING_FIELDS = frozenset({"status", "billing_reason", "currency", "reason", "type"})


def _literal_fields_of(annotation: Any, seen: set[type], found: set[str]) -> bool:
    """Collect the Literal-typed field names under `annotation`; True if it is a Literal."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return True
    if origin is not None:
        return any(_literal_fields_of(a, seen, found) for a in typing.get_args(annotation))
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        if annotation not in seen:
            seen.add(annotation)
            for name, hint in _hints(annotation).items():
                if _literal_fields_of(hint, seen, found):
                    found.add(name)
    return False


@functools.cache
def literal_fields() -> frozenset[str]:
    """Names of every field typed as a Literal (an enum) in the list models, hidden ones too."""
    found: set[str] = set(VARYING_FIELDS)
    seen: set[type] = set()
    for model in (*LIST_MODELS.values(), LegacyUser):
        _literal_fields_of(model, seen, found)
    found |= {name for name, hint in HIDDEN_TYPES.items() if _literal_fields_of(hint, seen, found)}
    return frozenset(found)


def shape(value: Any, key: str | None = None) -> Any:
    """What decides whether `value` passes `check`: its keys at every depth, the JSON type of
    every leaf (null, bool, int, float, str) and the value of every enum field. Two items of one
    shape pass or fail the strict check alike."""
    if isinstance(value, dict):
        return tuple(sorted((k, shape(v, k)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", frozenset(shape(v, key) for v in value))
    if isinstance(value, str):
        return ("str", value) if key in literal_fields() else "str"
    return type(value).__name__


def representatives(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item of each distinct shape, in first-seen order."""
    by_shape: dict[Any, dict[str, Any]] = {}
    for item in items:
        by_shape.setdefault(shape(item), item)
    return list(by_shape.values())


def validate_sample(entity: str, bodies: list[dict[str, Any]]) -> int:
    """Both checks on the first and the last page as sent (envelope included) and on a page
    made of one item of every shape found on any page; gives the items validated."""
    for body in {id(b): b for b in (bodies[0], bodies[-1])}.values():
        validate_page(entity, body)
    sample = representatives([item for body in bodies for item in body["items"]])
    for start in range(0, len(sample), 100):  # pages of Polar's size
        validate_page(entity, {**bodies[0], "items": sample[start : start + 100]})
    return len(sample)

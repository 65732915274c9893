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

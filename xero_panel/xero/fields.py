"""Reading one field of Xero's JSON: required or optional, as text, money, a date or a flag."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .dates import parse_xero_date, parse_xero_datetime, to_decimal

__all__ = [
    "bool_",
    "decimal",
    "opt_date",
    "opt_decimal",
    "opt_str",
    "req",
    "req_date",
    "req_datetime",
]


def req(d: Mapping[str, Any], key: str, what: str) -> Any:
    value = d.get(key)
    if value is None or value == "":
        ident = d.get(f"{what}ID") or "?"
        raise ValueError(f"Xero {what} {ident} has no {key}")
    return value


def opt_str(d: Mapping[str, Any], key: str) -> str | None:
    value = d.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def opt_decimal(d: Mapping[str, Any], key: str) -> Decimal | None:
    value = d.get(key)
    return None if value is None or value == "" else to_decimal(value)


def decimal(d: Mapping[str, Any], key: str, default: Decimal = Decimal("0.00")) -> Decimal:
    value = d.get(key)
    return default if value is None or value == "" else to_decimal(value)


def opt_date(d: Mapping[str, Any], key: str) -> date | None:
    value = d.get(key) or d.get(f"{key}String")
    return None if not value else parse_xero_date(value)


def req_date(d: Mapping[str, Any], key: str, what: str) -> date:
    value = d.get(key) or d.get(f"{key}String") or req(d, key, what)
    return parse_xero_date(value)


def req_datetime(d: Mapping[str, Any], key: str, what: str) -> datetime:
    value = d.get(key) or d.get(f"{key}String") or req(d, key, what)
    return parse_xero_datetime(value)


def bool_(d: Mapping[str, Any], key: str) -> bool:
    value = d.get(key)
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)

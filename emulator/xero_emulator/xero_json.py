"""Xero's JSON dialect: ``/Date(ms+0000)/`` dates, ISO companions and exact money.

Xero writes dates as ``/Date(1539993600000+0000)/`` (Unix milliseconds, optional offset),
pairs some of them with ISO strings (``DateString``, ``UpdatedDateUTCString``) and writes money
as JSON numbers with two decimal places (``46.00``). Python's :mod:`json` cannot write
``46.00`` from a :class:`~decimal.Decimal`, so :func:`dumps` is a small serializer of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "MONEY_PLACES",
    "RATE_PLACES",
    "dumps",
    "format_connection_time",
    "format_envelope_time",
    "format_event_time",
    "format_iso_date",
    "format_iso_utc",
    "format_ms_date",
    "loads",
    "ms_from_datetime",
    "parse_http_date",
    "parse_xero_date",
    "to_decimal",
]

MONEY_PLACES = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")

_MS_DATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<tz>[+-]\d{2,4})?\)/$")
_ISO_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def loads(text: str | bytes) -> Any:
    """Parse JSON keeping every non-integer number as an exact :class:`Decimal`."""
    return json.loads(text, parse_float=Decimal)


def to_decimal(value: object) -> Decimal:
    """Turn a JSON number (or a numeric string) into a :class:`Decimal`.

    :raises ValueError: when the value is not a number.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            pass
    raise ValueError(f"not a number: {value!r}")


def ms_from_datetime(value: dt.datetime) -> int:
    """Unix milliseconds of an aware (or naive UTC) datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _datetime_from_ms(ms: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=ms)


def parse_xero_date(value: object) -> int:
    """Parse a Xero ``/Date(ms[+hhmm])/`` or an ISO 8601 date/datetime into Unix ms (UTC).

    ISO values without an offset are taken as UTC, like Xero's own SDKs do.

    :raises ValueError: when the value is not a date.
    """
    if isinstance(value, dt.datetime):
        return ms_from_datetime(value)
    if isinstance(value, dt.date):
        return ms_from_datetime(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC))
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        # The offset only says which zone the writer was in; the number is already UTC.
        return int(match.group("ms"))
    try:
        if _ISO_DATE_ONLY.match(text):
            day = dt.date.fromisoformat(text)
            return ms_from_datetime(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date: {value!r}") from None
    return ms_from_datetime(parsed)


def parse_http_date(value: str) -> int | None:
    """Parse an ``If-Modified-Since`` value: ISO 8601 (with or without offset, naive = UTC)
    or an RFC 1123 HTTP date. Returns Unix ms, or ``None`` when it cannot be read."""
    text = value.strip()
    if not text:
        return None
    try:
        return parse_xero_date(text)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return ms_from_datetime(parsed)


def format_ms_date(ms: int) -> str:
    """``/Date(1539993600000+0000)/``: the form of every date field in an object."""
    return f"/Date({ms}+0000)/"


def format_envelope_time(ms: int) -> str:
    """``/Date(1552326816230)/``: the envelope's ``DateTimeUTC`` has no offset."""
    return f"/Date({ms})/"


def format_iso_date(ms: int) -> str:
    """``2018-10-20T00:00:00``: the ``DateString`` / ``DueDateString`` companions."""
    return _datetime_from_ms(ms).strftime("%Y-%m-%dT%H:%M:%S")


def format_iso_utc(ms: int) -> str:
    """``2018-11-02T16:31:30Z``: the ``UpdatedDateUTCString`` companion (whole seconds)."""
    return _datetime_from_ms(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_connection_time(ms: int, extra_ticks: int = 0) -> str:
    """``2019-12-07T18:46:19.5165400``: /connections timestamps, 7 fractional digits, no Z."""
    moment = _datetime_from_ms(ms)
    ticks = (ms % 1000) * 10_000 + extra_ticks % 10_000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ticks:07d}"


def format_event_time(ms: int) -> str:
    """``2024-06-21T01:15:39.902``: a webhook event's ``eventDateUtc``."""
    return _datetime_from_ms(ms).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}"


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        # Fixed-point text keeps trailing zeros (46.00) and never uses exponents.
        out.append(format(value, "f"))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(json.dumps(value))
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, Sequence):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    """Serialize to JSON, writing :class:`Decimal` values as exact numbers (``46.00``)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)

"""Xero's date, time and money formats, parsed exactly.

Xero sends timestamps in three shapes:

* Microsoft JSON dates, ``/Date(1539993600000+0000)/``: Unix time in milliseconds, optionally
  followed by an offset that only says which zone the value was *displayed* in (the number is
  always the UTC instant). Negative numbers are dates before 1970.
* ISO 8601 text, with or without ``Z`` or an offset, sometimes with 7 fractional digits
  (``/connections`` sends ``2019-12-07T18:46:19.5165400``). Text without an offset is UTC.
* Date-only fields (invoice ``Date``, ``DueDate``, payment ``Date``) use the same shapes at
  midnight UTC; they are calendar dates and must never be shifted by a local timezone.

Money is a JSON number such as ``46.00``; read JSON with :func:`loads_json`
(``parse_float=Decimal``) and convert with :func:`to_decimal` so that no value ever passes
through a binary float.

Everything here is pure: no I/O, no Flask.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "format_if_modified_since",
    "loads_json",
    "parse_ms_date",
    "parse_xero_date",
    "parse_xero_datetime",
    "to_decimal",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The official SDK's pattern, made tolerant of JSON-escaped slashes (``\/Date(...)\/``) in case a
# value reaches us without going through a JSON parser.
_MS_DATE_RE = re.compile(r"^\\?/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{2,4})?\)\\?/$")

_ISO_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d+))?"
    r"(?P<tz>Z|z|[+-]\d{2}:?\d{2})?)?$"
)


def _parse_offset(text: str) -> timezone:
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    if len(digits) == 2:
        hours, minutes = int(digits), 0
    elif len(digits) == 4:
        hours, minutes = int(digits[:2]), int(digits[2:])
    else:
        raise ValueError(f"not a UTC offset: {text!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_ms_date(value: str) -> datetime:
    """Parse a Microsoft JSON date such as ``/Date(1539993600000+0000)/``.

    The number of milliseconds is the UTC instant; the optional offset only tells which zone
    Xero displayed it in, so it does not move the instant.

    :param value: the raw string from Xero's JSON.
    :return: a timezone-aware :class:`~datetime.datetime` in UTC.
    :raises ValueError: if ``value`` is not a Microsoft JSON date.
    """
    match = _MS_DATE_RE.match(value.strip())
    if match is None:
        raise ValueError(f"not a Xero /Date(...)/ value: {value!r}")
    if match["offset"] is not None:
        _parse_offset(match["offset"])  # validate it; the instant does not depend on it
    # timedelta arithmetic keeps millisecond precision and copes with negative timestamps,
    # which datetime.fromtimestamp() does not on every platform.
    return _EPOCH + timedelta(milliseconds=int(match["ms"]))


def _parse_iso(value: str) -> tuple[datetime, bool]:
    """Parse ISO text into a naive-or-aware datetime; the flag says whether it had an offset."""
    match = _ISO_RE.match(value.strip())
    if match is None:
        raise ValueError(f"not a Xero date or timestamp: {value!r}")
    day = date.fromisoformat(match["date"])
    if match["time"] is None:
        return datetime(day.year, day.month, day.day), False
    parts = [int(p) for p in match["time"].split(":")]
    hour, minute = parts[0], parts[1]
    second = parts[2] if len(parts) == 3 else 0
    # 7 fractional digits (100 ns ticks) are truncated to microseconds: rounding could carry
    # into the next second and make an If-Modified-Since high-water mark skip a record.
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    tz_text = match["tz"]
    tzinfo: timezone | None
    if tz_text is None:
        tzinfo = None
    elif tz_text in ("Z", "z"):
        tzinfo = UTC
    else:
        tzinfo = _parse_offset(tz_text)
    parsed = datetime(day.year, day.month, day.day, hour, minute, second, int(frac), tzinfo=tzinfo)
    return parsed, tzinfo is not None


def parse_xero_datetime(value: str | datetime) -> datetime:
    """Parse any timestamp Xero sends into an aware UTC :class:`~datetime.datetime`.

    Accepts ``/Date(ms[+-hhmm])/``, ISO 8601 with ``Z``, with an offset, or with neither
    (then it is UTC, as on ``/connections`` and in webhooks), with up to 7 fractional digits.
    A :class:`~datetime.datetime` passes through (naive ones are taken as UTC).

    :raises ValueError: if the value is in none of these shapes.
    """
    if isinstance(value, datetime):
        parsed = value
    elif not isinstance(value, str):
        raise ValueError(f"not a Xero timestamp: {value!r}")
    elif "Date(" in value:
        return parse_ms_date(value)
    else:
        parsed, _ = _parse_iso(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_xero_date(value: str | date) -> date:
    """Parse a date-only Xero field (invoice ``Date``, ``DueDate``, payment ``Date``).

    A ``/Date(ms)/`` value is converted to its UTC calendar date, as the official SDK does
    (Xero sends these at midnight ``+0000``). ISO text gives the date it spells
    (``2018-10-20T00:00:00`` and ``2018-10-20`` are both 20 October 2018). The local timezone
    of the machine never plays a part.

    :raises ValueError: if the value is not a Xero date.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.date()
        return value.astimezone(UTC).date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a Xero date: {value!r}")
    if "Date(" in value:
        return parse_ms_date(value).date()
    parsed, _ = _parse_iso(value)
    return parsed.date()


def format_if_modified_since(dt: datetime) -> str:
    """Format ``dt`` for Xero's ``If-Modified-Since`` request header.

    Xero compares to the second, so the value is truncated to whole seconds in UTC
    (``2018-11-02T16:36:32Z``): truncating can only re-fetch a record changed in that same
    second, never skip one. A naive ``dt`` is taken as UTC (SQLite hands back naive values).

    :param dt: the high-water mark, usually the newest ``UpdatedDateUTC`` already cached.
    """
    aware = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%SZ")


def loads_json(data: str | bytes) -> Any:
    """Decode a Xero JSON body with every non-integer number as :class:`~decimal.Decimal`.

    ``46.00`` stays ``Decimal("46.00")`` and ``1.000000`` keeps its six places.
    """
    return json.loads(data, parse_float=Decimal)


def to_decimal(value: object) -> Decimal:
    """Convert a Xero money value to :class:`~decimal.Decimal` without float rounding.

    Accepts :class:`~decimal.Decimal`, :class:`int`, numeric strings (Xero sends some amounts as
    strings, e.g. ``BatchPayment.TotalAmount``) and, as a last resort, floats via ``str()``.

    :raises ValueError: for anything else, including booleans and non-finite numbers.
    """
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"not an amount: {value!r}") from exc
    else:
        raise ValueError(f"not an amount: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return result

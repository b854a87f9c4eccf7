"""What Xero's rate-limit headers say, read once for both rate budgets.

Every Accounting API answer carries ``X-MinLimit-Remaining`` (this organisation's minute),
``X-DayLimit-Remaining`` (its day) and ``X-AppMinLimit-Remaining`` (the app's minute across
every organisation); a 429 adds ``Retry-After`` and ``X-Rate-Limit-Problem`` (``minute``,
``day``, ``concurrent`` or ``appminute``). :func:`learn` turns them into a :class:`Learned`,
and :func:`rate_limited` words the local budget's refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from ..exceptions import RateLimited

__all__ = ["Learned", "learn", "rate_limited", "seconds_until_utc_midnight"]


def seconds_until_utc_midnight(now: float) -> float:
    """Seconds from ``now`` (epoch seconds) until the next UTC day starts."""
    current = datetime.fromtimestamp(now, UTC)
    midnight = datetime(current.year, current.month, current.day, tzinfo=UTC) + timedelta(days=1)
    return max(0.0, midnight.timestamp() - now)


@dataclass(frozen=True, slots=True)
class Learned:
    """What one response's headers told us (``None``: the header was absent or unreadable)."""

    min_remaining: int | None
    day_remaining: int | None
    retry_after: float | None
    problem: str | None
    app_remaining: int | None = None

    @property
    def nothing(self) -> bool:
        """Whether the headers said nothing a budget acts on."""
        return (
            self.min_remaining is None
            and self.day_remaining is None
            and self.retry_after is None
            and self.app_remaining is None
        )


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return max(0, int(str(value).strip()))
    except ValueError:
        return None


def _retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` in seconds, from either delta-seconds or an HTTP date."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def learn(headers: Mapping[str, str], now: float) -> Learned:
    """Read the rate-limit headers of one answer (names in any case)."""
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    return Learned(
        min_remaining=_int_header(lower, "x-minlimit-remaining"),
        day_remaining=_int_header(lower, "x-daylimit-remaining"),
        retry_after=_retry_after(lower.get("retry-after"), now),
        problem=(lower.get("x-rate-limit-problem") or "").strip().lower() or None,
        app_remaining=_int_header(lower, "x-appminlimit-remaining"),
    )


#: Each limit in the words of the local budget's refusal.
_WHAT = {
    "minute": "60-calls-a-minute",
    "day": "daily",
    "concurrent": "concurrent-calls",
}


def rate_limited(problem: str, retry_after: float) -> RateLimited:
    """The :class:`~xero_panel.exceptions.RateLimited` a budget raises when it found no room
    in time; ``appminute`` is the app's limit across every organisation, not this one's."""
    seconds = max(1, round(retry_after + 0.4999))
    if problem == "appminute":
        text = (
            "The app-wide Xero rate budget (calls a minute across all organisations) is used"
            f" up; try again in {seconds} s."
        )
    else:
        what = _WHAT.get(problem, problem)
        text = (
            f"The {what} Xero rate budget for this organisation is used up;"
            f" try again in {seconds} s."
        )
    return RateLimited(text, retry_after=retry_after, problem=problem)

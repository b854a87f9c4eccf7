"""Xero's API rate limits: per-tenant minute, day and concurrency limits and an app-wide
minute limit, all in fixed windows that start with a tenant's first call."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DEFAULT_LIMITS", "Admission", "RateLimiter"]

Problem = Literal["minute", "day", "concurrent", "appminute"]

DEFAULT_LIMITS: dict[str, int] = {
    "per_minute": 60,
    "per_day": 5000,
    "concurrent": 5,
    "app_per_minute": 10_000,
}


@dataclass
class _Window:
    start: float = 0.0
    count: int = 0

    def roll(self, now: float, length: float) -> None:
        if self.count == 0 or now >= self.start + length:
            self.start = now
            self.count = 0


@dataclass
class _TenantState:
    minute: _Window = field(default_factory=_Window)
    day: _Window = field(default_factory=_Window)
    in_flight: int = 0


@dataclass(frozen=True)
class Admission:
    """The limiter's verdict on one call, with the headers to send either way."""

    allowed: bool
    problem: Problem | None
    retry_after: int | None
    min_remaining: int
    day_remaining: int
    app_min_remaining: int

    def headers(self) -> dict[str, str]:
        """``X-*Limit-Remaining`` always; ``Retry-After`` and ``X-Rate-Limit-Problem`` on 429."""
        out = {
            "X-DayLimit-Remaining": str(self.day_remaining),
            "X-MinLimit-Remaining": str(self.min_remaining),
            "X-AppMinLimit-Remaining": str(self.app_min_remaining),
        }
        if not self.allowed and self.problem is not None:
            out["X-Rate-Limit-Problem"] = self.problem
            if self.retry_after is not None:
                out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    """Counts calls per tenant in fixed windows measured on the emulator clock.

    :param clock: emulator time in seconds.
    :param limits: overrides for :data:`DEFAULT_LIMITS` keys.
    """

    def __init__(self, clock: Callable[[], float], limits: Mapping[str, int] | None = None):
        self._clock = clock
        self._lock = threading.Lock()
        self.limits = dict(DEFAULT_LIMITS)
        self._tenants: dict[str, _TenantState] = {}
        self._app = _Window()
        if limits:
            self.configure(limits)

    def configure(self, limits: Mapping[str, int]) -> None:
        """Change limits; unknown keys raise :class:`ValueError`."""
        for key, value in limits.items():
            if key not in DEFAULT_LIMITS:
                raise ValueError(f"unknown limit {key!r}; known: {sorted(DEFAULT_LIMITS)}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"limit {key!r} must be a non-negative integer")
        with self._lock:
            self.limits.update(limits)

    def reset(self) -> None:
        """Forget every window (in-flight counts stay)."""
        with self._lock:
            for state in self._tenants.values():
                state.minute = _Window()
                state.day = _Window()
            self._app = _Window()

    def acquire(self, tenant_id: str) -> Admission:
        """Admit a call or say which limit it broke. An admitted call holds a concurrency
        slot until :meth:`release`."""
        now = self._clock()
        with self._lock:
            state = self._tenants.setdefault(tenant_id, _TenantState())
            state.minute.roll(now, 60)
            state.day.roll(now, 86_400)
            self._app.roll(now, 60)
            lim = self.limits
            problem: Problem | None = None
            retry: int | None = None
            if state.day.count >= lim["per_day"]:
                problem, retry = "day", _ceil(state.day.start + 86_400 - now)
            elif state.minute.count >= lim["per_minute"]:
                problem, retry = "minute", _ceil(state.minute.start + 60 - now)
            elif self._app.count >= lim["app_per_minute"]:
                problem, retry = "appminute", _ceil(self._app.start + 60 - now)
            elif state.in_flight >= lim["concurrent"]:
                problem, retry = "concurrent", 1
            if problem is None:
                state.minute.count += 1
                state.day.count += 1
                self._app.count += 1
                state.in_flight += 1
            return Admission(
                problem is None,
                problem,
                retry,
                max(lim["per_minute"] - state.minute.count, 0),
                max(lim["per_day"] - state.day.count, 0),
                max(lim["app_per_minute"] - self._app.count, 0),
            )

    def release(self, tenant_id: str) -> None:
        """End an admitted call."""
        with self._lock:
            state = self._tenants.get(tenant_id)
            if state is not None and state.in_flight > 0:
                state.in_flight -= 1


def _ceil(seconds: float) -> int:
    return max(1, math.ceil(seconds - 1e-9))

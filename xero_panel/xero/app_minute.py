"""The app-wide minute in one process: Xero's limit on calls a minute across every
organisation the app serves (10,000), counted like a tenant's minute (a sliding window of
60 s plus the arrival margin) and lowered by what ``X-AppMinLimit-Remaining`` says other
processes, or other hosts, have used.

Without Redis each process keeps its own (a deployment of several processes without Redis
cannot share it; the Redis budget keeps it in Redis for every process).
"""

from __future__ import annotations

from collections import deque

__all__ = ["AppMinute"]


class AppMinute:
    """The calls this app made in the last ``span`` seconds, across tenants.

    :param span: how long each call stays counted (the budget's window plus margin).
    """

    def __init__(self, span: float) -> None:
        self.span = span
        self._calls: deque[float] = deque()
        # What Xero last said was used, and when: it counts until a span has passed.
        self._observed = 0
        self._observed_at = float("-inf")
        self._since_observed = 0  # calls recorded since Xero last said
        #: Clock time before which no call may start (a 429 ``appminute``), or ``None``.
        self.blocked_until: float | None = None

    def _trim(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - self.span:
            self._calls.popleft()

    def used(self, now: float) -> int:
        """Calls counted in the window: ours, or what Xero reported plus ours since."""
        self._trim(now)
        if self._observed_at <= now - self.span:
            return len(self._calls)
        return max(len(self._calls), self._observed + self._since_observed)

    def wait(self, now: float, ceiling: int) -> float:
        """Seconds until a call may start under ``ceiling`` (0 when it may now)."""
        used = self.used(now)
        if used < ceiling:
            return 0.0
        waits = []
        if len(self._calls) >= ceiling:
            waits.append(self._calls[len(self._calls) - ceiling] + self.span - now)
        if self._observed_at > now - self.span:
            waits.append(self._observed_at + self.span - now)
        return max(0.001, min(waits) if waits else self.span)

    def record(self, now: float) -> None:
        """Count one call made now."""
        self._calls.append(now)
        self._since_observed += 1

    def observe(self, remaining: int, per_minute: int, now: float) -> None:
        """Xero says ``remaining`` of the app's ``per_minute`` are left."""
        self._observed = max(0, per_minute - remaining)
        self._observed_at = now
        self._since_observed = 0

    def block(self, until: float) -> None:
        """A 429 ``appminute``: no call of any tenant before ``until``."""
        if self.blocked_until is None or until > self.blocked_until:
            self.blocked_until = until

    def blocked(self, now: float) -> float | None:
        """Seconds the app is still blocked for, or ``None``."""
        if self.blocked_until is not None and self.blocked_until <= now:
            self.blocked_until = None
        return None if self.blocked_until is None else self.blocked_until - now

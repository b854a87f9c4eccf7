"""The one count of Xero calls per tenant: today, in the last minute, and in all.

Every call to a tenant's data takes a slot from the rate budget, and the budget records the
call here as it takes the slot (atomically with its checks). Everything that wants to know
how many calls were made reads this counter: the rate budget (is there room?),
``SyncResult.calls`` (calls one sync made), ``flask xero-panel status`` ("calls today") and
the benchmarks. Calls to Xero's identity API (``/connections``) belong to no tenant and are
not counted against any.

No table: the count lives in the process (:class:`InProcessCallCounter`) or, with Redis, in
Redis (:class:`RedisCallCounter`) under the rate budget's keys, so every worker on every host
sees the same numbers.

:attr:`CallCount.today` and :attr:`CallCount.this_minute` are what Xero's limits are
measured against: our own calls, raised to what Xero's ``X-DayLimit-Remaining`` and
``X-MinLimit-Remaining`` headers say was used (another app on the same tenant, another
process before a restart). :attr:`CallCount.sent` counts only the calls sent through this
counter and never resets: subtract two readings to count the calls in between.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = ["CallCount", "CallCounter", "InProcessCallCounter", "RedisCallCounter", "utc_day"]


@dataclass(frozen=True, slots=True)
class CallCount:
    """The calls of one tenant, as counted right now.

    :ivar today: calls counted this UTC day.
    :ivar this_minute: calls counted in the last ``window`` seconds (60).
    :ivar sent: calls sent since the counter began (never resets; diff two readings).
    """

    today: int
    this_minute: int
    sent: int


class CallCounter(Protocol):
    """What readers of the count need."""

    window: float

    def count(self, tenant_id: str) -> CallCount:
        """The calls counted for ``tenant_id``."""
        ...


def utc_day(now: float) -> str:
    """The UTC day of ``now`` (epoch seconds) as ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


@dataclass(slots=True)
class TenantCalls:
    """One tenant's calls in an :class:`InProcessCallCounter` (the budget reads and writes
    it under the counter's lock)."""

    minute: deque[float] = field(default_factory=deque)
    day: str = ""
    today: int = 0
    sent: int = 0


class InProcessCallCounter:
    """A thread-safe count for one process.

    :param window: the minute window in seconds.
    :param clock: the time in epoch seconds (it also decides the UTC day).
    """

    def __init__(self, *, window: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.window = float(window)
        self.clock = clock
        #: Held while reading or changing a tenant's calls.
        self.lock = threading.RLock()
        self._tenants: dict[str, TenantCalls] = {}

    def tenant(self, tenant_id: str, now: float) -> TenantCalls:
        """``tenant_id``'s calls as of ``now``; hold :attr:`lock` while using them."""
        calls = self._tenants.get(tenant_id)
        if calls is None:
            calls = self._tenants[tenant_id] = TenantCalls()
        while calls.minute and calls.minute[0] <= now - self.window:
            calls.minute.popleft()
        today = utc_day(now)
        if calls.day != today:
            calls.day, calls.today = today, 0
        return calls

    def record(self, tenant_id: str, now: float) -> None:
        """Count one call sent at ``now``."""
        with self.lock:
            calls = self.tenant(tenant_id, now)
            calls.minute.append(now)
            calls.today += 1
            calls.sent += 1

    def count(self, tenant_id: str) -> CallCount:
        """The calls counted for ``tenant_id``."""
        with self.lock:
            calls = self.tenant(tenant_id, self.clock())
            return CallCount(today=calls.today, this_minute=len(calls.minute), sent=calls.sent)


# KEYS: 1 minute zset, 2 day counter, 3 sent counter; ARGV: 1 now, 2 window
_COUNT_LUA = """
local now = tonumber(ARGV[1])
local minute = redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[2])), '+inf')
return {tostring(minute), redis.call('GET', KEYS[2]) or '0', redis.call('GET', KEYS[3]) or '0'}
"""


class RedisCallCounter:
    """The count in Redis, shared by every worker on every host.

    Keys are ``<prefix>rate:{<tenant_id>}:minute`` (a sorted set of call times),
    ``...:day:<YYYY-MM-DD>`` and ``...:sent``; the rate budget's Lua scripts write them
    when they take a slot. All keys of a tenant share a hash tag, for Redis Cluster.

    :param redis_client: a :class:`redis.Redis`.
    :param prefix: put before every key (``XERO_PANEL_REDIS_PREFIX``).
    """

    def __init__(
        self,
        redis_client: Any,
        prefix: str = "xero-panel:",
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.prefix = prefix
        self.window = float(window)
        self.clock = clock
        self._count_script = redis_client.register_script(_COUNT_LUA)

    def tenant_key(self, tenant_id: str) -> str:
        """The start of every key of ``tenant_id`` (the budget's keys too)."""
        return f"{self.prefix}rate:{{{tenant_id}}}"

    def keys(self, tenant_id: str, now: float) -> tuple[str, str, str]:
        """The minute, day and sent keys of ``tenant_id`` at ``now``."""
        base = self.tenant_key(tenant_id)
        return f"{base}:minute", f"{base}:day:{utc_day(now)}", f"{base}:sent"

    def count(self, tenant_id: str) -> CallCount:
        """The calls counted for ``tenant_id``, across all workers."""
        now = self.clock()
        minute, today, sent = (
            int(_text(v))
            for v in self._count_script(
                keys=list(self.keys(tenant_id, now)), args=[repr(now), repr(self.window)]
            )
        )
        return CallCount(today=today, this_minute=minute, sent=sent)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

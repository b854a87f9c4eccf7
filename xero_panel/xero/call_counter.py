"""The one count of Xero calls per tenant: today, in the last minute, and in all.

Every call to a tenant's data takes a slot from the rate budget, and the budget records the
call here as it takes the slot (atomically with its checks). Everything that wants to know
how many calls were made reads this counter: the rate budget (is there room?),
``SyncResult.calls`` (calls one sync made), ``flask xero-panel status`` ("calls today") and
the benchmarks. Calls to Xero's identity API (``/connections``) belong to no tenant and are
not counted against any.

With Redis the count lives in Redis (:class:`RedisCallCounter`) under the rate budget's keys,
so every worker on every host sees the same numbers. Without Redis (the embedded default) it
lives in the process (:class:`InProcessCallCounter`), and :class:`DatabaseCallCounter` also
adds each call to the day's row of ``xero_panel_call_day`` as it is made, so another process
(``flask xero-panel status``) reads the calls every process made today. That is one small
write per call, at most 60 a minute per organisation.

:attr:`CallCount.today` and :attr:`CallCount.this_minute` are what Xero's limits are
measured against: our own calls, raised to what Xero's ``X-DayLimit-Remaining`` and
``X-MinLimit-Remaining`` headers say was used (another app on the same tenant, another
process before a restart). :attr:`CallCount.sent` counts only the calls sent through this
counter and never resets: subtract two readings to count the calls in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..models import CallDay

__all__ = [
    "CallCount",
    "CallCounter",
    "DatabaseCallCounter",
    "InProcessCallCounter",
    "RedisCallCounter",
    "utc_day",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallCount:
    """The calls of one tenant, as counted right now.

    :ivar today: calls counted this UTC day.
    :ivar this_minute: calls counted in the last ``window`` seconds (the rate budgets count
        61: a minute plus their arrival margin).
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


class DatabaseCallCounter(InProcessCallCounter):
    """An :class:`InProcessCallCounter` that also adds each call to the database, so every
    process on the same database reads the same calls today.

    The minute window and :attr:`CallCount.sent` stay this process's own (the rate budget
    takes its slots in process); :attr:`CallCount.today` is the database's count (plus any
    of this process's calls it could not write yet), the same in every process. (The rate
    budget itself also heeds what Xero's ``X-DayLimit-Remaining`` says was used, for
    example by another app.) A write that fails (database busy or unreachable, no app
    context) is kept and added with the next call; the call itself is never held up for
    longer than a short busy timeout.

    :param engine: returns the engine of the host's database (called when writing, so it
        may need an app context); an in-memory SQLite database is never shared, so the
        counter then keeps to the process.
    Other parameters: see :class:`InProcessCallCounter`.
    """

    def __init__(
        self,
        engine: Callable[[], Engine],
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(window=window, clock=clock)
        self._engine = engine
        self._unsaved: dict[tuple[str, str], int] = {}

    def record(self, tenant_id: str, now: float) -> None:
        """Count one call sent at ``now``, in the process and in the database."""
        with self.lock:
            super().record(tenant_id, now)
            key = (tenant_id, utc_day(now))
            self._unsaved[key] = self._unsaved.get(key, 0) + 1
            self._save()

    def count(self, tenant_id: str) -> CallCount:
        """The calls counted for ``tenant_id``; today's are every process's, read from the
        database after this process's unsaved calls are written, so every process (the health
        page's, ``flask xero-panel status``'s) reads the same number."""
        with self.lock:
            self._save()
            mine = super().count(tenant_id)
            day = utc_day(self.clock())
            unsaved = self._unsaved.get((tenant_id, day), 0)
        if self._shared_engine() is None:
            return mine
        stored = self._stored(tenant_id, day)
        return CallCount(today=stored + unsaved, this_minute=mine.this_minute, sent=mine.sent)

    def _shared_engine(self) -> Engine | None:
        try:
            engine = self._engine()
        except RuntimeError:  # no app context: keep the count and write it later
            return None
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        return engine

    def _stored(self, tenant_id: str, day: str) -> int:
        engine = self._shared_engine()
        if engine is None:
            return 0
        try:
            with engine.connect() as connection:
                query = select(CallDay.calls).where(
                    CallDay.tenant_id == tenant_id, CallDay.day == day
                )
                return int(connection.scalar(query) or 0)
        except SQLAlchemyError:
            logger.warning("xero-panel: could not read the shared call count", exc_info=True)
            return 0

    def _save(self) -> None:
        engine = self._shared_engine()
        if engine is None:
            return
        for (tenant_id, day), calls in list(self._unsaved.items()):
            try:
                _add_calls(engine, tenant_id, day, calls)
            except SQLAlchemyError:
                logger.warning("xero-panel: could not save the call count", exc_info=True)
                return
            del self._unsaved[(tenant_id, day)]


def _add_calls(engine: Engine, tenant_id: str, day: str, calls: int) -> None:
    """Add ``calls`` to the row of ``tenant_id`` and ``day``, creating it if need be."""
    where = (CallDay.tenant_id == tenant_id, CallDay.day == day)
    for attempt in range(2):
        try:
            with engine.begin() as connection:
                if engine.url.get_backend_name() == "sqlite":
                    # Wait briefly for another writer, not the default 5 s: the count can wait.
                    connection.exec_driver_sql("PRAGMA busy_timeout = 250")
                added = connection.execute(
                    update(CallDay).where(*where).values(calls=CallDay.calls + calls)
                )
                if not added.rowcount:
                    connection.execute(
                        insert(CallDay).values(tenant_id=tenant_id, day=day, calls=calls)
                    )
            return
        except IntegrityError:
            # Another process inserted the row between our update and insert: update it.
            if attempt:
                raise


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

"""The per-tenant rate budget the Xero client consults before every call.

Xero allows each tenant 60 calls a minute, 5 at a time and 5,000 a day, and answers 429 past
that. Xero's windows are fixed but reset at times we cannot see, so the minute budget here is a
*sliding* 60 s window: if no 60 s span ever holds more than 60 calls, no fixed window can either.
The day budget counts per UTC day. Both are lowered further by what Xero's response headers say
is left (``X-MinLimit-Remaining``, ``X-DayLimit-Remaining``), and a 429's ``Retry-After`` blocks
the tenant until then.

Two implementations share the :class:`RateBudget` protocol:

* :class:`InProcessRateBudget`: thread-safe, for one process (the embedded default).
* :class:`RedisRateBudget`: shared by every worker on every host through Redis; each step is
  one Lua script, so it is atomic. Concurrency slots expire, so a crashed worker cannot hold one
  forever.

Both take a ``clock`` (seconds since the epoch) and a ``sleep`` so tests need no real waiting.
"""

from __future__ import annotations

import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

from .exceptions import RateLimited

__all__ = [
    "BudgetUsage",
    "InProcessRateBudget",
    "LimitName",
    "RateBudget",
    "RedisRateBudget",
    "seconds_until_utc_midnight",
]

#: Which limit stopped a call; the same names Xero uses in ``X-Rate-Limit-Problem``.
LimitName = Literal["minute", "day", "concurrent"]


@dataclass(frozen=True, slots=True)
class BudgetUsage:
    """What a tenant has used, as the budget sees it right now.

    :ivar minute_used: calls counted in the last 60 s (including ones Xero's headers said had
        been made that we did not see).
    :ivar day_used: calls counted this UTC day.
    :ivar concurrent: calls in progress.
    :ivar blocked_until: clock time before which no call may start (after a 429), or ``None``.
    """

    minute_used: int
    day_used: int
    concurrent: int
    blocked_until: float | None


class RateBudget(Protocol):
    """What :class:`~xero_panel.client.XeroClient` needs from a rate budget."""

    def acquire(self, tenant_id: str, *, max_wait: float) -> AbstractContextManager[None]:
        """A context manager that takes one call (and one concurrency slot) for ``tenant_id``
        when entered, waiting up to ``max_wait`` seconds for room, and frees the slot on exit.

        :raises RateLimited: when there is no room within ``max_wait``; ``retry_after`` says
            how long until there should be, ``problem`` which limit it was.
        """
        ...

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        """Learn from a Xero response's headers: ``X-MinLimit-Remaining``,
        ``X-DayLimit-Remaining``, and ``Retry-After`` with ``X-Rate-Limit-Problem`` (the client
        passes ``Retry-After`` on only for 429 answers)."""
        ...

    def usage(self, tenant_id: str) -> BudgetUsage:
        """Report what ``tenant_id`` has used."""
        ...


def seconds_until_utc_midnight(now: float) -> float:
    """Seconds from ``now`` (epoch seconds) until the next UTC day starts."""
    current = datetime.fromtimestamp(now, UTC)
    midnight = datetime(current.year, current.month, current.day, tzinfo=UTC) + timedelta(days=1)
    return max(0.0, midnight.timestamp() - now)


def _utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class _Learned:
    """What one response's headers told us."""

    min_remaining: int | None
    day_remaining: int | None
    retry_after: float | None
    problem: str | None


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


def _learn(headers: Mapping[str, str], now: float) -> _Learned:
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    return _Learned(
        min_remaining=_int_header(lower, "x-minlimit-remaining"),
        day_remaining=_int_header(lower, "x-daylimit-remaining"),
        retry_after=_retry_after(lower.get("retry-after"), now),
        problem=(lower.get("x-rate-limit-problem") or "").strip().lower() or None,
    )


def _rate_limited(problem: str, retry_after: float) -> RateLimited:
    what = {
        "minute": "60-calls-a-minute",
        "day": "daily",
        "concurrent": "concurrent-calls",
    }.get(problem, problem)
    seconds = max(1, round(retry_after + 0.4999))
    return RateLimited(
        f"The {what} Xero rate budget for this organisation is used up; try again in {seconds} s.",
        retry_after=retry_after,
        problem=problem,
    )


class _BudgetBase(ABC):
    """Shared waiting logic: ask ``_try_take`` for a slot until it succeeds or time runs out."""

    def __init__(
        self,
        *,
        per_minute: int,
        per_day: int,
        concurrent: int,
        window: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        poll_interval: float,
    ) -> None:
        if per_minute < 1 or per_day < 1 or concurrent < 1:
            raise ValueError("rate budget limits must be at least 1")
        if window <= 0 or poll_interval <= 0:
            raise ValueError("window and poll_interval must be positive")
        self.per_minute = per_minute
        self.per_day = per_day
        self.concurrent = concurrent
        self.window = float(window)
        self._clock = clock
        self._sleep = sleep
        self.poll_interval = poll_interval

    @abstractmethod
    def _try_take(self, tenant_id: str, token: str) -> tuple[str, float] | None:
        """Take a slot and return ``None``, or return (problem, seconds until worth retrying)."""

    @abstractmethod
    def _release(self, tenant_id: str, token: str) -> None:
        """Free the concurrency slot ``token`` holds."""

    def acquire(self, tenant_id: str, *, max_wait: float) -> AbstractContextManager[None]:
        """Return a context manager that takes one call for ``tenant_id`` on entry (waiting up
        to ``max_wait`` s) and frees its concurrency slot on exit; see :class:`RateBudget`.

        Waits whose length is known (minute window, ``Retry-After``, the day's end) that would
        go past ``max_wait`` raise at once instead of sleeping first. A full set of concurrency
        slots is polled every ``poll_interval`` s.
        """
        return _Slot(self, tenant_id, max_wait)

    def _take(self, tenant_id: str, token: str, max_wait: float) -> None:
        waited = 0.0
        while True:
            refused = self._try_take(tenant_id, token)
            if refused is None:
                return
            problem, wait = refused
            if problem == "concurrent":
                wait = self.poll_interval
            # Never spin: a refusal always costs at least a millisecond of waiting.
            wait = max(wait, 0.001)
            if waited + wait > max_wait:
                raise _rate_limited(problem, wait)
            self._sleep(wait)
            waited += wait


class _Slot(AbstractContextManager[None]):
    """One call's hold on a budget: taken on ``__enter__``, concurrency slot freed on exit."""

    def __init__(self, budget: _BudgetBase, tenant_id: str, max_wait: float) -> None:
        self._budget = budget
        self._tenant_id = tenant_id
        self._max_wait = max_wait
        self._token: str | None = None

    def __enter__(self) -> None:
        if self._token is not None:
            raise RuntimeError("a rate budget slot can be entered only once")
        token = uuid.uuid4().hex
        self._budget._take(self._tenant_id, token, self._max_wait)
        self._token = token

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            self._budget._release(self._tenant_id, self._token)


class InProcessRateBudget(_BudgetBase):
    """A thread-safe rate budget for one process.

    :param per_minute: calls allowed in any ``window`` seconds (Xero: 60 a minute).
    :param per_day: calls allowed per UTC day (Xero: 5,000).
    :param concurrent: calls in progress at once (Xero: 5).
    :param window: length of the sliding window in seconds.
    :param clock: returns the time in epoch seconds; also decides the UTC day.
    :param sleep: how to wait (tests pass a fake that advances their clock).
    :param poll_interval: how often to look for a free concurrency slot.
    """

    @dataclass(slots=True)
    class _Tenant:
        calls: deque[float] = field(default_factory=deque)
        day: str = ""
        day_used: int = 0
        in_flight: set[str] = field(default_factory=set)
        blocked_until: float | None = None
        blocked_problem: str = "minute"

    def __init__(
        self,
        *,
        per_minute: int = 60,
        per_day: int = 5000,
        concurrent: int = 5,
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 0.05,
    ) -> None:
        super().__init__(
            per_minute=per_minute,
            per_day=per_day,
            concurrent=concurrent,
            window=window,
            clock=clock,
            sleep=sleep,
            poll_interval=poll_interval,
        )
        self._lock = threading.Lock()
        self._tenants: dict[str, InProcessRateBudget._Tenant] = {}

    def _state(self, tenant_id: str, now: float) -> InProcessRateBudget._Tenant:
        state = self._tenants.get(tenant_id)
        if state is None:
            state = self._tenants[tenant_id] = self._Tenant()
        while state.calls and state.calls[0] <= now - self.window:
            state.calls.popleft()
        today = _utc_day(now)
        if state.day != today:
            state.day, state.day_used = today, 0
        if state.blocked_until is not None and state.blocked_until <= now:
            state.blocked_until = None
        return state

    def _try_take(self, tenant_id: str, token: str) -> tuple[str, float] | None:
        with self._lock:
            now = self._clock()
            state = self._state(tenant_id, now)
            if state.blocked_until is not None:
                return state.blocked_problem, state.blocked_until - now
            if state.day_used >= self.per_day:
                return "day", seconds_until_utc_midnight(now)
            if len(state.calls) >= self.per_minute:
                # Room appears when enough of the oldest calls have left the window.
                oldest = state.calls[len(state.calls) - self.per_minute]
                return "minute", max(0.0, oldest + self.window - now)
            if len(state.in_flight) >= self.concurrent:
                return "concurrent", 0.0
            state.calls.append(now)
            state.day_used += 1
            state.in_flight.add(token)
            return None

    def _release(self, tenant_id: str, token: str) -> None:
        with self._lock:
            self._tenants[tenant_id].in_flight.discard(token)

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        """Lower the budget to what Xero says is left, and block on ``Retry-After``.

        ``X-MinLimit-Remaining: n`` adds calls dated now until at most ``n`` are left in the
        window; ``X-DayLimit-Remaining: n`` raises today's count to ``per_day - n``. A
        ``Retry-After`` blocks the tenant for that long (the later block wins).
        """
        with self._lock:
            now = self._clock()
            learned = _learn(headers, now)
            state = self._state(tenant_id, now)
            if learned.min_remaining is not None:
                missing = self.per_minute - learned.min_remaining - len(state.calls)
                state.calls.extend([now] * max(0, missing))
            if learned.day_remaining is not None:
                state.day_used = max(state.day_used, self.per_day - learned.day_remaining)
            if learned.retry_after is not None:
                until = now + learned.retry_after
                if state.blocked_until is None or until > state.blocked_until:
                    state.blocked_until = until
                    state.blocked_problem = learned.problem or "minute"

    def usage(self, tenant_id: str) -> BudgetUsage:
        """Report what ``tenant_id`` has used."""
        with self._lock:
            state = self._state(tenant_id, self._clock())
            return BudgetUsage(
                minute_used=len(state.calls),
                day_used=state.day_used,
                concurrent=len(state.in_flight),
                blocked_until=state.blocked_until,
            )


# All keys of one tenant share a hash tag ({...}) so the scripts also work on Redis Cluster.
# KEYS: 1 minute zset (member -> call time), 2 day counter, 3 slots zset (member -> expiry),
#       4 block hash {until, problem}
# ARGV: 1 now, 2 window, 3 per_minute, 4 per_day, 5 concurrent, 6 slot_ttl, 7 token, 8 day_ttl
_ACQUIRE_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local until_ = tonumber(redis.call('HGET', KEYS[4], 'until') or '0')
if until_ > now then
  local problem = redis.call('HGET', KEYS[4], 'problem') or 'minute'
  return {problem, tostring(until_ - now)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local day_used = tonumber(redis.call('GET', KEYS[2]) or '0')
if day_used >= tonumber(ARGV[4]) then
  return {'day', '0'}
end
local per_minute = tonumber(ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
if count >= per_minute then
  local oldest = redis.call('ZRANGE', KEYS[1], count - per_minute, count - per_minute, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + window - now
  if wait < 0 then wait = 0 end
  return {'minute', tostring(wait)}
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then
  return {'concurrent', '0'}
end
redis.call('ZADD', KEYS[1], now, ARGV[7])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[7])
redis.call('PEXPIRE', KEYS[3], math.ceil(tonumber(ARGV[6]) * 1000) + 1000)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[8]))
return {'ok', '0'}
"""

# KEYS: 1 minute zset, 2 day counter, 3 block hash
# ARGV: 1 now, 2 window, 3 per_minute, 4 per_day, 5 min_remaining|'', 6 day_remaining|'',
#       7 retry_after|'', 8 problem, 9 day_ttl, 10 filler member prefix
_OBSERVE_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
if ARGV[5] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local missing = tonumber(ARGV[3]) - tonumber(ARGV[5]) - redis.call('ZCARD', KEYS[1])
  for i = 1, missing do
    redis.call('ZADD', KEYS[1], now, ARGV[10] .. i)
  end
  if missing > 0 then
    redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  end
end
if ARGV[6] ~= '' then
  local floor = tonumber(ARGV[4]) - tonumber(ARGV[6])
  if floor > tonumber(redis.call('GET', KEYS[2]) or '0') then
    redis.call('SET', KEYS[2], floor, 'EX', tonumber(ARGV[9]))
  end
end
if ARGV[7] ~= '' then
  local until_ = now + tonumber(ARGV[7])
  if until_ > tonumber(redis.call('HGET', KEYS[3], 'until') or '0') then
    redis.call('HSET', KEYS[3], 'until', tostring(until_), 'problem', ARGV[8])
    redis.call('PEXPIRE', KEYS[3], math.ceil(tonumber(ARGV[7]) * 1000) + 1000)
  end
end
return 'ok'
"""

# KEYS: 1 minute zset, 2 day counter, 3 slots zset, 4 block hash; ARGV: 1 now, 2 window
_USAGE_LUA = """
local now = tonumber(ARGV[1])
local minute = redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[2])), '+inf')
local day = redis.call('GET', KEYS[2]) or '0'
local slots = redis.call('ZCOUNT', KEYS[3], '(' .. now, '+inf')
local until_ = redis.call('HGET', KEYS[4], 'until') or ''
if until_ ~= '' and tonumber(until_) <= now then until_ = '' end
return {tostring(minute), day, tostring(slots), until_}
"""


class RedisRateBudget(_BudgetBase):
    """A rate budget in Redis, shared by every worker on every host.

    Keys are ``{prefix}:rate:{<tenant_id>}:minute|day:<YYYY-MM-DD>|slots|block``. Each
    concurrency slot is stored with an expiry (``slot_ttl``), so a worker that dies mid-call
    frees its slot after ``slot_ttl`` seconds at most. Times come from ``clock``, not from
    Redis, so every host needs a synchronised clock (NTP is plenty for 60 s windows).

    :param redis_client: a :class:`redis.Redis` (``decode_responses`` either way).
    :param prefix: namespace for the keys.
    :param slot_ttl: seconds after which an unreleased concurrency slot is dropped; keep it
        above the longest single HTTP call (connect + read timeout).
    Other parameters as for :class:`InProcessRateBudget`.
    """

    def __init__(
        self,
        redis_client: Any,
        prefix: str = "xero_panel",
        *,
        per_minute: int = 60,
        per_day: int = 5000,
        concurrent: int = 5,
        window: float = 60.0,
        slot_ttl: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 0.05,
    ) -> None:
        super().__init__(
            per_minute=per_minute,
            per_day=per_day,
            concurrent=concurrent,
            window=window,
            clock=clock,
            sleep=sleep,
            poll_interval=poll_interval,
        )
        if slot_ttl <= 0:
            raise ValueError("slot_ttl must be positive")
        self.slot_ttl = float(slot_ttl)
        self.prefix = prefix
        self._redis = redis_client
        self._acquire_script = redis_client.register_script(_ACQUIRE_LUA)
        self._observe_script = redis_client.register_script(_OBSERVE_LUA)
        self._usage_script = redis_client.register_script(_USAGE_LUA)

    # Day counters live two days so a clock near midnight on another host still finds them.
    _DAY_TTL = 2 * 86400

    def _keys(self, tenant_id: str, now: float) -> tuple[str, str, str, str]:
        base = f"{self.prefix}:rate:{{{tenant_id}}}"
        return (f"{base}:minute", f"{base}:day:{_utc_day(now)}", f"{base}:slots", f"{base}:block")

    def _try_take(self, tenant_id: str, token: str) -> tuple[str, float] | None:
        now = self._clock()
        result = self._acquire_script(
            keys=list(self._keys(tenant_id, now)),
            args=[
                repr(now),
                repr(self.window),
                self.per_minute,
                self.per_day,
                self.concurrent,
                repr(self.slot_ttl),
                token,
                self._DAY_TTL,
            ],
        )
        problem, wait = (_text(v) for v in result)
        if problem == "ok":
            return None
        if problem == "day":
            return "day", seconds_until_utc_midnight(now)
        return problem, max(0.0, float(wait))

    def _release(self, tenant_id: str, token: str) -> None:
        self._redis.zrem(self._keys(tenant_id, self._clock())[2], token)

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        """Lower the shared budget to what Xero says is left; see
        :meth:`InProcessRateBudget.observe`."""
        now = self._clock()
        learned = _learn(headers, now)
        if learned == _Learned(None, None, None, learned.problem):
            return
        minute, day, _slots, block = self._keys(tenant_id, now)

        def opt(value: float | None) -> str:
            return "" if value is None else repr(value)

        self._observe_script(
            keys=[minute, day, block],
            args=[
                repr(now),
                repr(self.window),
                self.per_minute,
                self.per_day,
                opt(learned.min_remaining),
                opt(learned.day_remaining),
                opt(learned.retry_after),
                learned.problem or "minute",
                self._DAY_TTL,
                f"observed:{uuid.uuid4().hex}:",
            ],
        )

    def usage(self, tenant_id: str) -> BudgetUsage:
        """Report what ``tenant_id`` has used, across all workers."""
        now = self._clock()
        minute, day, slots, until = (
            _text(v)
            for v in self._usage_script(
                keys=list(self._keys(tenant_id, now)), args=[repr(now), repr(self.window)]
            )
        )
        return BudgetUsage(
            minute_used=int(minute),
            day_used=int(day),
            concurrent=int(slots),
            blocked_until=float(until) if until else None,
        )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

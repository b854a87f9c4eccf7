"""Fair use of a rep's *Refresh*: one refresh in flight per record (other presses join it),
a cooldown per record, and a limit per user, decided in one atomic step per press.

A press of *Refresh* asks :meth:`RefreshGate.ask`, which answers with a :class:`RefreshTurn`:

* ``go``: nothing stops it; the refresh runs (and the caller says :meth:`~RefreshGate.finish`
  when it is done). The record's cooldown (``XERO_PANEL_REFRESH_COOLDOWN``, 30 s) starts
  now and the press counts against the user's minute.
* ``join``: a refresh of the same record is in flight (another rep, another tab, a double
  click); the press waits for it and shows its result. It makes no Xero call and does not
  count against the user.
* ``cooldown``: the record was refreshed less than the cooldown ago; the panel shows that
  result and when *Refresh* works again, without calling Xero.
* ``user-limit``: the user pressed *Refresh* ``XERO_PANEL_REFRESH_PER_USER_PER_MINUTE``
  (6) times in the last minute, over any records; likewise answered from the cache.

With Redis the gate lives there (keys ``<prefix>refresh:...``), shared by every worker;
without it, in the process. Times are epoch seconds from the ``clock`` given.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..clock import utcnow

__all__ = [
    "USER_WINDOW",
    "InProcessRefreshGate",
    "RedisRefreshGate",
    "RefreshGate",
    "RefreshTurn",
    "make_refresh_gate",
]

#: The per-user limit counts the presses of the last this many seconds.
USER_WINDOW = 60.0
#: How long a refresh counts as in flight if its process dies before saying it finished.
FLIGHT_TTL = 60.0

Verdict = Literal["go", "join", "cooldown", "user-limit"]


@dataclass(frozen=True, slots=True)
class RefreshTurn:
    """What one press of *Refresh* may do.

    :ivar verdict: ``go``, ``join``, ``cooldown`` or ``user-limit`` (see the module).
    :ivar retry_at: when *Refresh* works again for this press (epoch seconds), for
        ``cooldown`` and ``user-limit``.
    :ivar last_at: when the record's last refresh started (epoch seconds), if known.
    """

    verdict: Verdict
    retry_at: float | None = None
    last_at: float | None = None


class RefreshGate(Protocol):
    """What the panel's *Refresh* asks before it calls Xero."""

    def ask(self, record: str, user: str) -> RefreshTurn:
        """Decide one press of *Refresh* on ``record`` by ``user`` (and, on ``go``, note it)."""
        ...

    def finish(self, record: str) -> None:
        """The refresh of ``record`` that was told ``go`` is done."""
        ...

    def wait_finished(self, record: str, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the refresh in flight on ``record``; whether it ended."""
        ...


class _Limits:
    def __init__(
        self,
        *,
        cooldown: float,
        per_user: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        poll_interval: float,
    ) -> None:
        if cooldown < 0 or per_user < 0 or poll_interval <= 0:
            raise ValueError("cooldown and per_user must be 0 or more, poll_interval positive")
        self.cooldown = float(cooldown)
        self.per_user = per_user
        self.clock = clock
        self.sleep = sleep
        self.poll_interval = poll_interval

    def wait_finished(self, in_flight: Callable[[], bool], timeout: float) -> bool:
        waited = 0.0
        while in_flight():
            if waited >= timeout:
                return False
            self.sleep(self.poll_interval)
            waited += self.poll_interval
        return True


class InProcessRefreshGate:
    """The gate in one process (thread-safe).

    :param cooldown: seconds after a record's refresh during which presses are answered
        from the cache (``0``: no cooldown).
    :param per_user: presses one user may make in any minute (``0``: no limit).
    """

    def __init__(
        self,
        *,
        cooldown: float = 30.0,
        per_user: int = 6,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 0.05,
    ) -> None:
        self._limits = _Limits(
            cooldown=cooldown,
            per_user=per_user,
            clock=clock,
            sleep=sleep,
            poll_interval=poll_interval,
        )
        self._lock = threading.Lock()
        self._flights: dict[str, float] = {}  # record -> in flight until
        self._last: dict[str, float] = {}  # record -> when its last refresh started
        self._users: dict[str, deque[float]] = {}

    def ask(self, record: str, user: str) -> RefreshTurn:
        """See :meth:`RefreshGate.ask`."""
        limits = self._limits
        with self._lock:
            now = limits.clock()
            last = self._last.get(record)
            if self._flights.get(record, float("-inf")) > now:
                return RefreshTurn("join", last_at=last)
            if last is not None and last + limits.cooldown > now:
                return RefreshTurn("cooldown", retry_at=last + limits.cooldown, last_at=last)
            presses = self._users.setdefault(user, deque())
            while presses and presses[0] <= now - USER_WINDOW:
                presses.popleft()
            if limits.per_user and len(presses) >= limits.per_user:
                oldest = presses[len(presses) - limits.per_user]
                return RefreshTurn("user-limit", retry_at=oldest + USER_WINDOW, last_at=last)
            presses.append(now)
            self._flights[record] = now + FLIGHT_TTL
            self._last[record] = now
            return RefreshTurn("go", last_at=now)

    def finish(self, record: str) -> None:
        """See :meth:`RefreshGate.finish`."""
        with self._lock:
            self._flights.pop(record, None)

    def wait_finished(self, record: str, timeout: float) -> bool:
        """See :meth:`RefreshGate.wait_finished`."""

        def in_flight() -> bool:
            with self._lock:
                return self._flights.get(record, float("-inf")) > self._limits.clock()

        return self._limits.wait_finished(in_flight, timeout)


# KEYS: 1 flight (string: until), 2 last (string: started at), 3 user presses (zset)
# ARGV: 1 now, 2 cooldown, 3 per_user, 4 user window, 5 flight ttl, 6 member
_ASK_LUA = """
local now = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[2]) or '')
local lasttext = last and tostring(last) or ''
if tonumber(redis.call('GET', KEYS[1]) or '-1') > now then
  return {'join', '', lasttext}
end
local cooldown = tonumber(ARGV[2])
if last ~= nil and last + cooldown > now then
  return {'cooldown', tostring(last + cooldown), lasttext}
end
local window = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
local per_user = tonumber(ARGV[3])
local count = redis.call('ZCARD', KEYS[3])
if per_user > 0 and count >= per_user then
  local oldest = redis.call('ZRANGE', KEYS[3], count - per_user, count - per_user, 'WITHSCORES')
  return {'user-limit', tostring(tonumber(oldest[2]) + window), lasttext}
end
redis.call('ZADD', KEYS[3], now, ARGV[6])
redis.call('PEXPIRE', KEYS[3], math.ceil(window * 1000) + 1000)
local ttl = tonumber(ARGV[5])
redis.call('SET', KEYS[1], tostring(now + ttl), 'PX', math.ceil(ttl * 1000))
local keep = cooldown
if keep < ttl then keep = ttl end
redis.call('SET', KEYS[2], tostring(now), 'PX', math.ceil(keep * 1000) + 1000)
return {'go', '', tostring(now)}
"""


class RedisRefreshGate:
    """The gate in Redis, shared by every worker; parameters as for
    :class:`InProcessRefreshGate`, plus the Redis client and the key prefix."""

    def __init__(
        self,
        redis_client: Any,
        prefix: str = "xero-panel:",
        *,
        cooldown: float = 30.0,
        per_user: int = 6,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 0.05,
    ) -> None:
        self._limits = _Limits(
            cooldown=cooldown,
            per_user=per_user,
            clock=clock,
            sleep=sleep,
            poll_interval=poll_interval,
        )
        self._redis = redis_client
        self.prefix = prefix
        self._ask = redis_client.register_script(_ASK_LUA)

    def _keys(self, record: str) -> tuple[str, str]:
        return f"{self.prefix}refresh:{record}:flight", f"{self.prefix}refresh:{record}:last"

    def ask(self, record: str, user: str) -> RefreshTurn:
        """See :meth:`RefreshGate.ask`."""
        limits = self._limits
        now = limits.clock()
        flight, last = self._keys(record)
        verdict, retry_at, last_at = (
            v.decode() if isinstance(v, bytes) else str(v)
            for v in self._ask(
                keys=[flight, last, f"{self.prefix}refresh-user:{user}"],
                args=[
                    repr(now),
                    repr(limits.cooldown),
                    limits.per_user,
                    repr(USER_WINDOW),
                    repr(FLIGHT_TTL),
                    f"{now!r}:{time.perf_counter_ns()}",
                ],
            )
        )
        assert verdict in ("go", "join", "cooldown", "user-limit")
        return RefreshTurn(
            verdict,  # type: ignore[arg-type]
            retry_at=float(retry_at) if retry_at else None,
            last_at=float(last_at) if last_at else None,
        )

    def finish(self, record: str) -> None:
        """See :meth:`RefreshGate.finish`."""
        self._redis.delete(self._keys(record)[0])

    def wait_finished(self, record: str, timeout: float) -> bool:
        """See :meth:`RefreshGate.wait_finished`."""
        flight = self._keys(record)[0]

        def in_flight() -> bool:
            until = self._redis.get(flight)
            return until is not None and float(until) > self._limits.clock()

        return self._limits.wait_finished(in_flight, timeout)


def make_refresh_gate(
    redis_client: Any, prefix: str, *, cooldown: float, per_user: int
) -> RefreshGate:
    """The gate for the settings: in Redis when there is a client, else in the process; on
    the plugin's clock (:func:`~xero_panel.clock.utcnow`)."""

    def clock() -> float:
        return utcnow().timestamp()

    if redis_client is not None:
        return RedisRefreshGate(
            redis_client, prefix, cooldown=cooldown, per_user=per_user, clock=clock
        )
    return InProcessRefreshGate(cooldown=cooldown, per_user=per_user, clock=clock)

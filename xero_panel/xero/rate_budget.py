"""The per-tenant rate budget the Xero client consults before every call.

Xero allows each tenant 60 calls a minute, 5 at a time and 5,000 a day, and answers 429 past
that. Xero's windows are fixed but reset at times we cannot see, so the minute budget here is a
*sliding* window: if no 60 s span ever holds more than 60 calls, no fixed window can either.
The budget counts the moment it hands out a slot, Xero the moment the call arrives, and the
first call of a burst can take longer to arrive than the 61st (a new connection's handshake), so
each call stays counted for 60 s plus :data:`ARRIVAL_MARGIN`: spreads in arrival time up to the
margin cannot put 61 calls into one of Xero's minute windows, and a full-speed sync still makes
60 calls every 61 s. The day budget counts per UTC day and needs no margin: a call that lands in
Xero's new day but was counted in our old one is reported back by the first answers of the new
day (``X-DayLimit-Remaining``), thousands of calls before the day limit could be reached, while
at the minute limit the header comes too late. Both are lowered further by what Xero's
response headers say is left (``X-MinLimit-Remaining``, ``X-DayLimit-Remaining``), and a 429's
``Retry-After`` blocks the tenant until then.

Two implementations share the :class:`RateBudget` protocol:

* :class:`InProcessRateBudget`: thread-safe, for one process (the embedded default).
* :class:`~xero_panel.xero.redis_rate_budget.RedisRateBudget`: shared by every worker on every
  host through Redis; each step is one Lua script, so it is atomic. Concurrency slots expire,
  so a crashed worker cannot hold one forever.

The calls themselves are counted in the budget's
:class:`~xero_panel.xero.call_counter.CallCounter` (:attr:`RateBudget.counter`): the budget
records each call there as it takes its slot, and reads it to decide whether there is room.
Both take a ``clock`` (seconds since the epoch) and a ``sleep`` so tests need no real waiting.
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol, TypedDict, Unpack

from .app_minute import AppMinute
from .call_counter import CallCounter, InProcessCallCounter
from .call_kinds import CallKind, Shares, Waiters
from .rate_headers import learn, rate_limited, seconds_until_utc_midnight
from .yielding_waits import WaitAbandoned, step_for, wants_to_yield

__all__ = [
    "ARRIVAL_MARGIN",
    "BudgetOptions",
    "BudgetUsage",
    "CallKind",
    "InProcessRateBudget",
    "LimitName",
    "RateBudget",
    "seconds_until_utc_midnight",
]

#: Seconds a call stays counted against the minute limit beyond Xero's 60 s: how much longer
#: one call may take to reach Xero than a later one without the two landing in one window.
ARRIVAL_MARGIN = 1.0
#: How long a full sync or a reconciliation lets one call wait for the budget: a whole
#: window and then some, so that one faster than 60 calls a minute waits for room instead of
#: failing at its 61st call (views, refreshes and admin actions keep the client's 30 s).
BACKGROUND_MAX_WAIT = 60.0 + ARRIVAL_MARGIN + 5.0

#: Which limit stopped a call; the same names Xero uses in ``X-Rate-Limit-Problem``.
LimitName = Literal["minute", "day", "concurrent", "appminute"]
#: The app-wide limit of calls a minute across every tenant (Xero's: 10,000).
APP_PER_MINUTE = 10_000
#: The waiters' scope of the app-wide minute (tenant ids are UUIDs, so it cannot clash).
_APP = "*app*"


@dataclass(frozen=True, slots=True)
class BudgetUsage:
    """What a tenant has used, as the budget sees it right now.

    :ivar minute_used: calls counted in the last 60 s plus the margin (including ones Xero's
        headers said had been made that we did not see).
    :ivar day_used: calls counted this UTC day.
    :ivar concurrent: calls in progress.
    :ivar blocked_until: clock time before which no call may start (after a 429), or ``None``.
    """

    minute_used: int
    day_used: int
    concurrent: int
    blocked_until: float | None


class RateBudget(Protocol):
    """What :class:`~xero_panel.xero.client.XeroClient` needs from a rate budget."""

    @property
    def counter(self) -> CallCounter:
        """Where this budget counts the calls it lets through."""
        ...

    def acquire(
        self, tenant_id: str, *, max_wait: float, kind: CallKind = "refresh"
    ) -> AbstractContextManager[None]:
        """A context manager that takes one call (and one concurrency slot) for ``tenant_id``
        when entered, waiting up to ``max_wait`` seconds for room, and frees the slot on exit.
        ``kind`` says who the call is for: its share of the minutes and its priority
        (:mod:`~xero_panel.xero.call_kinds`).

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


class BudgetOptions(TypedDict, total=False):
    """The limits and timing every rate budget takes (as keyword arguments).

    :ivar per_minute: calls allowed in any ``window`` seconds (Xero: 60 a minute).
    :ivar per_day: calls allowed per UTC day (Xero: 5,000).
    :ivar concurrent: calls in progress at once (Xero: 5).
    :ivar window: length of Xero's minute window in seconds.
    :ivar margin: seconds each call stays counted beyond ``window`` (default
        :data:`ARRIVAL_MARGIN`), so calls that take different times to arrive still fit.
    :ivar clock: returns the time in epoch seconds; also decides the UTC day.
    :ivar sleep: how to wait (tests pass a fake that advances their clock).
    :ivar poll_interval: how often to look for a free concurrency slot.
    :ivar shares: how each minute is divided between kinds of call (default: no reserves).
    :ivar app_per_minute: calls allowed across every tenant in any ``window`` (Xero: 10,000).
    """

    per_minute: int
    per_day: int
    concurrent: int
    window: float
    margin: float
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    poll_interval: float
    shares: Shares
    app_per_minute: int


class _BudgetBase(ABC):
    """Shared waiting logic: ask ``_try_take`` for a slot until it succeeds or time runs out."""

    def __init__(self, **options: Unpack[BudgetOptions]) -> None:
        self.per_minute = options.get("per_minute", 60)
        self.per_day = options.get("per_day", 5000)
        self.concurrent = options.get("concurrent", 5)
        self.window = float(options.get("window", 60.0))
        self.margin = float(options.get("margin", ARRIVAL_MARGIN))
        #: How long each call stays counted against the minute limit.
        self.span = self.window + self.margin
        self.poll_interval = options.get("poll_interval", 0.05)
        self._clock = options.get("clock", time.time)
        self._sleep = options.get("sleep", time.sleep)
        self.shares = options.get("shares", Shares())
        self.app_per_minute = options.get("app_per_minute", APP_PER_MINUTE)
        if (
            self.per_minute < 1
            or self.app_per_minute < 1
            or self.per_day < 1
            or self.concurrent < 1
        ):
            raise ValueError("rate budget limits must be at least 1")
        if self.window <= 0 or self.poll_interval <= 0:
            raise ValueError("window and poll_interval must be positive")
        if self.margin < 0:
            raise ValueError("margin must not be negative")

    @abstractmethod
    def _try_take(self, tenant_id: str, token: str, kind: CallKind) -> tuple[str, float] | None:
        """Take a slot and return ``None``, or return (problem, seconds until worth retrying)
        and note the call as waiting (``queued``: a more urgent call waits first)."""

    @abstractmethod
    def _release(self, tenant_id: str, token: str) -> None:
        """Free the concurrency slot ``token`` holds."""

    @abstractmethod
    def _give_up(self, tenant_id: str, token: str) -> None:
        """``token`` stops waiting without a slot."""

    def acquire(
        self, tenant_id: str, *, max_wait: float, kind: CallKind = "refresh"
    ) -> AbstractContextManager[None]:
        """Return a context manager that takes one call for ``tenant_id`` on entry (waiting up
        to ``max_wait`` s) and frees its concurrency slot on exit; see :class:`RateBudget`.

        Waits whose length is known (minute window, ``Retry-After``, the day's end) that would
        go past ``max_wait`` raise at once instead of sleeping first. A full set of concurrency
        slots, or a more urgent call waiting first, is polled every ``poll_interval`` s.
        """
        return _Slot(self, tenant_id, max_wait, kind)

    def _take(self, tenant_id: str, token: str, max_wait: float, kind: CallKind) -> None:
        waited = 0.0
        while True:
            refused = self._try_take(tenant_id, token, kind)
            if refused is None:
                return
            problem, wait = refused
            if problem in ("concurrent", "queued"):
                wait = self.poll_interval
            # Never spin: a refusal always costs at least a millisecond of waiting.
            wait = max(wait, 0.001)
            if waited + wait > max_wait:
                self._give_up(tenant_id, token)
                raise rate_limited("minute" if problem == "queued" else problem, wait)
            if wants_to_yield():  # a chunked job with more urgent work queued
                self._give_up(tenant_id, token)
                raise WaitAbandoned(problem)
            self._sleep(step := step_for(wait))
            waited += step

    def _waiting_until(self, now: float, wait: float) -> float:
        """Until when a refused call counts as waiting: its wait, a few polls, a second."""
        return now + max(wait, 0.0) + 4 * self.poll_interval + 1.0


class _Slot(AbstractContextManager[None]):
    """One call's hold on a budget: taken on ``__enter__``, concurrency slot freed on exit."""

    def __init__(self, budget: _BudgetBase, tenant_id: str, max_wait: float, kind: CallKind):
        self._budget = budget
        self._tenant_id = tenant_id
        self._max_wait = max_wait
        self._kind = kind
        self._token: str | None = None

    def __enter__(self) -> None:
        if self._token is not None:
            raise RuntimeError("a rate budget slot can be entered only once")
        token = uuid.uuid4().hex
        self._budget._take(self._tenant_id, token, self._max_wait, self._kind)
        self._token = token

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            self._budget._release(self._tenant_id, self._token)


class InProcessRateBudget(_BudgetBase):
    """A thread-safe rate budget for one process.

    :param counter: where the calls are counted (default: a new
        :class:`~xero_panel.xero.call_counter.InProcessCallCounter` on the same clock); its
        window is widened to the budget's :attr:`span` so it keeps every call the budget
        still counts.
    Other parameters: see :class:`BudgetOptions`.
    """

    @dataclass(slots=True)
    class _Tenant:
        in_flight: set[str]
        blocked_until: float | None = None
        blocked_problem: str = "minute"

    def __init__(
        self, *, counter: InProcessCallCounter | None = None, **options: Unpack[BudgetOptions]
    ) -> None:
        super().__init__(**options)
        self._counter = (
            counter
            if counter is not None
            else InProcessCallCounter(window=self.span, clock=self._clock)
        )
        self._counter.window = max(self._counter.window, self.span)
        self._lock = self._counter.lock
        self._tenants: dict[str, InProcessRateBudget._Tenant] = {}
        self._waiters = Waiters()
        self._shares: dict[tuple[str, str], deque[float]] = {}
        self._app = AppMinute(self.span)

    @property
    def counter(self) -> InProcessCallCounter:
        """Where this budget counts the calls it lets through."""
        return self._counter

    def _state(self, tenant_id: str, now: float) -> InProcessRateBudget._Tenant:
        state = self._tenants.get(tenant_id)
        if state is None:
            state = self._tenants[tenant_id] = self._Tenant(in_flight=set())
        if state.blocked_until is not None and state.blocked_until <= now:
            state.blocked_until = None
        return state

    def _try_take(self, tenant_id: str, token: str, kind: CallKind) -> tuple[str, float] | None:
        with self._lock:
            now = self._clock()
            refused = self._refusal(tenant_id, token, kind, now)
            if refused is not None:
                scope = _APP if refused[0] == "appminute" else tenant_id
                self._waiters.wait(scope, token, kind, self._waiting_until(now, refused[1]))
                return refused
            self._waiters.forget(token)
            self._counter.record(tenant_id, now)
            self._share(tenant_id, kind, now).append(now)
            self._app.record(now)
            self._state(tenant_id, now).in_flight.add(token)
            return None

    def _refusal(
        self, tenant_id: str, token: str, kind: CallKind, now: float
    ) -> tuple[str, float] | None:
        """Why a ``kind`` call may not start now, or ``None``. Under the lock."""
        state = self._state(tenant_id, now)
        calls = self._counter.tenant(tenant_id, now)
        if state.blocked_until is not None:
            return state.blocked_problem, state.blocked_until - now
        if (app_blocked := self._app.blocked(now)) is not None:
            return "appminute", app_blocked
        if calls.today >= self.per_day:
            return "day", seconds_until_utc_midnight(now)
        if self._waiters.outranked(tenant_id, token, kind, now) or self._waiters.outranked(
            _APP, token, kind, now
        ):
            return "queued", 0.0
        share = self._share(tenant_id, kind, now)
        for window, ceiling in (
            (calls.minute, self.per_minute),
            (share, self.shares.share_ceiling(kind, self.per_minute)),
        ):
            if len(window) >= ceiling:
                # Room appears when enough of the oldest calls have left the window.
                oldest = window[len(window) - ceiling]
                return "minute", max(0.0, oldest + self.span - now)
        app_wait = self._app.wait(now, self.shares.app_ceiling(kind, self.app_per_minute))
        if app_wait > 0:
            return "appminute", app_wait
        if len(state.in_flight) >= self.concurrent:
            return "concurrent", 0.0
        return None

    def _share(self, tenant_id: str, kind: CallKind, now: float) -> deque[float]:
        """The times of the calls in the window that count against ``kind``'s share."""
        window = self._shares.setdefault((tenant_id, self.shares.share(kind)), deque())
        while window and window[0] <= now - self.span:
            window.popleft()
        return window

    def _release(self, tenant_id: str, token: str) -> None:
        with self._lock:
            self._tenants[tenant_id].in_flight.discard(token)

    def _give_up(self, tenant_id: str, token: str) -> None:
        with self._lock:
            self._waiters.forget(token)

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        """Lower the budget to what Xero says is left, and block on ``Retry-After``.

        ``X-MinLimit-Remaining: n`` adds calls dated now until at most ``n`` are left in the
        window; ``X-DayLimit-Remaining: n`` raises today's count to ``per_day - n``;
        ``X-AppMinLimit-Remaining: n`` counts the app's minute as ``app_per_minute - n``
        used. A ``Retry-After`` blocks the tenant for that long (the later block wins), or
        with the problem ``appminute`` every tenant.
        """
        with self._lock:
            now = self._clock()
            learned = learn(headers, now)
            state = self._state(tenant_id, now)
            calls = self._counter.tenant(tenant_id, now)
            if learned.min_remaining is not None:
                missing = self.per_minute - learned.min_remaining - len(calls.minute)
                calls.minute.extend([now] * max(0, missing))
            if learned.day_remaining is not None:
                calls.today = max(calls.today, self.per_day - learned.day_remaining)
            if learned.app_remaining is not None:
                self._app.observe(learned.app_remaining, self.app_per_minute, now)
            if learned.retry_after is not None:
                until = now + learned.retry_after
                if learned.problem == "appminute":
                    self._app.block(until)
                elif state.blocked_until is None or until > state.blocked_until:
                    state.blocked_until = until
                    state.blocked_problem = learned.problem or "minute"

    def usage(self, tenant_id: str) -> BudgetUsage:
        """Report what ``tenant_id`` has used."""
        with self._lock:
            now = self._clock()
            state = self._state(tenant_id, now)
            calls = self._counter.tenant(tenant_id, now)
            return BudgetUsage(
                minute_used=len(calls.minute),
                day_used=calls.today,
                concurrent=len(state.in_flight),
                blocked_until=state.blocked_until,
            )

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests._xero_fixtures import T0, FakeClock
from xero_panel.exceptions import RateLimited
from xero_panel.xero.call_counter import CallCount, InProcessCallCounter
from xero_panel.xero.rate_budget import (
    ARRIVAL_MARGIN,
    BudgetUsage,
    InProcessRateBudget,
    RateBudget,
    seconds_until_utc_midnight,
)
from xero_panel.xero.redis_rate_budget import RedisRateBudget
from xero_panel.xero.yielding_waits import CHECK_EVERY, WaitAbandoned, yield_waits_when

A = "tenant-a"
B = "tenant-b"
# Each call stays counted against the minute limit for 60 s plus the arrival margin.
SPAN = 60.0 + ARRIVAL_MARGIN
# T0 is 2023-11-14T22:13:20Z: 1 h 46 min 40 s before the next UTC day.
TO_MIDNIGHT = 6400.0

MakeBudget = Callable[..., Any]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_budget(request: pytest.FixtureRequest, clock: FakeClock) -> MakeBudget:
    """Build a budget of either kind, on the fake clock unless told otherwise."""
    if request.param == "memory":

        def memory(**kw: Any) -> InProcessRateBudget:
            kw.setdefault("clock", clock)
            kw.setdefault("sleep", clock.sleep)
            return InProcessRateBudget(**kw)

        return memory
    shared: MakeBudget = request.getfixturevalue("make_redis_budget")
    return shared


@pytest.fixture
def make_redis_budget(
    redis_client: Any,
    redis_prefix: str,
    clock: FakeClock,
) -> MakeBudget:
    """Build Redis budgets sharing one client and key prefix, on the fake clock."""

    def shared(**kw: Any) -> RedisRateBudget:
        kw.setdefault("clock", clock)
        kw.setdefault("sleep", clock.sleep)
        return RedisRateBudget(redis_client, f"{redis_prefix}:", **kw)

    return shared


def _call(budget: RateBudget, tenant: str = A, max_wait: float = 0.0) -> None:
    with budget.acquire(tenant, max_wait=max_wait):
        pass


def _calls(budget: RateBudget, n: int, tenant: str = A) -> None:
    for _ in range(n):
        _call(budget, tenant)


def minute_used_up_ten_seconds_apart(make_budget: MakeBudget, clock: FakeClock) -> RateBudget:
    """A budget whose minute is used up: one call, then 59 more ten seconds later."""
    budget = make_budget()
    _call(budget)
    clock.advance(10)
    _calls(budget, 59)
    return budget


# ---------------------------------------------------------------------------------------------
# Minute window
# ---------------------------------------------------------------------------------------------


def test_minute_allows_sixty_calls(make_budget: MakeBudget) -> None:
    budget = make_budget()
    _calls(budget, 60)
    assert budget.usage(A).minute_used == 60


def test_minute_sixty_first_call_raises(make_budget: MakeBudget) -> None:
    budget = make_budget()
    _calls(budget, 60)
    with pytest.raises(RateLimited) as info:
        _call(budget)
    assert (info.value.problem, info.value.retry_after) == ("minute", SPAN)


def test_minute_retry_after_counts_from_oldest_call(
    make_budget: MakeBudget, clock: FakeClock
) -> None:
    budget = minute_used_up_ten_seconds_apart(make_budget, clock)
    with pytest.raises(RateLimited) as info:
        _call(budget)
    assert info.value.retry_after == pytest.approx(SPAN - 10)


def test_minute_rate_limited_message(make_budget: MakeBudget) -> None:
    budget = make_budget()
    _calls(budget, 60)
    with pytest.raises(RateLimited) as info:
        _call(budget)
    assert str(info.value) == (
        "The 60-calls-a-minute Xero rate budget for this organisation is used up; "
        f"try again in {round(SPAN)} s."
    )


def test_minute_sixty_first_call_waits_within_max_wait(
    make_budget: MakeBudget, clock: FakeClock
) -> None:
    budget = minute_used_up_ten_seconds_apart(make_budget, clock)
    _call(budget, max_wait=SPAN)
    assert sum(clock.sleeps) == pytest.approx(SPAN - 10)


def test_minute_raises_without_sleeping_when_wait_exceeds_max_wait(
    make_budget: MakeBudget, clock: FakeClock
) -> None:
    budget = make_budget()
    _calls(budget, 60)
    with pytest.raises(RateLimited):
        _call(budget, max_wait=30)
    assert clock.sleeps == []


def test_minute_window_slides(make_budget: MakeBudget, clock: FakeClock) -> None:
    budget = make_budget()
    _calls(budget, 60)
    clock.advance(SPAN)
    _call(budget)
    assert budget.usage(A).minute_used == 1


def test_minute_never_more_than_limit_in_any_window(
    make_budget: MakeBudget, clock: FakeClock
) -> None:
    budget = make_budget(per_minute=5)
    starts: list[float] = []
    for _ in range(20):
        _call(budget, max_wait=120)
        starts.append(clock())
        clock.advance(3)
    assert all(sum(1 for s in starts if t <= s < t + 60) <= 5 for t in starts)


def test_minute_limit_configurable(make_budget: MakeBudget) -> None:
    budget = make_budget(per_minute=3)
    _calls(budget, 3)
    with pytest.raises(RateLimited):
        _call(budget)


def test_minute_tenants_are_separate(make_budget: MakeBudget) -> None:
    budget = make_budget(per_minute=2)
    _calls(budget, 2, A)
    _calls(budget, 2, B)
    assert (budget.usage(A).minute_used, budget.usage(B).minute_used) == (2, 2)


# ---------------------------------------------------------------------------------------------
# Concurrency
# ---------------------------------------------------------------------------------------------


def test_concurrent_sixth_call_raises(make_budget: MakeBudget) -> None:
    budget = make_budget()
    held = [budget.acquire(A, max_wait=0) for _ in range(5)]
    for slot in held:
        slot.__enter__()
    with pytest.raises(RateLimited) as info:
        _call(budget)
    for slot in held:
        slot.__exit__(None, None, None)
    assert info.value.problem == "concurrent"


def test_concurrent_slot_freed_on_exit(make_budget: MakeBudget) -> None:
    budget = make_budget(concurrent=1)
    with budget.acquire(A, max_wait=0):
        assert budget.usage(A).concurrent == 1
    _call(budget)
    assert budget.usage(A).concurrent == 0


def test_concurrent_slot_freed_when_call_raises(make_budget: MakeBudget) -> None:
    budget = make_budget(concurrent=1)
    with pytest.raises(KeyError), budget.acquire(A, max_wait=0):
        raise KeyError("boom")
    assert budget.usage(A).concurrent == 0


def test_concurrent_waiting_gives_up_after_max_wait(
    make_budget: MakeBudget, clock: FakeClock
) -> None:
    budget = make_budget(concurrent=1, poll_interval=0.5)
    with budget.acquire(A, max_wait=0), pytest.raises(RateLimited):
        _call(budget, max_wait=2)
    assert sum(clock.sleeps) == pytest.approx(2.0)


def test_concurrent_limit_holds_across_threads(make_budget: MakeBudget) -> None:
    budget = make_budget(clock=time.time, sleep=time.sleep, poll_interval=0.002)
    lock = threading.Lock()
    active = 0
    peak = 0
    errors: list[BaseException] = []

    def work() -> None:
        nonlocal active, peak
        try:
            with budget.acquire(A, max_wait=10):
                with lock:
                    active += 1
                    peak = max(peak, active)
                time.sleep(0.01)
                with lock:
                    active -= 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (errors, peak) == ([], 5)


# ---------------------------------------------------------------------------------------------
# Day cap
# ---------------------------------------------------------------------------------------------


def test_day_cap_raises_until_utc_midnight(make_budget: MakeBudget) -> None:
    budget = make_budget(per_day=3)
    _calls(budget, 3)
    with pytest.raises(RateLimited) as info:
        _call(budget)
    assert (info.value.problem, info.value.retry_after) == ("day", TO_MIDNIGHT)


def test_day_cap_resets_on_next_utc_day(make_budget: MakeBudget, clock: FakeClock) -> None:
    budget = make_budget(per_day=3)
    _calls(budget, 3)
    clock.advance(TO_MIDNIGHT)
    _call(budget)
    assert budget.usage(A).day_used == 1


def test_day_cap_counts_across_minutes(make_budget: MakeBudget, clock: FakeClock) -> None:
    budget = make_budget(per_day=100)
    for _ in range(3):
        _calls(budget, 30)
        clock.advance(61)
    assert budget.usage(A).day_used == 90


def test_seconds_until_utc_midnight() -> None:
    assert seconds_until_utc_midnight(T0) == TO_MIDNIGHT


# ---------------------------------------------------------------------------------------------
# observe(): what Xero's headers say
# ---------------------------------------------------------------------------------------------


def test_observe_min_remaining_lowers_budget(make_budget: MakeBudget) -> None:
    budget = make_budget()
    _call(budget)
    budget.observe(A, {"X-MinLimit-Remaining": "2"})
    _calls(budget, 2)
    with pytest.raises(RateLimited) as info:
        _call(budget)
    assert info.value.problem == "minute"


def test_observe_min_remaining_never_raises_budget(make_budget: MakeBudget) -> None:
    budget = make_budget()
    _calls(budget, 5)
    budget.observe(A, {"X-MinLimit-Remaining": "59"})
    assert budget.usage(A).minute_used == 5


def test_observe_min_remaining_expires_with_window(
    make_budget: MakeBudget, clock: FakeClock
) -> None:
    budget = make_budget()
    budget.observe(A, {"X-MinLimit-Remaining": "0"})
    clock.advance(SPAN)
    assert budget.usage(A).minute_used == 0


def test_observe_day_remaining_raises_day_used(make_budget: MakeBudget) -> None:
    budget = make_budget()
    budget.observe(A, {"X-DayLimit-Remaining": "4990"})
    assert budget.usage(A).day_used == 10


@pytest.mark.parametrize(
    ("headers", "problem", "retry_after"),
    [
        ({"X-DayLimit-Remaining": "0"}, "day", TO_MIDNIGHT),
        ({"Retry-After": "30", "X-Rate-Limit-Problem": "minute"}, "minute", 30.0),
        # (retry_after not compared: in Redis a day block waits until midnight instead)
        ({"Retry-After": "3600", "X-Rate-Limit-Problem": "Day"}, "day", None),
    ],
    ids=["day-remaining-zero", "retry-after-blocks-tenant", "retry-after-day-problem"],
)
def test_observe_refuses_the_next_call(
    make_budget: MakeBudget, headers: dict[str, str], problem: str, retry_after: float | None
) -> None:
    budget = make_budget()
    budget.observe(A, headers)
    with pytest.raises(RateLimited) as info:
        _call(budget)
    assert info.value.problem == problem
    if retry_after is not None:
        assert info.value.retry_after == pytest.approx(retry_after)


@pytest.mark.parametrize(
    ("retry_after", "until"),
    [
        ("30", T0 + 30),
        ("Tue, 14 Nov 2023 22:14:00 GMT", T0 + 40),
        ("Tue, 14 Nov 2023 22:14:00 -0000", T0 + 40),
    ],
    ids=["seconds", "http-date", "http-date-without-zone"],
)
def test_observe_retry_after_sets_blocked_until(
    make_budget: MakeBudget, retry_after: str, until: float
) -> None:
    budget = make_budget()
    budget.observe(A, {"Retry-After": retry_after})
    assert budget.usage(A).blocked_until == pytest.approx(until)


def test_observe_retry_after_block_ends(make_budget: MakeBudget, clock: FakeClock) -> None:
    budget = make_budget()
    budget.observe(A, {"Retry-After": "30"})
    clock.advance(30)
    _call(budget)
    assert budget.usage(A).blocked_until is None


def test_observe_retry_after_waited_out_within_max_wait(
    make_budget: MakeBudget, clock: FakeClock
) -> None:
    budget = make_budget()
    budget.observe(A, {"Retry-After": "12"})
    _call(budget, max_wait=30)
    assert sum(clock.sleeps) == pytest.approx(12.0)


def test_observe_headers_case_insensitive(make_budget: MakeBudget) -> None:
    budget = make_budget()
    budget.observe(A, {"x-daylimit-remaining": "4000"})
    assert budget.usage(A).day_used == 1000


def test_observe_ignores_garbage_headers(make_budget: MakeBudget) -> None:
    budget = make_budget()
    budget.observe(A, {"X-MinLimit-Remaining": "lots", "Retry-After": "soon"})
    assert budget.usage(A) == BudgetUsage(0, 0, 0, None)


def test_observe_only_affects_its_tenant(make_budget: MakeBudget) -> None:
    budget = make_budget()
    budget.observe(A, {"Retry-After": "30"})
    _call(budget, B)
    assert budget.usage(B).blocked_until is None


def test_usage_fresh_tenant(make_budget: MakeBudget) -> None:
    assert make_budget().usage(A) == BudgetUsage(0, 0, 0, None)


# ---------------------------------------------------------------------------------------------
# Construction
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{"per_minute": 0}, {"per_day": 0}, {"concurrent": 0}, {"window": 0}, {"margin": -1}],
)
def test_in_process_rejects_bad_limits(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        InProcessRateBudget(**kwargs)


def test_acquire_takes_nothing_until_entered(make_budget: MakeBudget) -> None:
    budget = make_budget()
    budget.acquire(A, max_wait=0)
    assert budget.usage(A) == BudgetUsage(0, 0, 0, None)


def test_acquire_slot_cannot_be_entered_twice(make_budget: MakeBudget) -> None:
    budget = make_budget()
    slot = budget.acquire(A, max_wait=0)
    with slot, pytest.raises(RuntimeError):
        slot.__enter__()


def test_in_process_is_a_rate_budget() -> None:
    budget: RateBudget = InProcessRateBudget()
    assert budget.usage(A).minute_used == 0


# ---------------------------------------------------------------------------------------------
# Redis only: sharing between processes, leaked slots, keys
# ---------------------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_two_instances_share_minute_budget(make_redis_budget: MakeBudget) -> None:
    first = make_redis_budget(per_minute=5)
    second = make_redis_budget(per_minute=5)
    _calls(first, 3)
    _calls(second, 2)
    with pytest.raises(RateLimited):
        _call(first)


@pytest.mark.redis
def test_redis_two_instances_share_concurrency(make_redis_budget: MakeBudget) -> None:
    first = make_redis_budget(concurrent=1)
    second = make_redis_budget(concurrent=1)
    with first.acquire(A, max_wait=0), pytest.raises(RateLimited):
        _call(second)


@pytest.mark.redis
def test_redis_two_instances_share_block(make_redis_budget: MakeBudget) -> None:
    first = make_redis_budget()
    second = make_redis_budget()
    first.observe(A, {"Retry-After": "20"})
    assert second.usage(A).blocked_until == pytest.approx(T0 + 20)


@pytest.mark.redis
def test_redis_leaked_slot_expires(make_redis_budget: MakeBudget, clock: FakeClock) -> None:
    crashed = make_redis_budget(concurrent=1, slot_ttl=30)
    crashed.acquire(A, max_wait=0).__enter__()  # never exited, as by a worker that died
    survivor = make_redis_budget(concurrent=1, slot_ttl=30)
    with pytest.raises(RateLimited):
        _call(survivor)
    clock.advance(31)
    _call(survivor)
    assert survivor.usage(A).concurrent == 0


@pytest.mark.redis
def test_redis_keys_under_prefix_and_expire(
    make_redis_budget: MakeBudget,
    redis_client: Any,
    redis_prefix: str,
) -> None:
    budget = make_redis_budget()
    _call(budget)
    keys = sorted(k.decode() for k in redis_client.scan_iter(match=f"{redis_prefix}:*"))
    assert keys == [
        f"{redis_prefix}:rate:app:minute",
        f"{redis_prefix}:rate:{{{A}}}:day:2023-11-14",
        f"{redis_prefix}:rate:{{{A}}}:minute",
        f"{redis_prefix}:rate:{{{A}}}:minute:interactive",
        f"{redis_prefix}:rate:{{{A}}}:sent",
    ]
    assert all(redis_client.ttl(k) > 0 for k in keys)


@pytest.mark.redis
def test_redis_decode_responses_client(
    redis_prefix: str,
    clock: FakeClock,
) -> None:
    import redis

    from tests.conftest import REDIS_URL

    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        budget = RedisRateBudget(client, f"{redis_prefix}:", per_day=1, clock=clock)
        _call(budget)
        assert budget.usage(A) == BudgetUsage(1, 1, 0, None)
    finally:
        client.close()
        client.connection_pool.disconnect()


@pytest.mark.redis
def test_redis_rejects_bad_slot_ttl(redis_client: Any) -> None:
    with pytest.raises(ValueError):
        RedisRateBudget(redis_client, slot_ttl=0)


def test_slot_exit_without_enter_is_harmless(make_budget: MakeBudget) -> None:
    budget = make_budget()
    budget.acquire(A, max_wait=0).__exit__(None, None, None)
    assert budget.usage(A).concurrent == 0


def test_observe_keeps_the_later_block(make_budget: MakeBudget) -> None:
    budget = make_budget()
    budget.observe(A, {"Retry-After": "30"})
    budget.observe(A, {"Retry-After": "10"})
    assert budget.usage(A).blocked_until == pytest.approx(T0 + 30)


# ---------------------------------------------------------------------------------------------
# The call counter the budget counts in
# ---------------------------------------------------------------------------------------------


def test_budget_counts_each_call_in_its_counter(make_budget: MakeBudget, clock: FakeClock) -> None:
    budget = make_budget()
    _calls(budget, 3)
    _call(budget, B)
    assert budget.counter.count(A) == CallCount(today=3, this_minute=3, sent=3)
    assert budget.counter.count(B) == CallCount(today=1, this_minute=1, sent=1)
    clock.advance(61)
    assert budget.counter.count(A) == CallCount(today=3, this_minute=0, sent=3)


def test_counter_today_follows_xero_headers_but_sent_does_not(make_budget: MakeBudget) -> None:
    budget = make_budget()
    _call(budget)
    budget.observe(A, {"X-MinLimit-Remaining": "50", "X-DayLimit-Remaining": "4900"})
    assert budget.counter.count(A) == CallCount(today=100, this_minute=10, sent=1)
    assert (budget.usage(A).day_used, budget.usage(A).minute_used) == (100, 10)


def test_counter_starts_a_new_day_but_sent_goes_on(
    make_budget: MakeBudget, clock: FakeClock
) -> None:
    budget = make_budget()
    _calls(budget, 2)
    clock.advance(TO_MIDNIGHT + 1)
    _call(budget)
    assert budget.counter.count(A) == CallCount(today=1, this_minute=1, sent=3)


@pytest.mark.redis
def test_redis_counter_shared_by_budgets_with_one_prefix(
    make_redis_budget: MakeBudget,
    redis_client: Any,
    redis_prefix: str,
    clock: FakeClock,
) -> None:
    first = make_redis_budget()
    second = make_redis_budget()
    other = RedisRateBudget(redis_client, f"{redis_prefix}:other:", clock=clock)
    _call(first)
    _call(second)
    assert first.counter.count(A) == second.counter.count(A) == CallCount(2, 2, 2)
    assert other.counter.count(A) == CallCount(0, 0, 0)


# ---------------------------------------------------------------------------------------------
# Arrival margin: Xero counts a call when it arrives, the budget when it hands the slot out
# ---------------------------------------------------------------------------------------------

# How long the request of the sync's first call takes to reach Xero (a new connection's TLS
# handshake), and every later call's (the connection is reused).
FIRST_ARRIVAL = 0.9
LATER_ARRIVAL = 0.05
CALL_SECONDS = 0.2


def _full_speed_arrivals(budget: RateBudget, clock: FakeClock, calls: int) -> list[float]:
    """Make ``calls`` calls one after another as fast as the budget allows (waiting as long as
    it says), and return the moments they reach Xero."""
    arrivals: list[float] = []
    for i in range(calls):
        with budget.acquire(A, max_wait=120):
            arrivals.append(clock() + (FIRST_ARRIVAL if i == 0 else LATER_ARRIVAL))
            clock.advance(CALL_SECONDS)
    return sorted(arrivals)


def _emulator_minute_429s(arrivals: list[float]) -> int:
    """Feed the arrivals to the emulator's limiter (Xero's fixed minute windows) and count the
    429s it answers."""
    from emulator.xero_emulator.limits import RateLimiter

    now = [arrivals[0]]
    limiter = RateLimiter(lambda: now[0])
    refused = 0
    for arrival in arrivals:
        now[0] = arrival
        admission = limiter.acquire(A)
        if admission.allowed:
            limiter.release(A)
        else:
            refused += 1
    return refused


def test_margin_slow_first_call_gets_no_429(make_budget: MakeBudget, clock: FakeClock) -> None:
    # Without a margin the 61st call is handed out 60.0 s after the first but arrives 0.85 s
    # earlier relative to it, inside the window the first call opened at Xero.
    budget = make_budget()
    arrivals = _full_speed_arrivals(budget, clock, 61)
    assert _emulator_minute_429s(arrivals) == 0


def test_margin_long_burst_gets_no_429(make_budget: MakeBudget, clock: FakeClock) -> None:
    budget = make_budget()
    assert _emulator_minute_429s(_full_speed_arrivals(budget, clock, 400)) == 0


def test_margin_keeps_throughput_close_to_sixty_a_minute(
    make_budget: MakeBudget, clock: FakeClock
) -> None:
    budget = make_budget()
    start = clock()
    _full_speed_arrivals(budget, clock, 601)
    per_minute = 600 / (clock() - start - CALL_SECONDS) * 60
    assert 58.5 <= per_minute <= 60.0


def test_margin_holds_each_call_sixty_one_seconds(
    make_budget: MakeBudget, clock: FakeClock
) -> None:
    budget = make_budget()
    _calls(budget, 60)
    clock.advance(60)
    assert budget.usage(A).minute_used == 60
    with pytest.raises(RateLimited) as info:
        _call(budget)
    assert info.value.retry_after == pytest.approx(ARRIVAL_MARGIN)
    clock.advance(ARRIVAL_MARGIN)
    _call(budget)
    assert budget.usage(A).minute_used == 1


def test_margin_given_counter_keeps_calls_for_the_whole_span(clock: FakeClock) -> None:
    # The backends hand the in-process budget a counter built with the plain 60 s window.
    counter = InProcessCallCounter(clock=clock)
    budget = InProcessRateBudget(counter=counter, clock=clock, sleep=clock.sleep)
    _calls(budget, 60)
    clock.advance(60)
    with pytest.raises(RateLimited):
        _call(budget)
    assert counter.window == SPAN


# ---------------------------------------------------------------------------------------------
# Waits a chunked job gives up (xero_panel/xero/yielding_waits.py)
# ---------------------------------------------------------------------------------------------


def test_a_wait_for_the_budget_is_given_up_when_the_check_says_so(
    make_budget: MakeBudget, clock: Any
) -> None:
    budget = minute_used_up_ten_seconds_apart(make_budget, clock)
    checks: list[float] = []

    def urgent() -> bool:  # more urgent work is queued once the wait has gone 3 s
        checks.append(sum(clock.sleeps))
        return sum(clock.sleeps) >= 3 * CHECK_EVERY

    with pytest.raises(WaitAbandoned), yield_waits_when(urgent), budget.acquire(A, max_wait=SPAN):
        pass
    assert clock.sleeps == [CHECK_EVERY] * 3
    assert checks == [0.0, CHECK_EVERY, 2 * CHECK_EVERY, 3 * CHECK_EVERY]
    # Its place is given up: once the minute has room, a call goes at once.
    clock.advance(SPAN)
    with budget.acquire(A, max_wait=0.0):
        pass


def test_outside_the_block_a_wait_is_one_sleep_as_before(
    make_budget: MakeBudget, clock: Any
) -> None:
    budget = minute_used_up_ten_seconds_apart(make_budget, clock)
    with yield_waits_when(lambda: True):
        pass  # the block is over: no check is left behind
    with budget.acquire(A, max_wait=SPAN):
        pass
    assert clock.sleeps == [pytest.approx(SPAN - 10)]

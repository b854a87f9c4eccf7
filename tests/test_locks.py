"""Locks, claims and single-flight, in process and in Redis."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import REDIS_URL, require_service
from xero_panel.locks import (
    LOCK_TTL,
    Flight,
    Held,
    InProcessLocks,
    Locks,
    RedisLocks,
    keep_alive,
    make_locks,
    single_flight,
)


class FakeMonotonic:
    """A monotonic clock that moves only when told (``advance``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Timed:
    """Locks under test, and how time passes for them.

    In process the locks run on a :class:`FakeMonotonic`: ``elapse`` moves it, so nothing
    sleeps and no margin depends on the machine's speed. Redis keeps its own clock, so there
    ``elapse`` sleeps; every "still held" check then happens within ``ttl`` (0.5 s) of taking
    the lock, a few Redis round trips, hundreds of times inside it, and every "expired"
    check sleeps past it (a sleep is never shorter than asked).
    """

    locks: Locks
    ttl: float
    elapse: Callable[[float], None]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def timed(request: pytest.FixtureRequest) -> Iterator[Timed]:
    if request.param == "memory":
        clock = FakeMonotonic()
        yield Timed(InProcessLocks(clock=clock), 1.0, clock.advance)
        return
    require_service("Redis", REDIS_URL, 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"xp-test-{uuid.uuid4().hex[:8]}:"
    yield Timed(RedisLocks(client, prefix=prefix), 0.5, time.sleep)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def locks(timed: Timed) -> Locks:
    return timed.locks


def past(timed: Timed) -> None:
    """Let the time to live ``timed.ttl`` run out."""
    timed.elapse(timed.ttl * 1.5)


def test_try_lock_excludes_a_second_holder(locks: Locks) -> None:
    held = locks.try_lock("a", 5)
    assert held is not None
    assert locks.try_lock("a", 5) is None
    held.release()
    assert locks.try_lock("a", 5) is not None


def test_try_lock_expires_after_ttl(timed: Timed) -> None:
    locks = timed.locks
    assert locks.try_lock("a", timed.ttl) is not None
    assert locks.try_lock("a", 5) is None
    past(timed)
    assert locks.try_lock("a", 5) is not None


def test_release_by_old_holder_keeps_new_lock(timed: Timed) -> None:
    locks = timed.locks
    old = locks.try_lock("a", timed.ttl)
    assert old is not None
    past(timed)
    assert locks.try_lock("a", 60) is not None
    old.release()
    assert locks.try_lock("a", 5) is None


def test_extend_keeps_the_lock(timed: Timed) -> None:
    locks = timed.locks
    held = locks.try_lock("a", timed.ttl)
    assert held is not None
    assert held.extend(60) is True
    past(timed)
    assert locks.try_lock("a", 5) is None


def test_extend_lost_lock_false(timed: Timed) -> None:
    locks = timed.locks
    held = locks.try_lock("a", timed.ttl)
    assert held is not None
    past(timed)
    assert locks.try_lock("a", 60) is not None
    assert held.extend(5) is False


def test_wait_unlocked_returns_when_released(locks: Locks) -> None:
    held = locks.try_lock("a", 60)
    assert held is not None
    released = threading.Event()

    def release() -> None:
        released.set()
        held.release()

    timer = threading.Timer(0.1, release)
    timer.start()
    # 30 s only bounds a hang: it returns as soon as the lock is free.
    assert locks.wait_unlocked("a", 30) is True
    assert released.is_set()
    timer.join(30)


def test_wait_unlocked_times_out(locks: Locks) -> None:
    locks.try_lock("a", 60)
    started = time.monotonic()
    assert locks.wait_unlocked("a", 0.1) is False
    took = time.monotonic() - started
    assert 0.1 <= took < 5  # it waited its timeout, and did not hang (50 times over)


def test_claim_once_per_ttl(timed: Timed) -> None:
    locks = timed.locks
    assert locks.claim("c", timed.ttl) is True
    assert locks.claim("c", timed.ttl) is False
    past(timed)
    assert locks.claim("c", timed.ttl) is True


def test_forget_drops_a_claim(locks: Locks) -> None:
    locks.claim("c", 5)
    locks.forget("c")
    assert locks.claim("c", 5) is True


def test_extend_sets_the_time_left_not_adds_to_it(timed: Timed) -> None:
    locks = timed.locks
    held = locks.try_lock("a", 60)
    assert held is not None
    assert held.extend(timed.ttl) is True  # ttl from now: the 60 s left are gone
    past(timed)
    assert locks.try_lock("a", 5) is not None


def test_release_twice_and_extend_after_release(locks: Locks) -> None:
    held = locks.try_lock("a", 60)
    assert held is not None
    held.release()
    held.release()  # a no-op, not an error
    assert held.extend(5) is False
    assert locks.try_lock("a", 5) is not None


def test_held_extended_and_released_from_another_thread(locks: Locks) -> None:
    """As :func:`single_flight` does: taken in the caller's thread, let go in the work's."""
    held = locks.try_lock("a", 60)
    assert held is not None
    extended: list[bool] = []

    def elsewhere() -> None:
        extended.append(held.extend(60))
        held.release()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join(30)
    assert extended == [True]
    assert locks.try_lock("a", 5) is not None


# The Redis lock as the panel wrote it by hand before redis-py's Lock took over: workers of
# the old and the new code share a Redis during a rolling upgrade, so they must see each
# other's locks.
_OLD_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@pytest.mark.redis
def test_redis_lock_shared_with_the_previous_hand_written_lock() -> None:
    require_service("Redis", REDIS_URL, 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"xp-test-{uuid.uuid4().hex[:8]}:"
    key = f"{prefix}lock:a"
    locks = RedisLocks(client, prefix=prefix)
    try:
        # An old worker holds "a": SET NX PX of its own token.
        old_token = uuid.uuid4().hex
        assert client.set(key, old_token, nx=True, px=60_000)
        assert locks.try_lock("a", 5) is None
        assert locks.wait_unlocked("a", 0.05) is False
        # The old worker lets go with its script; now the new code takes "a" ...
        assert client.eval(_OLD_RELEASE_LUA, 1, key, old_token) == 1
        held = locks.try_lock("a", 5)
        assert held is not None
        # ... under the same key, a token with a time to live, which an old worker's SET NX
        # cannot take and its release (with its own token) cannot drop.
        token = client.get(key)
        assert token is not None and token != old_token.encode()
        assert 0 < client.pttl(key) <= 5000
        assert not client.set(key, uuid.uuid4().hex, nx=True, px=60_000)
        assert client.eval(_OLD_RELEASE_LUA, 1, key, old_token) == 0
        assert client.get(key) == token
        held.release()
        assert not client.exists(key)
    finally:
        for k in client.scan_iter(f"{prefix}*"):
            client.delete(k)
        client.close()


class Tries:
    """``locks``, noting the callers of ``try_lock``: ``all_tried`` is set once ``n``
    have asked."""

    def __init__(self, locks: Locks, n: int) -> None:
        self._locks = locks
        self._n = n
        self._mutex = threading.Lock()
        self.all_tried = threading.Event()

    def try_lock(self, name: str, ttl: float) -> Held | None:
        held = self._locks.try_lock(name, ttl)
        with self._mutex:
            self._n -= 1
            if self._n == 0:
                self.all_tried.set()
        return held

    def wait_unlocked(self, name: str, timeout: float) -> bool:
        return self._locks.wait_unlocked(name, timeout)

    def claim(self, name: str, ttl: float) -> bool:
        return self._locks.claim(name, ttl)

    def forget(self, name: str) -> None:
        self._locks.forget(name)


def test_single_flight_runs_work_once_for_many_callers(locks: Locks) -> None:
    callers = 20
    tries = Tries(locks, callers)
    runs: list[int] = []

    def work() -> None:
        # Still running when the last caller asks (30 s only bounds a hang).
        assert tries.all_tried.wait(30)
        runs.append(1)

    flights: list[Flight] = []

    def call() -> None:
        flights.append(single_flight(tries, "f", work, wait=30, ttl=60))

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert runs == [1]
    assert len(flights) == callers
    assert sum(f.led for f in flights) == 1
    assert all(f.finished and f.error is None for f in flights)


def test_single_flight_leader_returns_after_wait(locks: Locks) -> None:
    release = threading.Event()
    started = time.monotonic()
    try:
        # Were the leader to wait for the work, it would come back after 30 s, finished.
        flight = single_flight(locks, "f", lambda: release.wait(30), wait=0.1, ttl=60)
        assert (flight.led, flight.finished) == (True, False)
        assert time.monotonic() - started >= 0.1  # it did wait
        assert locks.try_lock("f", 5) is None  # still held by the running work
    finally:
        release.set()
        assert locks.wait_unlocked("f", 30)  # the work ended and let go


def test_single_flight_not_needed_skips_work(locks: Locks) -> None:
    runs: list[int] = []
    flight = single_flight(
        locks, "f", lambda: runs.append(1), wait=1, ttl=5, still_needed=lambda: False
    )
    assert runs == [] and flight.led is False
    assert locks.try_lock("f", 5) is not None


def test_single_flight_reports_the_error(locks: Locks) -> None:
    error = ValueError("x")

    def boom() -> None:
        raise error

    flight = single_flight(locks, "f", boom, wait=30, ttl=60)
    assert flight == Flight(led=True, finished=True, error=error)  # the very exception
    assert locks.try_lock("f", 5) is not None


def test_make_locks_in_process_without_redis() -> None:
    assert isinstance(make_locks(None), InProcessLocks)


@pytest.mark.redis
def test_make_locks_redis_with_a_client() -> None:
    require_service("Redis", REDIS_URL, 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    locks = make_locks(client, prefix="xp-test-locks:")
    assert isinstance(locks, RedisLocks)
    assert (locks.prefix, locks._redis) == ("xp-test-locks:", client)
    client.close()


class CountedHeld:
    """A :class:`Held` that counts its renewals and can be lost."""

    def __init__(self) -> None:
        self.renewals = 0
        self.renewed = threading.Event()
        self.lost = False

    def release(self) -> None:
        pass

    def extend(self, ttl: float) -> bool:
        self.renewals += 1
        if self.renewals >= 3:
            self.renewed.set()
        return not self.lost


def test_keep_alive_renews_while_the_work_runs_and_stops_after() -> None:
    """A sync's lock lives LOCK_TTL (30 s) without renewal, so a killed worker's lock is free
    within 30 s; its living holder renews it every third of that, however long it works."""
    held = CountedHeld()
    with keep_alive(held, 0.15):
        assert held.renewed.wait(30), "not renewed while the work ran"
    after = held.renewals
    time.sleep(0.3)  # two renewal periods: none may come once the block has ended
    assert held.renewals == after
    assert LOCK_TTL <= 30


def test_keep_alive_stops_renewing_a_lost_lock() -> None:
    held = CountedHeld()
    held.lost = True
    with keep_alive(held, 0.15):
        deadline = time.monotonic() + 30
        while held.renewals < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    assert held.renewals == 1  # the first renewal found the lock gone: no more tries

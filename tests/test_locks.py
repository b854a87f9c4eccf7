"""Locks, claims and single-flight, in process and in Redis."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REDIS_URL, require_service
from xero_panel.locks import InProcessLocks, Locks, RedisLocks, make_locks, single_flight


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def locks(request: pytest.FixtureRequest) -> Iterator[Locks]:
    if request.param == "memory":
        yield InProcessLocks()
        return
    require_service("Redis", REDIS_URL, 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"xp-test-{uuid.uuid4().hex[:8]}:"
    yield RedisLocks(client, prefix=prefix)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_try_lock_excludes_a_second_holder(locks: Locks) -> None:
    held = locks.try_lock("a", 5)
    assert held is not None
    assert locks.try_lock("a", 5) is None
    held.release()
    assert locks.try_lock("a", 5) is not None


def test_try_lock_expires_after_ttl(locks: Locks) -> None:
    assert locks.try_lock("a", 0.05) is not None
    time.sleep(0.1)
    assert locks.try_lock("a", 5) is not None


def test_release_by_old_holder_keeps_new_lock(locks: Locks) -> None:
    old = locks.try_lock("a", 0.05)
    assert old is not None
    time.sleep(0.1)
    assert locks.try_lock("a", 5) is not None
    old.release()
    assert locks.try_lock("a", 5) is None


def test_extend_keeps_the_lock(locks: Locks) -> None:
    held = locks.try_lock("a", 0.1)
    assert held is not None
    assert held.extend(5) is True
    time.sleep(0.15)
    assert locks.try_lock("a", 5) is None


def test_extend_lost_lock_false(locks: Locks) -> None:
    held = locks.try_lock("a", 0.05)
    assert held is not None
    time.sleep(0.1)
    locks.try_lock("a", 5)
    assert held.extend(5) is False


def test_wait_unlocked_returns_when_released(locks: Locks) -> None:
    held = locks.try_lock("a", 5)
    assert held is not None
    threading.Timer(0.1, held.release).start()
    assert locks.wait_unlocked("a", 2) is True


def test_wait_unlocked_times_out(locks: Locks) -> None:
    locks.try_lock("a", 5)
    started = time.monotonic()
    assert locks.wait_unlocked("a", 0.1) is False
    assert time.monotonic() - started < 1


def test_claim_once_per_ttl(locks: Locks) -> None:
    assert locks.claim("c", 0.1) is True
    assert locks.claim("c", 0.1) is False
    time.sleep(0.15)
    assert locks.claim("c", 0.1) is True


def test_forget_drops_a_claim(locks: Locks) -> None:
    locks.claim("c", 5)
    locks.forget("c")
    assert locks.claim("c", 5) is True


def test_single_flight_runs_work_once_for_many_callers(locks: Locks) -> None:
    runs: list[int] = []
    barrier = threading.Barrier(20)

    def work() -> None:
        time.sleep(0.2)
        runs.append(1)

    flights: list[Any] = []

    def call() -> None:
        barrier.wait()
        flights.append(single_flight(locks, "f", work, wait=2, ttl=5))

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert runs == [1]
    assert sum(f.led for f in flights) == 1
    assert all(f.finished for f in flights)


def test_single_flight_leader_returns_after_wait(locks: Locks) -> None:
    done = threading.Event()
    started = time.monotonic()
    flight = single_flight(locks, "f", lambda: done.wait(2), wait=0.1, ttl=5)
    assert (flight.led, flight.finished) == (True, False)
    assert time.monotonic() - started < 1
    assert locks.try_lock("f", 5) is None  # still held by the running work
    done.set()


def test_single_flight_not_needed_skips_work(locks: Locks) -> None:
    runs: list[int] = []
    flight = single_flight(
        locks, "f", lambda: runs.append(1), wait=1, ttl=5, still_needed=lambda: False
    )
    assert runs == [] and flight.led is False
    assert locks.try_lock("f", 5) is not None


def test_single_flight_reports_the_error(locks: Locks) -> None:
    def boom() -> None:
        raise ValueError("x")

    flight = single_flight(locks, "f", boom, wait=1, ttl=5)
    assert isinstance(flight.error, ValueError)
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

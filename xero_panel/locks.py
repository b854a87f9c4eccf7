"""Locks and claims that the sync uses to do each piece of Xero work once.

Two implementations share the :class:`Locks` protocol:

* :class:`InProcessLocks`: for one process (the embedded default, threads only).
* :class:`RedisLocks`: shared by every worker on every host through Redis (when
  ``XERO_PANEL_REDIS_URL`` is set).

Both offer the same three things:

* :meth:`Locks.try_lock`: a non-blocking lock with a time to live, so a crashed holder
  cannot block the others for ever. The holder may :meth:`Held.extend` it while working and
  :meth:`Held.release` it from any thread.
* :meth:`Locks.wait_unlocked`: wait (a bounded time) until a lock is free, which is how the
  followers of a single flight wait for its leader.
* :meth:`Locks.claim`: ``True`` for the first caller per time to live and ``False`` for every
  other (``SET NX EX``): "do this at most once a minute".

:func:`single_flight` builds the panel's single-flight on top of them. This module imports no
Flask.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import redis
    from redis.lock import Lock

__all__ = [
    "LOCK_TTL",
    "Flight",
    "Held",
    "InProcessLocks",
    "Locks",
    "RedisLocks",
    "keep_alive",
    "make_locks",
    "single_flight",
]

#: How long a lock of the sync lives without its holder renewing it: a killed worker's
#: lock is free again within this many seconds. Holders renew it every third of it
#: (:func:`keep_alive`), however long their work takes.
LOCK_TTL = 30.0


class Held(Protocol):
    """A lock this caller holds."""

    def release(self) -> None:
        """Free the lock (a no-op if its time to live already ran out and someone else took
        it: a lock is only ever released by its own holder)."""
        ...

    def extend(self, ttl: float) -> bool:
        """Keep the lock for another ``ttl`` seconds from now.

        :return: ``False`` if the lock was lost (it expired and someone else took it).
        """
        ...


class Locks(Protocol):
    """Named locks and claims shared by everything that syncs one cache."""

    def try_lock(self, name: str, ttl: float) -> Held | None:
        """Take the lock ``name`` for at most ``ttl`` seconds if it is free, without waiting.

        :return: the held lock, or ``None`` when someone else holds it.
        """
        ...

    def wait_unlocked(self, name: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until nobody holds ``name``.

        :return: ``True`` if it is free, ``False`` if the time ran out first.
        """
        ...

    def claim(self, name: str, ttl: float) -> bool:
        """``True`` for the first caller within ``ttl`` seconds, ``False`` for the others."""
        ...

    def forget(self, name: str) -> None:
        """Drop a claim early (so the next :meth:`claim` of ``name`` succeeds)."""
        ...


# ------------------------------------------------------------------------------------------
# In process
# ------------------------------------------------------------------------------------------


class _InProcessHeld:
    def __init__(self, locks: InProcessLocks, name: str, token: str) -> None:
        self._locks = locks
        self._name = name
        self._token = token

    def release(self) -> None:
        self._locks._release(self._name, self._token)

    def extend(self, ttl: float) -> bool:
        return self._locks._extend(self._name, self._token, ttl)


class InProcessLocks:
    """Thread-safe :class:`Locks` for one process.

    :param clock: a monotonic clock in seconds (tests pass a fake).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._locks: dict[str, tuple[str, float]] = {}
        self._claims: dict[str, float] = {}

    def _live(self, table: dict[str, tuple[str, float]], name: str) -> tuple[str, float] | None:
        entry = table.get(name)
        if entry is not None and entry[1] <= self._clock():
            del table[name]
            return None
        return entry

    def try_lock(self, name: str, ttl: float) -> Held | None:
        """See :meth:`Locks.try_lock`."""
        with self._cond:
            if self._live(self._locks, name) is not None:
                return None
            token = uuid.uuid4().hex
            self._locks[name] = (token, self._clock() + ttl)
            return _InProcessHeld(self, name, token)

    def _release(self, name: str, token: str) -> None:
        with self._cond:
            entry = self._locks.get(name)
            if entry is not None and entry[0] == token:
                del self._locks[name]
            self._cond.notify_all()

    def _extend(self, name: str, token: str, ttl: float) -> bool:
        with self._cond:
            entry = self._live(self._locks, name)
            if entry is None or entry[0] != token:
                return False
            self._locks[name] = (token, self._clock() + ttl)
            return True

    def wait_unlocked(self, name: str, timeout: float) -> bool:
        """See :meth:`Locks.wait_unlocked`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                entry = self._live(self._locks, name)
                if entry is None:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                # Wake at the latest when the lock would expire.
                self._cond.wait(min(left, max(0.001, entry[1] - self._clock())))

    def claim(self, name: str, ttl: float) -> bool:
        """See :meth:`Locks.claim`."""
        with self._cond:
            now = self._clock()
            until = self._claims.get(name)
            if until is not None and until > now:
                return False
            self._claims[name] = now + ttl
            if len(self._claims) > 10_000:
                self._claims = {k: v for k, v in self._claims.items() if v > now}
            return True

    def forget(self, name: str) -> None:
        """See :meth:`Locks.forget`."""
        with self._cond:
            self._claims.pop(name, None)


# ------------------------------------------------------------------------------------------
# Redis
# ------------------------------------------------------------------------------------------


class _RedisHeld:
    """A :class:`redis.lock.Lock` this caller holds, behind :class:`Held`.

    The lock's own Lua scripts check the token before they delete or re-expire the key.
    Losing the lock is an answer here, not an error: ``release`` of a lock that expired (or
    was already released) does nothing, and ``extend`` of one returns ``False``.
    """

    def __init__(self, lock: Lock) -> None:
        self._lock = lock

    def release(self) -> None:
        from redis.exceptions import LockError  # redis is optional: only here when it is used

        with contextlib.suppress(LockError):  # LockNotOwnedError too: it is not ours any more
            self._lock.release()

    def extend(self, ttl: float) -> bool:
        from redis.exceptions import LockError

        try:
            # replace_ttl: ``ttl`` from now, not added to what is left.
            return self._lock.extend(_seconds(ttl), replace_ttl=True)
        except LockError:
            return False


def _seconds(ttl: float) -> float:
    """``ttl`` as :class:`~redis.lock.Lock` takes it: it sends ``int(ttl * 1000)`` ms, and
    a time to live of 0 would mean no expiry at all (or, to ``extend``, delete the key); at
    least 1 ms, as this module always sent."""
    return max(ttl, 0.001)


class RedisLocks:
    """:class:`Locks` in Redis, shared by every process that uses the same Redis and prefix.

    A lock is redis-py's :class:`redis.lock.Lock` on the key ``<prefix>lock:<name>``: ``SET NX
    PX`` to a random token, released and extended only by the holder of the token. Its token
    is not kept per thread (``thread_local=False``): :func:`single_flight` takes the lock in
    the caller's thread and releases it in the work's. Waiting polls every ``poll_interval``
    seconds.

    :param client: a :class:`redis.Redis` client.
    :param prefix: put before every key, so several apps (or test runs) can share a Redis.
    :param poll_interval: how often :meth:`wait_unlocked` looks again.
    """

    def __init__(
        self, client: redis.Redis, *, prefix: str = "xero-panel:", poll_interval: float = 0.02
    ) -> None:
        self._redis = client
        self.prefix = prefix
        self.poll_interval = poll_interval

    def try_lock(self, name: str, ttl: float) -> Held | None:
        """See :meth:`Locks.try_lock`."""
        lock: Lock = self._redis.lock(
            f"{self.prefix}lock:{name}",
            timeout=_seconds(ttl),
            blocking=False,
            thread_local=False,
        )
        if lock.acquire(token=uuid.uuid4().hex):
            return _RedisHeld(lock)
        return None

    def wait_unlocked(self, name: str, timeout: float) -> bool:
        """See :meth:`Locks.wait_unlocked`."""
        # Plain EXISTS: a Lock only waits by taking the lock itself.
        key = f"{self.prefix}lock:{name}"
        deadline = time.monotonic() + timeout
        while self._redis.exists(key):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.poll_interval, left))
        return True

    def claim(self, name: str, ttl: float) -> bool:
        """See :meth:`Locks.claim`."""
        # Plain SET NX PX: a claim is never released by its holder, so it needs no token.
        return bool(self._redis.set(f"{self.prefix}claim:{name}", "1", nx=True, px=_ms(ttl)))

    def forget(self, name: str) -> None:
        """See :meth:`Locks.forget`."""
        self._redis.delete(f"{self.prefix}claim:{name}")


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def make_locks(redis_client: Any, *, prefix: str = "xero-panel:") -> Locks:
    """:class:`RedisLocks` on ``redis_client`` when there is one, else :class:`InProcessLocks`."""
    if redis_client is None:
        return InProcessLocks()
    return RedisLocks(redis_client, prefix=prefix)


# ------------------------------------------------------------------------------------------
# Single flight
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flight:
    """What :func:`single_flight` did for one caller.

    :ivar led: this caller ran the work (``False``: it waited for another caller's flight,
        or the work was not needed after all).
    :ivar finished: the work (this caller's or the one waited for) ended within the wait.
    :ivar error: what the work raised, for the leader (the work's own thread logs nothing).
    """

    led: bool
    finished: bool
    error: BaseException | None = None


@contextlib.contextmanager
def keep_alive(held: Held, ttl: float) -> Iterator[None]:
    """Renew ``held`` for ``ttl`` seconds every ``ttl / 3`` seconds while the block runs, from
    a daemon thread: the lock outlives slow work, and expires within ``ttl`` seconds of its
    holder's death (a killed process renews nothing)."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl / 3):
            if not held.extend(ttl):
                return  # lost (expired and taken): nothing more to renew

    thread = threading.Thread(target=renew, name="xero-panel-lock-renewal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(1.0)


def single_flight(
    locks: Locks,
    name: str,
    work: Callable[[], object],
    *,
    wait: float,
    ttl: float,
    still_needed: Callable[[], bool] = lambda: True,
    run: Callable[[Callable[[], None]], None] | None = None,
) -> Flight:
    """Run ``work`` once however many callers (threads, processes, hosts) ask at once.

    The first caller takes the lock ``name`` and becomes the leader: it asks
    ``still_needed()`` again (another flight may have just done the work) and runs ``work``
    in a thread of its own, waiting for it up to ``wait`` seconds; if the work takes longer
    the leader returns and the work goes on in the background, holding the lock so nobody
    starts it twice. Every other caller waits up to ``wait`` seconds for the lock to be
    free and returns.

    :param ttl: the lock's time to live; the flight renews it while the work runs
        (:func:`keep_alive`), so it expires within ``ttl`` of a killed holder.
    :param run: starts the work (default: a daemon thread); it must call its argument.
    """
    held = locks.try_lock(name, ttl)
    if held is None:
        return Flight(led=False, finished=locks.wait_unlocked(name, wait))
    try:
        needed = still_needed()
    except BaseException:
        held.release()
        raise
    if not needed:
        held.release()
        return Flight(led=False, finished=True)

    done = threading.Event()
    errors: list[BaseException] = []

    def flight() -> None:
        try:
            with keep_alive(held, ttl):
                work()
        except BaseException as exc:  # reported to the leader
            errors.append(exc)
        finally:
            held.release()
            done.set()

    if run is None:
        threading.Thread(target=flight, name=f"xero-panel-{name}", daemon=True).start()
    else:
        run(flight)
    finished = done.wait(wait)
    return Flight(led=True, finished=finished, error=errors[0] if errors else None)

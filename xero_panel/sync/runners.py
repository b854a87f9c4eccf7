"""Running sync work in the background: a daemon thread by default, RQ jobs with Redis.

The embedded default (:class:`ThreadRunner`) runs each job in a daemon thread of the web
process, inside an app context. With ``XERO_PANEL_REDIS_URL`` set, :class:`RQRunner`
enqueues the job on the RQ queue ``XERO_PANEL_RQ_QUEUE`` instead, so the work survives a
web worker's restart and runs on whichever host has a worker (``flask xero-panel worker``;
see :mod:`xero_panel.jobs`).

A job is a name from :data:`JobName` plus plain JSON-able arguments; both runners end up
calling the :class:`~xero_panel.sync.scheduler.SyncScheduler` method ``run_<name>``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal, Protocol

__all__ = ["JobName", "RQRunner", "Runner", "ThreadRunner", "make_runner"]

logger = logging.getLogger("xero_panel.sync.runners")

#: The background jobs (functions of :mod:`xero_panel.jobs`).
JobName = Literal["full_sync", "refresh", "reconcile", "webhook", "webhook_retry"]
#: Runs a job by name with its arguments (the scheduler's ``execute``).
Execute = Callable[[JobName, Sequence[Any]], object]


class Runner(Protocol):
    """Where background sync work goes."""

    def submit(self, job: JobName, *args: Any) -> None:
        """Run ``job(*args)`` soon, not in the caller's thread; return at once."""
        ...

    def submit_later(self, delay: float, job: JobName, *args: Any) -> None:
        """Run ``job(*args)`` in about ``delay`` seconds; return at once. (A timer in this
        process: what it would lose when the process ends is found again by the caller's
        own sweep, see :mod:`xero_panel.sync.webhook_retries`.)"""
        ...


def _later(delay: float, submit: Callable[[], None]) -> threading.Timer:
    def fire() -> None:
        try:
            submit()
        except Exception:
            logger.exception("Could not submit a delayed xero-panel job")

    timer = threading.Timer(max(0.0, delay), fire)
    timer.daemon = True
    timer.start()
    return timer


class ThreadRunner:
    """Runs each job in a daemon thread (the embedded default).

    :param execute: runs a job by name (the scheduler's ``execute``).
    :param context: entered around each job, e.g. ``app.app_context``.
    """

    def __init__(
        self,
        execute: Execute,
        context: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        self._execute = execute
        self._context = context
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._timers: list[threading.Timer] = []

    def submit(self, job: JobName, *args: Any) -> None:
        """Start ``job(*args)`` in a new daemon thread."""

        def run() -> None:
            try:
                with self._context():
                    self._execute(job, args)
            except Exception:
                logger.exception("Background job %s%r failed", job, args)

        thread = threading.Thread(target=run, name=f"xero-panel-{job}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def submit_later(self, delay: float, job: JobName, *args: Any) -> None:
        """Start ``job(*args)`` in a new daemon thread in about ``delay`` seconds."""
        timer = _later(delay, lambda: self.submit(job, *args))
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)

    def cancel_later(self) -> None:
        """Cancel the jobs :meth:`submit_later` has not started yet (when the app goes away,
        e.g. at the end of a test; what they would have retried, the next sweep finds)."""
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every job started so far has ended (for tests and the CLI).

        :return: ``False`` if some job was still running after ``timeout`` seconds.
        """
        import time

        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                alive = [t for t in self._threads if t.is_alive()]
            if not alive:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            alive[0].join(left)


class RQRunner:
    """Enqueues each job on an RQ queue (with ``XERO_PANEL_REDIS_URL``).

    The job function is ``xero_panel.jobs.<job>``, referenced by name, so the web process
    never imports the worker's code and the worker needs only the host app
    (see :mod:`xero_panel.jobs`).

    :param redis_client: the app's :class:`redis.Redis` client.
    :param queue: the queue name (``XERO_PANEL_RQ_QUEUE``).
    :param job_timeout: seconds a job may run before RQ stops it.
    """

    def __init__(self, redis_client: Any, queue: str, *, job_timeout: int = 3600) -> None:
        from rq import Queue

        self.queue = Queue(queue, connection=redis_client)
        self.job_timeout = job_timeout

    def submit(self, job: JobName, *args: Any) -> None:
        """Enqueue ``xero_panel.jobs.<job>(*args)``."""
        self.queue.enqueue(
            f"xero_panel.jobs.{job}",
            *args,
            job_timeout=self.job_timeout,
            result_ttl=3600,
            failure_ttl=7 * 86400,
            description=f"xero-panel {job}{tuple(args)!r}"[:200],
        )

    def submit_later(self, delay: float, job: JobName, *args: Any) -> None:
        """Enqueue ``xero_panel.jobs.<job>(*args)`` in about ``delay`` seconds (a timer in
        this process, so no RQ scheduler is needed)."""
        _later(delay, lambda: self.submit(job, *args))


def make_runner(
    redis_client: Any,
    queue: str,
    execute: Execute,
    context: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> Runner:
    """:class:`RQRunner` on ``redis_client`` when there is one, else :class:`ThreadRunner`."""
    if redis_client is None:
        return ThreadRunner(execute, context)
    return RQRunner(redis_client, queue)

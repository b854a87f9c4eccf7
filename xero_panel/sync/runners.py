"""Running sync work in the background: a daemon thread by default, RQ jobs with Redis.

The embedded default (:class:`ThreadRunner`) runs each job in a daemon thread of the web
process, inside an app context. With ``XERO_PANEL_REDIS_URL`` set, :class:`RQRunner`
enqueues the job on the RQ queue of its priority class instead
(:mod:`~xero_panel.sync.job_queues`), so the work survives a web worker's restart and runs
on whichever host has a worker (``flask xero-panel worker``; see :mod:`xero_panel.jobs`).

A job is a name from :data:`JobName` plus plain JSON-able arguments; both runners end up
calling the :class:`~xero_panel.sync.scheduler.SyncScheduler` method ``run_<name>``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from .job_queues import CHUNK_PAGES, JobName, more_urgent, queue_name, queue_names

__all__ = ["JobName", "RQRunner", "Runner", "ThreadRunner", "make_runner"]

logger = logging.getLogger("xero_panel.sync.runners")

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

    def should_yield(self, job: JobName, pages: int) -> bool:
        """Whether a long ``job`` that has read ``pages`` pages in this run should stop at
        this page and queue its continuation (a chunk's end, or more urgent work waiting)."""
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

    def should_yield(self, job: JobName, pages: int) -> bool:
        """Never: each job has a thread of its own, so nothing waits behind it."""
        return False

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
    """Enqueues each job on the RQ queue of its priority class (with ``XERO_PANEL_REDIS_URL``).

    The job function is ``xero_panel.jobs.<job>``, referenced by name, so the web process
    never imports the worker's code and the worker needs only the host app
    (see :mod:`xero_panel.jobs`).

    :param redis_client: the app's :class:`redis.Redis` client.
    :param queue: ``XERO_PANEL_RQ_QUEUE``, the base of the queues' names
        (:func:`~xero_panel.sync.job_queues.queue_names`).
    :param job_timeout: seconds a job may run before RQ stops it.
    :param chunk_pages: pages a long job reads before it queues its continuation.
    """

    def __init__(
        self,
        redis_client: Any,
        queue: str,
        *,
        job_timeout: int = 3600,
        chunk_pages: int = CHUNK_PAGES,
    ) -> None:
        from rq import Queue

        self.base = queue
        self.connection = redis_client
        #: Every queue a worker takes jobs from, most urgent first (the 0.2.0 one last).
        self.queues = [Queue(name, connection=redis_client) for name in queue_names(queue)]
        self._by_name = {q.name: q for q in self.queues}
        self.job_timeout = job_timeout
        self.chunk_pages = chunk_pages

    def queue_for(self, job: JobName) -> Any:
        """The RQ queue ``job`` goes on."""
        return self._by_name[queue_name(self.base, job)]

    def submit(self, job: JobName, *args: Any) -> None:
        """Enqueue ``xero_panel.jobs.<job>(*args)`` on its class's queue."""
        self.queue_for(job).enqueue(
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

    def should_yield(self, job: JobName, pages: int) -> bool:
        """After :attr:`chunk_pages` pages, or as soon as a job of a more urgent class is
        queued (one ``LLEN`` per such queue, asked before each page)."""
        if pages >= self.chunk_pages:
            return True
        urgent = more_urgent(self.base, job)
        if not urgent:
            return False
        pipe = self.connection.pipeline(transaction=False)
        for name in urgent:
            pipe.llen(self._by_name[name].key)
        return any(int(n) > 0 for n in pipe.execute())


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

"""Where the state machine's background jobs run, and how it waits for them: threads of the
test's process (the embedded default) or RQ jobs in Redis run by a real RQ worker
(:class:`~xero_panel.sync.rq_worker.SyncWorker`) in a thread of the test's process, so the
test's stopped clock holds for the jobs too.

Both forget the runner's ``submit_later`` timers (real seconds, firing between a test's
steps): what a lost timer would have retried, the scheduler's sweep on the next view or
delivery picks up, which is the path under test.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask
from rq.timeouts import TimerDeathPenalty

from tests.admin_support import wait_for_background_jobs
from xero_panel.state import get_state
from xero_panel.sync.rq_worker import SyncWorker


def forget_timers(app: Flask) -> None:
    runner = get_state(app).scheduler.runner  # type: ignore[attr-defined]
    runner.submit_later = lambda delay, job, *args: None


class Threads:
    """Jobs in threads of this process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        forget_timers(app)

    def settle(self) -> None:
        wait_for_background_jobs(self.app)

    def close(self) -> None:
        self.settle()


class _ThreadedWorker(SyncWorker):
    """A :class:`SyncWorker` that can run outside the main thread (no signal handlers; a
    job's timeout by a timer, not SIGALRM)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


class RQWorkerThread:
    """Jobs on the app's RQ queues, run by one worker in a thread of this process, inside
    the app's context. Every job enqueued is remembered, so :meth:`settle` knows when all
    have ended, and a job that failed (an exception, not a Xero problem, which jobs record
    and end normally) fails the test."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        forget_timers(app)
        runner = get_state(app).scheduler.runner  # type: ignore[attr-defined]
        self.queues = runner.queues
        self.connection = runner.connection
        self.jobs: list[Any] = []
        for queue in self.queues:
            queue.enqueue = self._remembering(queue.enqueue)
        # A 1 s wait for the next job, so that close() stops the worker at once.
        self.worker = _ThreadedWorker(self.queues, connection=self.connection, worker_ttl=16)
        self.thread = threading.Thread(target=self._work, name="rq-worker", daemon=True)
        self.thread.start()

    def _remembering(self, enqueue: Any) -> Any:
        def remembered(*args: Any, **kwargs: Any) -> Any:
            job = enqueue(*args, **kwargs)
            self.jobs.append(job)
            return job

        return remembered

    def _work(self) -> None:
        with self.app.app_context():
            self.worker.work(with_scheduler=False)

    def settle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for job in list(self.jobs):
            while (status := job.get_status()) not in ("finished", "failed"):
                assert time.monotonic() < deadline, f"RQ job {job.description} still {status}"
                time.sleep(0.01)
            assert status == "finished", f"RQ job {job.description} failed: {job.exc_info}"

    def close(self) -> None:
        from rq import Queue

        self.settle()
        self.worker._stop_requested = True
        # RQ's wait for the next job only ends with a job: a no-op one wakes it to stop.
        Queue(self.queues[0].name, connection=self.connection).enqueue("time.sleep", 0)
        self.thread.join(30)

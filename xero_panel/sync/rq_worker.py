"""The RQ worker for xero-panel's jobs: one that RQ forgets soon after it dies.

RQ's :class:`~rq.SimpleWorker` announces a job for the job's whole timeout (an hour for a
sync) and heartbeats only between jobs, so a worker killed mid-sync (``kill -9``, an OOM kill,
a lost host) stays listed as busy, and its job stays "started", for about an hour. The sync
itself does not wait for that: its lock (:mod:`xero_panel.locks`) lapses within 30 s and the
next panel view or worker resumes it. What lingers is RQ's bookkeeping, which an operator
reads with ``rq info`` or a dashboard.

:class:`SyncWorker` keeps RQ's bookkeeping as short-lived as the lock: while a job runs, a
thread renews the worker's and the job's heartbeat every :data:`BEAT_EVERY` seconds, each
valid for :data:`GONE_AFTER` seconds, and idle it renews them as often. A dead worker's entry
expires within :data:`GONE_AFTER` seconds, and a live worker's maintenance (every
:data:`MAINTENANCE_EVERY` seconds) moves the dead one's job to RQ's failed job registry
(``AbandonedJobError``) and drops the worker from the queue's list.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue
from rq.worker import WorkerStatus

__all__ = ["BEAT_EVERY", "GONE_AFTER", "MAINTENANCE_EVERY", "SyncWorker"]

logger = logging.getLogger("xero_panel.sync.rq_worker")

#: Seconds between the heartbeats of a worker and of the job it runs.
BEAT_EVERY = 5
#: Seconds a heartbeat holds: a dead worker's entry, and its job's "started" entry, expire
#: this long after its last heartbeat.
GONE_AFTER = 30
#: Seconds between a worker's cleanings of the queue's registries (RQ's default is 10 min).
MAINTENANCE_EVERY = 30


class SyncWorker(SimpleWorker):
    """A :class:`~rq.SimpleWorker` (jobs run in this process, no fork) whose heartbeats hold
    :attr:`gone_after` seconds and come every :attr:`beat_every` seconds, also mid-job.

    ``flask xero-panel worker`` runs one; a plain ``rq worker`` can too
    (``-w xero_panel.sync.rq_worker.SyncWorker``).
    """

    beat_every: float = BEAT_EVERY
    gone_after: int = GONE_AFTER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("worker_ttl", self.gone_after)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_EVERY)
        super().__init__(*args, **kwargs)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        # RQ asks for longer (the worker's TTL + 60 s, or the job's timeout + 60 s); a dead
        # worker should not look alive that long.
        super().heartbeat(self.gone_after, pipeline=pipeline)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return self.gone_after

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.beat_every):
                try:
                    self.maintain_heartbeats(job, execution)
                except Exception:  # Redis away a moment: the next beat tries again
                    logger.warning("xero-panel worker %s: heartbeat failed", self.name)

        beating = threading.Thread(target=beat, name="xero-panel-rq-heartbeat", daemon=True)
        beating.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beating.join()
        self.set_state(WorkerStatus.IDLE)

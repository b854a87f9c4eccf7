"""Long jobs in chunks: a full sync or a reconciliation run as a background job stops when
the runner says so (:meth:`~xero_panel.sync.runners.Runner.should_yield`: a chunk's pages
read, or a job of a more urgent class queued) and queues its continuation at the end of its
class's queue, so the worker takes the more urgent job first (see
:mod:`~xero_panel.sync.job_queues`); a ``full_sync`` or ``reconcile`` job waiting for its
organisation's budget gives its wait up as soon as such a job is queued
(:mod:`~xero_panel.xero.yielding_waits`) and stops the same way. A reconcile job queued
while a reconciliation is unfinished goes on with it rather than starting afresh, and a
lock keeps two from running at once. :class:`ChunkedJobs` is one part the
:class:`~xero_panel.sync.scheduler.SyncScheduler` is composed of: its ``full_sync``,
``reconcile`` and ``refresh`` jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session

from ..xero.yielding_waits import yield_waits_when
from .full import Pause
from .job_queues import JobName
from .job_runs import SyncJobs
from .runners import Runner
from .state import get_sync_state

__all__ = ["ChunkedJobs"]


class ChunkedJobs:
    """The background jobs that may run a full sync or a reconciliation, a chunk at a time.

    :param runner: the scheduler's background runner (asked for each time it is used).
    """

    def __init__(
        self,
        *,
        session_factory: Callable[[], Session],
        jobs: SyncJobs,
        runner: Callable[[], Runner],
    ) -> None:
        self.session_factory = session_factory
        self.jobs = jobs
        self.runner = runner

    def full_sync(self, organisation_id: int, continuing: bool = False) -> dict[str, int]:
        """The ``full_sync`` job: one chunk of the full sync, then its continuation queued
        if it paused (``continuing``: a continuation, which starts no new sync)."""
        # A wait for the organisation's budget gives the worker up to more urgent work.
        urgent = lambda: self.runner().should_yield("full_sync", 0)  # noqa: E731
        with yield_waits_when(urgent):
            counts = self.jobs.run_full_sync(
                organisation_id, pause=self._pause("full_sync"), continuing=continuing
            )
        self._continue_if_paused(organisation_id, counts)
        return counts

    def reconcile(self, organisation_id: int, continuing: bool = False) -> dict[str, int]:
        """The ``reconcile`` job: one chunk of a reconciliation, then its continuation queued
        if it paused (``continuing``: a continuation, which starts no new one)."""
        urgent = lambda: self.runner().should_yield("reconcile", 0)  # noqa: E731
        with yield_waits_when(urgent):
            counts = self.jobs.run_reconcile(
                organisation_id, pause=self._pause("reconcile"), continuing=continuing
            )
        if counts.get("paused"):
            self.runner().submit("reconcile", organisation_id, True)
        return counts

    def refresh(self, organisation_id: int) -> dict[str, int]:
        """The ``refresh`` job (*Refresh now*; a first sync in it goes in chunks too)."""
        counts = self.jobs.run_refresh(organisation_id, pause=self._pause("refresh"))
        self._continue_if_paused(organisation_id, counts)
        return counts

    def _pause(self, job: JobName) -> Pause:
        return lambda pages: self.runner().should_yield(job, pages)

    def _continue_if_paused(self, organisation_id: int, counts: Mapping[str, int]) -> None:
        """A full sync stopped at a chunk's end: it is ``queued`` again (so views leave it
        alone, see :func:`~xero_panel.sync.freshness.first_sync_wanted`) and its
        continuation goes to the end of the full syncs' queue."""
        if not counts.get("paused"):
            return
        with self.session_factory() as session:
            state = get_sync_state(session, organisation_id)
            state.phase = "queued"
            session.commit()
        self.runner().submit("full_sync", organisation_id, True)

"""The scheduler's webhook work: storing a delivery, fetching what its events name, and
trying failed fetches again. :class:`WebhookWork` is one part the
:class:`~xero_panel.sync.scheduler.SyncScheduler` is composed of; the scheduler's webhook
methods hand over to it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from ..locks import Locks, keep_alive
from .job_runs import SyncJobs
from .runners import Runner
from .webhook_ingest import Ingested, store_delivery
from .webhook_mode import WebhookModes, record_failure
from .webhook_retries import SWEEP_EVERY, WebhookRetries

__all__ = ["WebhookWork"]

logger = logging.getLogger("xero_panel.sync.scheduler")


class WebhookWork:
    """Webhook deliveries in, fetches out, with retries.

    :param runner: the scheduler's background runner (asked for each time it is used).
    """

    def __init__(
        self,
        *,
        session_factory: Callable[[], Session],
        jobs: SyncJobs,
        retries: WebhookRetries,
        modes: WebhookModes,
        locks: Locks,
        runner: Callable[[], Runner],
        now: Callable[[], dt.datetime],
    ) -> None:
        self.session_factory = session_factory
        self.jobs = jobs
        self.retries = retries
        self.modes = modes
        self.locks = locks
        self.runner = runner
        self.now = now

    def store(self, session: Session, events: Sequence[Mapping[str, Any]]) -> Ingested:
        """Store a delivery (:func:`~xero_panel.sync.webhook_ingest.store_delivery`)."""
        return store_delivery(
            session,
            events,
            now=self.now(),
            retry_after=self.retries.base,
            quiet_after=self.modes.quiet_after,
        )

    def sweep(self) -> bool:
        """Queue a retry job if some stored event is due (at most every
        :data:`~xero_panel.sync.webhook_retries.SWEEP_EVERY` seconds, across workers).
        Never raises.

        :return: whether a job was queued.
        """
        try:
            if not self.locks.claim("webhook-sweep", SWEEP_EVERY):
                return False
            if not self.retries.due(limit=1):
                return False
            self.runner().submit("webhook_retry")
            return True
        except Exception:
            logger.exception("Could not look for webhook events to retry")
            return False

    def run(self, events: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Fetch what the events name; events whose fetch failed are counted in the retry
        queue, their tenants' organisations poll until the next delivery
        (:func:`~xero_panel.sync.webhook_mode.record_failure`), and a retry job is set for
        the soonest next try."""
        outcome = self.jobs.run_webhook(events)
        delays = [self.retries.failed(failed, problem) for failed, problem in outcome.failed]
        soonest = min((d for d in delays if d is not None), default=None)
        if soonest is not None:
            self.runner().submit_later(soonest, "webhook_retry")
        for failed, problem in outcome.failed:
            tenants = [str(e.get("tenantId", "")) for e in failed]
            record_failure(self.session_factory, tenants, problem, self.now())
        return outcome.counts

    def run_retry(self) -> dict[str, int]:
        """Try again every due webhook event (one such job at a time)."""
        held = self.locks.try_lock("webhook-retry", self.jobs.lock_ttl)
        if held is None:
            return {}
        try:
            with keep_alive(held, self.jobs.lock_ttl):
                events = self.retries.due()
                if not events:
                    return {}
                # Not due again for a while (the try reschedules them if it fails).
                self.retries.hold(events, max(self.jobs.lock_ttl, 300.0))
                return self.run(events)
        finally:
            held.release()

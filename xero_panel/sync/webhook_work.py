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
from .job_runs import SyncJobs, needs_fetch
from .runners import Runner
from .webhook_ingest import Ingested, store_delivery
from .webhook_mode import WebhookModes, record_failure
from .webhook_retries import BATCH, SWEEP_EVERY, WebhookRetries

__all__ = ["QUEUED_HOLD", "WebhookWork"]

logger = logging.getLogger("xero_panel.sync.scheduler")

#: Seconds a queued ``webhook_tenant`` job keeps later deliveries of its tenant from queueing
#: another (should it be lost, its events are due again 30 s after they were stored, and the
#: sweep queues their retry).
QUEUED_HOLD = 600.0


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

    def start(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Queue one ``webhook_tenant`` job per tenant the (stored, new) events name, unless
        one is queued and not started yet: that one will read these events too. Events that
        need no fetch (a supplier credit note's, as their ``data`` says, which is not stored)
        are marked processed at once."""
        tenants: dict[str, list[Mapping[str, Any]]] = {}
        for event in events:
            tenants.setdefault(str(event.get("tenantId", "")).lower(), []).append(event)
        for tenant, theirs in tenants.items():
            if skipped := [e for e in theirs if not needs_fetch(e)]:
                self.jobs.mark_processed(skipped)
            if len(skipped) == len(theirs):
                continue
            if tenant and self.locks.claim(f"webhook-queued:{tenant}", QUEUED_HOLD):
                self.runner().submit("webhook_tenant", tenant)

    def run_tenant(self, tenant_id: str) -> dict[str, int]:
        """Fetch every stored event of the tenant not fetched yet, :data:`BATCH` at a time
        (their records by ID, 50 a call), one such job per tenant at a time."""
        # From here on a new event queues a new job: this one may have read too early.
        self.locks.forget(f"webhook-queued:{tenant_id}")
        name = f"webhook-tenant:{tenant_id}"
        held = self.locks.try_lock(name, self.jobs.lock_ttl)
        while held is None:  # another drain of the tenant runs: go after it
            self.locks.wait_unlocked(name, self.jobs.lock_ttl)
            held = self.locks.try_lock(name, self.jobs.lock_ttl)
        totals: dict[str, int] = {}
        try:
            with keep_alive(held, self.jobs.lock_ttl):
                hold = max(self.jobs.lock_ttl, 300.0)
                while events := self.retries.take_pending(tenant_id, hold, BATCH):
                    for key, value in self.run(events).items():
                        totals[key] = totals.get(key, 0) + value
                    if len(events) < BATCH:
                        break
        finally:
            held.release()
        return totals

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

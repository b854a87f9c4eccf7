"""Webhook events whose fetch failed are tried again, with backoff, until they succeed or
:data:`MAX_ATTEMPTS` tries have failed.

The webhook route stores each new event (``xero_panel_webhook_event``) before it answers
200, with ``next_attempt_at`` a little ahead: the stored rows are the queue. The job that
fetches an event's resource marks it processed; when Xero fails it counts the attempt and
sets the next one ``min(base * 2 ** (attempts - 1), cap)`` seconds later
(:func:`retry_delay`), and asks the runner to run ``webhook_retry`` then. What a lost timer
or a dead worker would drop is picked up by :meth:`WebhookRetries.sweep_webhooks`, which panel
views and webhook deliveries call (it queries at most every :data:`SWEEP_EVERY` seconds).
After the last attempt the event is left unprocessed with its error: the next incremental
sync or reconciliation brings the change instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..locks import Locks
from ..models import WebhookEvent
from .runners import Runner

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "MAX_ATTEMPTS",
    "SWEEP_EVERY",
    "WebhookRetries",
    "event_key",
    "retry_delay",
]

logger = logging.getLogger("xero_panel.sync.webhooks")

#: Seconds before the first retry; each further retry waits twice as long, up to the cap.
BACKOFF_BASE = 30.0
BACKOFF_CAP = 3600.0
#: Failed fetches after which an event is given up (about 4 h after it arrived).
MAX_ATTEMPTS = 10
#: Panel views and webhook deliveries look for due events at most this often.
SWEEP_EVERY = 15.0
#: Most events one retry job takes.
BATCH = 500


def retry_delay(attempts: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds until the next try after ``attempts`` failed ones."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


def event_key(event: Mapping[str, Any]) -> dict[str, str]:
    """The columns that identify a stored event (its de-duplication key)."""
    return {
        "tenant_id": str(event.get("tenantId", "")).lower()[:64],
        "event_category": str(event.get("eventCategory", ""))[:20],
        "resource_id": str(event.get("resourceId", "")).lower()[:64],
        "event_date": str(event.get("eventDateUtc", ""))[:40],
    }


class WebhookRetries:
    """The retry half of the webhook jobs; :class:`~xero_panel.sync.scheduler.SyncScheduler`
    sets these attributes and provides ``run_webhook``."""

    session_factory: Callable[[], Session]
    locks: Locks
    runner: Runner
    lock_ttl: float
    now: Callable[[], dt.datetime]
    webhook_retry_base: float = BACKOFF_BASE
    webhook_retry_cap: float = BACKOFF_CAP
    webhook_retry_limit: int = MAX_ATTEMPTS

    def run_webhook(self, events: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        raise NotImplementedError

    def _webhook_failed(self, events: Sequence[Mapping[str, Any]], problem: str) -> None:
        """Count a failed try of these events and schedule the next one (or give up)."""
        now = self.now()
        soonest: float | None = None
        with self.session_factory() as session:
            for event in events:
                row = session.scalars(
                    select(WebhookEvent).where(
                        *(getattr(WebhookEvent, k) == v for k, v in event_key(event).items())
                    )
                ).first()
                if row is None or row.processed_at is not None:
                    continue
                row.attempts = (row.attempts or 0) + 1
                if row.attempts >= self.webhook_retry_limit:
                    row.next_attempt_at = None
                    row.last_error = f"Given up after {row.attempts} attempts: {problem}"
                    logger.warning("Webhook event %s given up: %s", row.resource_id, problem)
                    continue
                delay = retry_delay(row.attempts, self.webhook_retry_base, self.webhook_retry_cap)
                row.next_attempt_at = now + dt.timedelta(seconds=delay)
                row.last_error = problem
                soonest = delay if soonest is None else min(soonest, delay)
            session.commit()
        if soonest is not None:
            self.runner.submit_later(soonest, "webhook_retry")

    def due_webhook_events(self, limit: int = BATCH) -> list[dict[str, Any]]:
        """Stored events not processed whose next try is due, as Xero's event dicts."""
        with self.session_factory() as session:
            rows = session.scalars(
                select(WebhookEvent)
                .where(
                    WebhookEvent.processed_at.is_(None),
                    WebhookEvent.next_attempt_at.is_not(None),
                    WebhookEvent.next_attempt_at <= self.now(),
                )
                .order_by(WebhookEvent.id)
                .limit(limit)
            ).all()
            return [
                {
                    "tenantId": r.tenant_id,
                    "eventCategory": r.event_category,
                    "eventType": r.event_type,
                    "resourceId": r.resource_id,
                    "eventDateUtc": r.event_date,
                }
                for r in rows
            ]

    def run_webhook_retry(self) -> dict[str, int]:
        """Try again every due event (one such job at a time)."""
        held = self.locks.try_lock("webhook-retry", self.lock_ttl)
        if held is None:
            return {}
        try:
            events = self.due_webhook_events()
            if not events:
                return {}
            with self.session_factory() as session:
                # Not due again until this try has ended (it reschedules on failure).
                for event in events:
                    session.execute(
                        update(WebhookEvent)
                        .where(
                            *(getattr(WebhookEvent, k) == v for k, v in event_key(event).items())
                        )
                        .values(next_attempt_at=self.now() + dt.timedelta(seconds=self.lock_ttl))
                    )
                session.commit()
            return self.run_webhook(events)
        finally:
            held.release()

    def sweep_webhooks(self) -> bool:
        """Queue a retry job if some stored event is due (at most every
        :data:`SWEEP_EVERY` seconds, across workers). Never raises.

        :return: whether a job was queued.
        """
        try:
            if not self.locks.claim("webhook-sweep", SWEEP_EVERY):
                return False
            if not self.due_webhook_events(limit=1):
                return False
            self.runner.submit("webhook_retry")
            return True
        except Exception:
            logger.exception("Could not look for webhook events to retry")
            return False

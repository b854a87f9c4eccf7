"""Webhook events whose fetch failed are tried again, with backoff, until they succeed or
:data:`MAX_ATTEMPTS` tries have failed.

The webhook route stores each new event (``xero_panel_webhook_event``) before it answers
200 (:mod:`~xero_panel.sync.webhook_ingest`), with ``next_attempt_at`` a little ahead: the
stored rows are the queue. The job that fetches an event's resource marks it processed;
when Xero fails it counts the attempt and sets the next one
``min(base * 2 ** (attempts - 1), cap)`` seconds later (:func:`retry_delay`), and the
scheduler asks the runner to run ``webhook_retry`` then. What
a lost timer or a dead worker would drop is picked up by the scheduler's ``sweep_webhooks``,
which panel views and webhook deliveries call (it queries at most every :data:`SWEEP_EVERY`
seconds). :class:`WebhookRetries` keeps this queue; the scheduler runs it.
After the last attempt the event is left unprocessed with its error: the next incremental
sync or reconciliation brings the change instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..models import WebhookEvent

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "MAX_ATTEMPTS",
    "SWEEP_EVERY",
    "WebhookRetries",
    "event_key",
    "record_new_events",
    "retry_delay",
    "stored_as",
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


def record_new_events(
    session: Session, events: Sequence[Mapping[str, Any]], retry_after: float = BACKOFF_BASE
) -> list[dict[str, Any]]:
    """Store the events not seen before and return them (duplicates are dropped, also when
    another worker stores the same event at the same moment). Commits.

    :param retry_after: seconds after which a stored event not yet processed is due for
        another try.
    """
    fresh: list[dict[str, Any]] = []
    for event in events:
        key = event_key(event)
        if not key["tenant_id"] or not key["resource_id"]:
            continue
        seen = session.scalar(select(WebhookEvent.id).where(*_matching(key)))
        if seen is not None:
            continue
        try:
            session.execute(
                insert(WebhookEvent).values(
                    **key,
                    event_type=str(event.get("eventType", ""))[:20],
                    received_at=utcnow(),
                    attempts=0,
                    next_attempt_at=utcnow() + dt.timedelta(seconds=retry_after),
                )
            )
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        fresh.append(dict(event))
    return fresh


#: A stored event's columns, by the name of the field of Xero's event each holds (the
#: fields a fetch reads).
_EVENT_COLUMNS = {
    "tenantId": WebhookEvent.tenant_id,
    "eventCategory": WebhookEvent.event_category,
    "eventType": WebhookEvent.event_type,
    "resourceId": WebhookEvent.resource_id,
    "eventDateUtc": WebhookEvent.event_date,
}


def _as_event(row: WebhookEvent) -> dict[str, Any]:
    """A stored event as Xero sent it."""
    return {name: getattr(row, column.key) for name, column in _EVENT_COLUMNS.items()}


def _matching(key: Mapping[str, str]) -> list[Any]:
    """The conditions that find the stored event with this :func:`event_key`."""
    return [getattr(WebhookEvent, column) == value for column, value in key.items()]


def stored_as(events: Sequence[Mapping[str, Any]]) -> ColumnElement[bool]:
    """The condition that finds the stored rows of all these events at once (their
    :func:`event_key` as one tuple ``IN``), so a job's bookkeeping is one statement however
    many events it handled."""
    columns = [getattr(WebhookEvent, column) for column in event_key({})]
    return tuple_(*columns).in_([tuple(event_key(event).values()) for event in events])


class WebhookRetries:
    """The stored webhook events, as the queue of fetches to try again.

    :param session_factory: makes a new session on the cache's database.
    :param base: seconds before the first retry (:data:`BACKOFF_BASE`).
    :param cap: the longest wait between two tries (:data:`BACKOFF_CAP`).
    :param limit: failed tries after which an event is given up (:data:`MAX_ATTEMPTS`).
    """

    def __init__(
        self,
        *,
        session_factory: Callable[[], Session],
        now: Callable[[], dt.datetime] = utcnow,
        base: float = BACKOFF_BASE,
        cap: float = BACKOFF_CAP,
        limit: int = MAX_ATTEMPTS,
    ) -> None:
        self.session_factory = session_factory
        self.now = now
        self.base = base
        self.cap = cap
        self.limit = limit

    def failed(self, events: Sequence[Mapping[str, Any]], problem: str) -> float | None:
        """Count a failed try of these events and schedule the next one (or give up).

        :return: seconds until the soonest next try, ``None`` when none is scheduled.
        """
        now = self.now()
        soonest: float | None = None
        with self.session_factory() as session:
            pending = select(WebhookEvent).where(
                stored_as(events), WebhookEvent.processed_at.is_(None)
            )
            for row in session.scalars(pending).all():
                row.attempts = (row.attempts or 0) + 1
                if row.attempts >= self.limit:
                    row.next_attempt_at = None
                    row.last_error = f"Given up after {row.attempts} attempts: {problem}"
                    logger.warning("Webhook event %s given up: %s", row.resource_id, problem)
                    continue
                delay = retry_delay(row.attempts, self.base, self.cap)
                row.next_attempt_at = now + dt.timedelta(seconds=delay)
                row.last_error = problem
                soonest = delay if soonest is None else min(soonest, delay)
            session.commit()
        return soonest

    def due(self, limit: int = BATCH) -> list[dict[str, Any]]:
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
            return [_as_event(r) for r in rows]

    def take_pending(self, tenant_id: str, hold: float, limit: int = BATCH) -> list[dict[str, Any]]:
        """The tenant's stored events not processed that were never tried or are due, as
        Xero's event dicts, made not due for ``hold`` seconds (while their fetch runs; a
        failed one reschedules them). Events waiting out a backoff stay where they are.
        One statement (an ``UPDATE ... RETURNING``)."""
        now = self.now()
        pending = (
            select(WebhookEvent.id)
            .where(
                WebhookEvent.tenant_id == tenant_id.lower(),
                WebhookEvent.processed_at.is_(None),
                or_(WebhookEvent.attempts == 0, WebhookEvent.next_attempt_at <= now),
            )
            .order_by(WebhookEvent.id)
            .limit(limit)
        )
        taken = (
            update(WebhookEvent)
            .where(WebhookEvent.id.in_(pending.scalar_subquery()))
            .values(next_attempt_at=now + dt.timedelta(seconds=hold))
            .returning(WebhookEvent.id, *_EVENT_COLUMNS.values())
            .execution_options(synchronize_session=False)
        )
        with self.session_factory() as session:
            rows = session.execute(taken).all()
            session.commit()
        return [
            {name: getattr(row, column.key) for name, column in _EVENT_COLUMNS.items()}
            for row in sorted(rows, key=lambda row: row.id)
        ]

    def hold(self, events: Sequence[Mapping[str, Any]], seconds: float) -> None:
        """Make these events not due again for ``seconds`` (while a try runs; it reschedules
        them if it fails)."""
        with self.session_factory() as session:
            session.execute(
                update(WebhookEvent)
                .where(stored_as(events))
                .values(next_attempt_at=self.now() + dt.timedelta(seconds=seconds))
            )
            session.commit()

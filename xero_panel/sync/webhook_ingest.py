"""Storing a webhook delivery within Xero's 5 s: :func:`store_delivery`.

Xero wants 200 within 5 s, and a delivery may carry thousands of events (a bulk import,
or the replay of stored events after an outage). So the route does only this, in one short
write transaction, and leaves the fetching to the background:

1. one read: which of the delivery's tenants some CRM account uses (a selected
   :class:`~xero_panel.models.Organisation`). Events of any other tenant are dropped and
   counted (the row :data:`UNKNOWN_TENANTS` of ``xero_panel_webhook_tenant``, read by
   :func:`dropped_events`), never stored;
2. **one statement** stores every event: ``INSERT ... SELECT`` over the events passed as one
   JSON parameter (SQLite's ``json_each``, PostgreSQL's ``json_array_elements``) with
   ``ON CONFLICT DO NOTHING`` on the de-duplication key and ``RETURNING`` the key of each row
   it inserted, so a redelivered event is skipped by the database, also when two deliveries
   race; one bound parameter whatever the size, so SQLite's limit on bound parameters never
   splits it;
3. one statement notes each tenant's delivery (``INSERT ... ON CONFLICT DO UPDATE``), which
   keeps webhook mode (:mod:`~xero_panel.sync.webhook_mode`), plus one for the drop count.

On SQLite the transaction's first statement is the insert (the read runs before it, outside
it), so a second delivery arriving meanwhile waits on SQLite's busy timeout for a
transaction of milliseconds instead of failing with "database is locked". Other databases
store the events one by one (:func:`~xero_panel.sync.webhook_retries.record_new_events`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, case, literal, or_, select, true
from sqlalchemy import func as sql
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..column_types import UTCDateTime
from ..models import Organisation, WebhookEvent, WebhookTenant
from .webhook_retries import event_key, record_new_events

__all__ = ["UNKNOWN_TENANTS", "Ingested", "dropped_events", "store_delivery"]

#: The ``xero_panel_webhook_tenant`` row whose ``dropped_events`` counts the events of
#: tenants no CRM account uses (no tenant id is ``*``).
UNKNOWN_TENANTS = "*"
#: Tenant ids looked up per read (a bound on one statement's parameters).
_LOOKUP_CHUNK = 500
_KEY = ("tenant_id", "event_category", "resource_id", "event_date")


@dataclass(frozen=True)
class Ingested:
    """What storing one delivery did."""

    #: The events stored now (new): hand these to the background.
    fresh: list[dict[str, Any]] = field(default_factory=list)
    #: Events dropped because no CRM account uses their organisation.
    dropped: int = 0
    #: The known tenants the delivery named.
    tenants: list[str] = field(default_factory=list)


def store_delivery(
    session: Session,
    events: Sequence[Mapping[str, Any]],
    *,
    now: dt.datetime,
    retry_after: float,
    quiet_after: float,
) -> Ingested:
    """Store a delivery's new events of known tenants, note each tenant's delivery, count
    the dropped events; commit. Database errors propagate (the route answers 503).

    :param retry_after: seconds after which a stored event not processed is due again.
    :param quiet_after: ``XERO_PANEL_WEBHOOK_QUIET_AFTER``: a delivery after a gap this long
        (or after a failure) starts a new stretch of webhook mode.
    """
    keyed: dict[tuple[str, ...], tuple[dict[str, str], Mapping[str, Any]]] = {}
    for event in events:
        key = event_key(event)
        if key["tenant_id"] and key["resource_id"]:
            keyed.setdefault(tuple(key[c] for c in _KEY), (key, event))
    known = _known_tenants(session, {key["tenant_id"] for key, _ in keyed.values()})
    session.commit()  # end the read, so the write transaction starts with a write
    rows = [(k, e) for k, e in keyed.values() if k["tenant_id"] in known]
    dropped = len(keyed) - len(rows)
    fresh: list[dict[str, Any]] = []
    if rows:
        fresh = _insert(session, rows, now, now + dt.timedelta(seconds=retry_after))
        _note_delivery(session, sorted(known), now, quiet_after)
    if dropped:
        _count_dropped(session, dropped)
    session.commit()
    return Ingested(fresh=fresh, dropped=dropped, tenants=sorted(known))


def dropped_events(session: Session) -> int:
    """Events dropped so far because no CRM account uses their organisation (every process)."""
    row = session.get(WebhookTenant, UNKNOWN_TENANTS)
    return row.dropped_events if row is not None else 0


def _known_tenants(session: Session, tenant_ids: Iterable[str]) -> set[str]:
    wanted = sorted(tenant_ids)
    known: set[str] = set()
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        known.update(
            session.scalars(
                select(Organisation.tenant_id)
                .where(Organisation.tenant_id.in_(chunk), Organisation.selected.is_(True))
                .distinct()
            )
        )
    return known


def _insert(
    session: Session,
    rows: Sequence[tuple[dict[str, str], Mapping[str, Any]]],
    received: dt.datetime,
    due: dt.datetime,
) -> list[dict[str, Any]]:
    dialect = session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        session.rollback()
        return record_new_events(session, [e for _, e in rows], (due - received).total_seconds())
    data = json.dumps(
        [
            [k["tenant_id"], k["event_category"], _event_type(e), k["resource_id"], k["event_date"]]
            for k, e in rows
        ],
        separators=(",", ":"),
    )
    columns = [*_KEY[:2], "event_type", *_KEY[2:]]
    if dialect == "sqlite":
        source = sql.json_each(literal(data, String())).table_valued("value").alias("delivery")
        items: list[ColumnElement[Any]] = [
            sql.json_extract(source.c.value, f"$[{i}]") for i in range(5)
        ]
        insert_ = sqlite.insert(WebhookEvent)
    else:
        source = (
            sql.json_array_elements(sql.cast(literal(data, String()), postgresql.JSON))
            .table_valued("value")
            .alias("delivery")
        )
        items = [source.c.value.op("->>")(literal(i, Integer())) for i in range(5)]
        insert_ = postgresql.insert(WebhookEvent)  # type: ignore[assignment]
    values: list[ColumnElement[Any]] = [
        *items,
        literal(received, UTCDateTime()),
        literal(due, UTCDateTime()),
        literal(0, Integer()),
    ]
    statement = (
        insert_.from_select(
            [*columns, "received_at", "next_attempt_at", "attempts"],
            select(*values).select_from(source).where(true()),
        )
        .on_conflict_do_nothing(index_elements=list(_KEY))
        .returning(*(getattr(WebhookEvent, c) for c in _KEY))
    )
    inserted = {tuple(row) for row in session.execute(statement)}
    return [dict(e) for k, e in rows if tuple(k[c] for c in _KEY) in inserted]


def _event_type(event: Mapping[str, Any]) -> str:
    return str(event.get("eventType", ""))[:20]


def _upsert(session: Session) -> Any:
    return (sqlite if session.get_bind().dialect.name == "sqlite" else postgresql).insert


def _note_delivery(
    session: Session, tenant_ids: Sequence[str], now: dt.datetime, quiet_after: float
) -> None:
    insert_ = _upsert(session)(WebhookTenant).values(
        [{"tenant_id": t, "last_delivery_at": now, "arriving_since": now} for t in tenant_ids]
    )
    gap = literal(now - dt.timedelta(seconds=quiet_after), UTCDateTime())
    new_stretch = or_(
        WebhookTenant.arriving_since.is_(None),
        WebhookTenant.last_delivery_at.is_(None),
        WebhookTenant.failed_at.is_not(None),
        WebhookTenant.last_delivery_at < gap,
    )
    session.execute(
        insert_.on_conflict_do_update(
            index_elements=["tenant_id"],
            set_={
                "last_delivery_at": insert_.excluded.last_delivery_at,
                "arriving_since": case(
                    (new_stretch, insert_.excluded.arriving_since),
                    else_=WebhookTenant.arriving_since,
                ),
                "failed_at": None,
                "failure": None,
            },
        )
    )


def _count_dropped(session: Session, dropped: int) -> None:
    insert_ = _upsert(session)(WebhookTenant).values(
        tenant_id=UNKNOWN_TENANTS, dropped_events=dropped
    )
    session.execute(
        insert_.on_conflict_do_update(
            index_elements=["tenant_id"],
            set_={"dropped_events": WebhookTenant.dropped_events + insert_.excluded.dropped_events},
        )
    )

"""The sync's bookkeeping: webhook events received (:class:`WebhookEvent`, also the queue
of their retries), when each tenant's webhooks were last heard (:class:`WebhookTenant`),
Xero calls counted per tenant and day (:class:`CallDay`) and the IDs an unfinished
reconciliation has listed (:class:`ReconcileSeen`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from .base import Base, UTCDateTime
from .xero_cache import ID_LENGTH

__all__ = ["CallDay", "ReconcileSeen", "WebhookEvent", "WebhookTenant"]


class WebhookEvent(Base):
    """A webhook event already received, so a redelivery is not processed twice."""

    __tablename__ = "xero_panel_webhook_event"
    __table_args__ = (UniqueConstraint("tenant_id", "event_category", "resource_id", "event_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    event_category: Mapped[str] = mapped_column(String(20))
    event_type: Mapped[str] = mapped_column(String(20))
    resource_id: Mapped[str] = mapped_column(String(64))
    #: ``eventDateUtc`` exactly as Xero sent it (part of the de-duplication key).
    event_date: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Failed fetches of the event's resource so far, and when the next try is due
    #: (``None``: not scheduled: processed, never tried, or given up).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookTenant(Base):
    """How one tenant's webhooks stand: the last accepted delivery that named it, since when
    they have been arriving, and the last failure (see :mod:`xero_panel.sync.webhook_mode`).

    One row per tenant some CRM account uses, written by the webhook route; the row
    :data:`~xero_panel.sync.webhook_ingest.UNKNOWN_TENANTS` counts the events dropped because
    no CRM account uses their organisation.
    """

    __tablename__ = "xero_panel_webhook_tenant"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_delivery_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Since when deliveries have arrived without a gap past the quiet threshold or a failure.
    arriving_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failure: Mapped[str | None] = mapped_column(Text)
    dropped_events: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CallDay(Base):
    """Xero calls made for one tenant on one UTC day, by every process that shares the
    database (the count ``flask xero-panel status`` shows without Redis)."""

    __tablename__ = "xero_panel_call_day"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    #: The UTC day, ``YYYY-MM-DD``.
    day: Mapped[str] = mapped_column(String(10))
    calls: Mapped[int] = mapped_column(Integer, default=0)


class ReconcileSeen(Base):
    """A contact or an open invoice that a reconciliation run in chunks found in Xero's
    lists: kept between its chunks, so that its end knows every ID listed (the contacts the
    cache holds and Xero no longer has are removed, the open invoices Xero did not list are
    fetched by ID). Deleted when the reconciliation ends or starts again."""

    __tablename__ = "xero_panel_reconcile_seen"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_organisation.id", ondelete="CASCADE"), primary_key=True
    )
    #: ``contact`` or ``invoice``.
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    xero_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)

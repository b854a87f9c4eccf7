"""The plugin's tables: connections, organisations, the cache of Xero data, pins and links.

The models are declared once, on the plugin's own declarative base, and
:meth:`~xero_panel.XeroPanel.init_app` adds their tables to the host's ``db.metadata``, so
the host's ``db.create_all()`` creates them; the plugin's own migrations
(:mod:`xero_panel.schema`) create and upgrade them too. Queries go through the host's
``db.session`` on its default engine.

Every cached row hangs off an :class:`Organisation`, which hangs off the
:class:`Connection` of one CRM account: removing a connection deletes everything that
CRM account had, and no query can reach another CRM account's rows without naming it.

Table names start with ``xero_panel_`` so they cannot clash with the host's.

One module per concept: :mod:`~xero_panel.models.connection` (connections, organisations,
sync state), :mod:`~xero_panel.models.xero_cache` (contacts, invoices, payments),
:mod:`~xero_panel.models.crm_records` (pins, links), :mod:`~xero_panel.models.bookkeeping`
(webhook events, call counts); every name is importable from here.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from .base import Base, Money, UTCDateTime
from .bookkeeping import CallDay, ReconcileSeen, WebhookEvent, WebhookTenant
from .connection import SHOWING_CACHE, Connection, ConnectionStatus, Organisation, SyncState
from .crm_records import Pin, RecordLink
from .xero_cache import ID_LENGTH, ContactEmail, DocumentKind, Invoice, Payment, XeroContact

__all__ = [
    "ID_LENGTH",
    "SHOWING_CACHE",
    "Base",
    "CallDay",
    "Connection",
    "ConnectionStatus",
    "ContactEmail",
    "DocumentKind",
    "Invoice",
    "Money",
    "Organisation",
    "Payment",
    "Pin",
    "ReconcileSeen",
    "RecordLink",
    "SyncState",
    "UTCDateTime",
    "WebhookEvent",
    "WebhookTenant",
    "XeroContact",
    "mirror_tables_into",
]


def mirror_tables_into(metadata: MetaData) -> None:
    """Add the plugin's tables to the host's metadata (once), so ``db.create_all()`` and
    ``db.drop_all()`` include them (a host's own Alembic autogenerate leaves them out with
    :func:`xero_panel.schema.include_name` and :func:`~xero_panel.schema.include_object`).

    :meta private:
    """
    for table in Base.metadata.sorted_tables:
        if table.name not in metadata.tables:
            table.to_metadata(metadata)

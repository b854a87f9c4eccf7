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
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar, Literal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from .clock import utcnow
from .column_types import Money as Money
from .column_types import UTCDateTime as UTCDateTime

#: Connection states: ``pending`` after OAuth until an admin presses *Save*; ``active``;
#: ``needs_reconnect`` when Xero stopped accepting the tokens.
ConnectionStatus = Literal["pending", "active", "needs_reconnect"]
#: The cached document kinds: sales invoices and customer credit notes.
DocumentKind = Literal["invoice", "credit_note"]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The plugin's declarative base; its tables are mirrored into the host's metadata.

    :meta private:
    """

    metadata = MetaData(naming_convention=_NAMING)


class Connection(Base):
    """One CRM account's grant to Xero: encrypted tokens and who connected it."""

    __tablename__ = "xero_panel_connection"
    # Not ``unique=True`` on the column: a table-level constraint keeps its name when
    # init_app copies the table into the host's metadata.
    __table_args__ = (UniqueConstraint("crm_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The host's CRM account key (from the account resolver); one connection each.
    crm_account: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    #: The whole OAuth token (access, refresh, expiry, scope) as Fernet ciphertext.
    token_ciphertext: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    scopes: Mapped[str] = mapped_column(Text, default="")
    #: From the id_token: the Xero user who connected.
    connected_by_email: Mapped[str | None] = mapped_column(String(320))
    connected_by_name: Mapped[str | None] = mapped_column(String(255))
    xero_user_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Why the connection needs an admin's attention (a failed *Test connection* or token
    #: refresh), and when; cleared by the next call that succeeds.
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: The sign-in (Xero's ``authEventId``) of the stored grant.
    auth_event_id: Mapped[str | None] = mapped_column(String(64))
    #: Set while an admin reconnects a saved connection (between Xero's consent and Save):
    #: the panel keeps showing the cache with a notice.
    reconnect_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    organisations: Mapped[list[Organisation]] = relationship(
        back_populates="connection", cascade="all, delete-orphan", passive_deletes=True
    )


class Organisation(Base):
    """A Xero organisation (tenant) the grant covers; ``selected`` ones feed the panel."""

    __tablename__ = "xero_panel_organisation"
    __table_args__ = (UniqueConstraint("connection_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_connection.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    #: The ``id`` of Xero's connection object (what ``DELETE /connections/{id}`` takes).
    xero_connection_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    short_code: Mapped[str | None] = mapped_column(String(32))
    base_currency: Mapped[str | None] = mapped_column(String(3))
    #: Xero's ``CountryCode`` (``NZ``): the panel's locale when the host gives none.
    country_code: Mapped[str | None] = mapped_column(String(2))
    #: IANA zone name ("today" for due dates is the date in this zone).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    selected: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The sign-in (``authEventId``) that last granted this organisation to the app.
    auth_event_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    connection: Mapped[Connection] = relationship(back_populates="organisations")
    sync_state: Mapped[SyncState | None] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", passive_deletes=True
    )


class SyncState(Base):
    """Where the cache of one organisation stands: progress, freshness and errors."""

    __tablename__ = "xero_panel_sync_state"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_organisation.id", ondelete="CASCADE"), primary_key=True
    )
    #: ``idle``, ``running`` or ``failed``.
    status: Mapped[str] = mapped_column(String(20), default="idle")
    phase: Mapped[str | None] = mapped_column(String(40))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    full_sync_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    full_sync_completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: When the cache last matched Xero (a successful full or incremental sync).
    fresh_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: The newest ``UpdatedDateUTC`` seen, per resource, for ``If-Modified-Since``.
    invoices_modified_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    contacts_modified_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    credit_notes_modified_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reconciled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Where an unfinished full sync resumes: the phase (``organisation``, ``contacts``,
    #: ``invoices``, ``credit_notes``) and how many of its pages are stored (committed with
    #: each page); ``None`` when no full sync is unfinished.
    resume_phase: Mapped[str | None] = mapped_column(String(20))
    resume_page: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: When the unfinished full sync began (its watermarks never pass this moment).
    resume_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship(back_populates="sync_state")


class XeroContact(Base):
    """A cached Xero contact, for matching CRM records to Xero customers."""

    __tablename__ = "xero_panel_contact"
    __table_args__ = (
        UniqueConstraint("organisation_id", "contact_id"),
        Index("ix_xero_panel_contact_name_key", "organisation_id", "name_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_organisation.id", ondelete="CASCADE")
    )
    contact_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    #: The name lower-cased with all white space removed, for account matching.
    name_key: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    is_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    is_supplier: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_to_contact_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    emails: Mapped[list[ContactEmail]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", passive_deletes=True
    )


class ContactEmail(Base):
    """One email address of a cached contact (its own, or a contact person's)."""

    __tablename__ = "xero_panel_contact_email"
    __table_args__ = (Index("ix_xero_panel_contact_email_key", "organisation_id", "email_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_pk: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_contact.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_organisation.id", ondelete="CASCADE")
    )
    #: The address lower-cased and stripped.
    email_key: Mapped[str] = mapped_column(String(320))

    contact: Mapped[XeroContact] = relationship(back_populates="emails")


class Invoice(Base):
    """A cached sales invoice (``ACCREC``) or customer credit note (``ACCRECCREDIT``)."""

    __tablename__ = "xero_panel_invoice"
    __table_args__ = (
        UniqueConstraint("organisation_id", "xero_id"),
        Index(
            "ix_xero_panel_invoice_panel",
            "organisation_id",
            "contact_id",
            "date",
            "number",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_organisation.id", ondelete="CASCADE")
    )
    #: ``InvoiceID`` or ``CreditNoteID``.
    xero_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default="invoice")
    #: Xero's ``Type`` (``ACCREC`` or ``ACCRECCREDIT``).
    xero_type: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(255), default="")
    reference: Mapped[str | None] = mapped_column(String(255))
    contact_id: Mapped[str] = mapped_column(String(64))
    #: Xero's ``Status``: AUTHORISED, PAID, VOIDED, DELETED, DRAFT, SUBMITTED.
    status: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Money())
    #: ``AmountDue`` for an invoice, ``RemainingCredit`` for a credit note.
    balance: Mapped[Decimal] = mapped_column(Money())
    amount_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    amount_credited: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    fully_paid_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    payments: Mapped[list[Payment]] = relationship(
        back_populates="invoice",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(Payment.date, Payment.id)",
    )


class Payment(Base):
    """One payment (instalment) against a cached invoice."""

    __tablename__ = "xero_panel_payment"
    #: Two syncs storing the same invoice at once must not both add its payments.
    __table_args__ = (UniqueConstraint("invoice_pk", "payment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_pk: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_invoice.id", ondelete="CASCADE"), index=True
    )
    payment_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    reference: Mapped[str | None] = mapped_column(String(255))

    invoice: Mapped[Invoice] = relationship(back_populates="payments")


class _RecordScoped:
    """What :class:`Pin` and :class:`RecordLink` share: a row of one CRM record (in one CRM
    account) naming one thing (:attr:`_target_column`) in one Xero organisation. The
    subclass's columns sort between ``organisation_id`` and ``created_at``, as created.

    :meta private:
    """

    _target_column: ClassVar[str]

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-1)
    crm_account: Mapped[str] = mapped_column(String(128), sort_order=-1)
    record_type: Mapped[str] = mapped_column(String(20), sort_order=-1)
    record_id: Mapped[str] = mapped_column(String(128), sort_order=-1)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_organisation.id", ondelete="CASCADE"), sort_order=-1
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, sort_order=1)

    @classmethod
    def of_record(
        cls,
        crm_account: str | ColumnElement[str],
        record_type: str | ColumnElement[str],
        record_id: str | ColumnElement[str],
        organisation_ids: Any,
    ) -> tuple[ColumnElement[bool], ...]:
        """The conditions that select a record's rows in some organisations."""
        return (
            cls.crm_account == crm_account,
            cls.record_type == record_type,
            cls.record_id == record_id,
            cls.organisation_id.in_(list(organisation_ids)),
        )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        record = ("crm_account", "record_type", "record_id")
        return (
            UniqueConstraint(*record, "organisation_id", cls._target_column),
            Index(f"ix_{cls.__tablename__}_record", *record),  # type: ignore[attr-defined]
        )


class Pin(_RecordScoped, Base):
    """An invoice pinned to a CRM record, shared by everyone in that CRM account."""

    __tablename__ = "xero_panel_pin"
    _target_column = "xero_invoice_id"

    xero_invoice_id: Mapped[str] = mapped_column(String(64))
    pinned_by: Mapped[str | None] = mapped_column(String(320))


class RecordLink(_RecordScoped, Base):
    """An explicit link from a CRM record to a Xero contact; it overrides matching."""

    __tablename__ = "xero_panel_record_link"
    _target_column = "contact_id"

    contact_id: Mapped[str] = mapped_column(String(64))
    linked_by: Mapped[str | None] = mapped_column(String(320))


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


def mirror_tables_into(metadata: MetaData) -> None:
    """Add the plugin's tables to the host's metadata (once), so ``db.create_all()`` and
    ``db.drop_all()`` include them (a host's own Alembic autogenerate leaves them out with
    :func:`xero_panel.schema.include_name` and :func:`~xero_panel.schema.include_object`).

    :meta private:
    """
    for table in Base.metadata.sorted_tables:
        if table.name not in metadata.tables:
            table.to_metadata(metadata)

"""The cache of Xero data: contacts (:class:`XeroContact`, :class:`ContactEmail`), sales
invoices and customer credit notes (:class:`Invoice`) and their payments (:class:`Payment`),
each row in one :class:`~xero_panel.models.connection.Organisation`.

Xero documents no length for most of its text (names, numbers, references, even codes), so
what Xero sends is stored whole (``Text``) on every database; only the IDs the cache keys on
have a length (:data:`ID_LENGTH`), and a record with a longer one is skipped and counted
(:class:`~xero_panel.sync.cache_writer.CacheWriter`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Money, UTCDateTime

__all__ = ["ID_LENGTH", "ContactEmail", "DocumentKind", "Invoice", "Payment", "XeroContact"]

#: The longest Xero ID the cache keys on (Xero's IDs are 36-character GUIDs); a record whose
#: ID is longer is skipped and counted, not stored.
ID_LENGTH = 64
#: The cached document kinds: sales invoices and customer credit notes.
DocumentKind = Literal["invoice", "credit_note"]


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
    contact_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    name: Mapped[str] = mapped_column(Text)
    #: The name lower-cased with all white space removed, for account matching.
    name_key: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="ACTIVE")
    is_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    is_supplier: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_to_contact_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
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
    email_key: Mapped[str] = mapped_column(Text)

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
    xero_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(20), default="invoice")
    #: Xero's ``Type`` (``ACCREC`` or ``ACCRECCREDIT``).
    xero_type: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    #: Xero's ``Status``: AUTHORISED, PAID, VOIDED, DELETED, DRAFT, SUBMITTED.
    status: Mapped[str] = mapped_column(Text)
    date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(Text)
    total: Mapped[Decimal] = mapped_column(Money())
    #: ``AmountDue`` for an invoice, ``RemainingCredit`` for a credit note.
    balance: Mapped[Decimal] = mapped_column(Money())
    amount_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    amount_credited: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    fully_paid_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Xero's ``ExpectedPaymentDate``: the date the organisation expects an unpaid invoice
    #: to be paid, when it has set one (never predicted by the plugin).
    expected_payment_on: Mapped[dt.date | None] = mapped_column(Date)
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
    payment_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    reference: Mapped[str | None] = mapped_column(Text)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")

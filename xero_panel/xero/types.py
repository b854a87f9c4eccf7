"""Frozen dataclasses for the parts of Xero's JSON the plugin reads, and their parsers.

Each ``parse_*`` function takes one object from Xero's JSON (decoded with
:func:`xero_panel.xero.dates.loads_json`, so amounts are already :class:`~decimal.Decimal`) and
returns a dataclass with Python types: dates as :class:`~datetime.date`, timestamps as aware
UTC :class:`~datetime.datetime`, money as :class:`~decimal.Decimal`.

Closed sets (types, statuses) are :data:`~typing.Literal` types. Xero adds values over time, so a
value we do not know becomes ``"UNKNOWN"`` (and is logged) instead of failing a whole sync.
A missing required field raises :class:`ValueError` naming the record and the field.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from .dates import parse_xero_datetime, to_decimal
from .fields import bool_, decimal, opt_date, opt_decimal, opt_str, req, req_date, req_datetime
from .timezones import xero_timezone_to_iana

__all__ = [
    "Connection",
    "Contact",
    "ContactStatus",
    "CreditNote",
    "CreditNoteStatus",
    "CreditNoteType",
    "Edition",
    "Invoice",
    "InvoiceStatus",
    "InvoiceType",
    "Organisation",
    "Pagination",
    "Payment",
    "PaymentStatus",
    "TenantType",
    "parse_connection",
    "parse_contact",
    "parse_credit_note",
    "parse_invoice",
    "parse_organisation",
    "parse_pagination",
    "parse_payment",
]

logger = logging.getLogger("xero_panel.xero.types")

#: ``Invoice.Type``; sales invoices are ``ACCREC``.
InvoiceType = Literal[
    "ACCPAY",
    "ACCPAYCREDIT",
    "APOVERPAYMENT",
    "APPREPAYMENT",
    "ACCREC",
    "ACCRECCREDIT",
    "AROVERPAYMENT",
    "ARPREPAYMENT",
    "UNKNOWN",
]
#: ``Invoice.Status``.
InvoiceStatus = Literal["DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED", "UNKNOWN"]
#: ``CreditNote.Type``: ``ACCRECCREDIT`` is a customer credit note.
CreditNoteType = Literal["ACCPAYCREDIT", "ACCRECCREDIT", "UNKNOWN"]
#: ``CreditNote.Status`` (the same set as invoices).
CreditNoteStatus = InvoiceStatus
#: ``Contact.ContactStatus``.
ContactStatus = Literal["ACTIVE", "ARCHIVED", "GDPRREQUEST", "UNKNOWN"]
#: ``Payment.Status``.
PaymentStatus = Literal["AUTHORISED", "DELETED", "UNKNOWN"]
#: ``Organisation.Edition``: ``PARTNER`` organisations cannot use invoicing.
Edition = Literal["BUSINESS", "PARTNER", "UNKNOWN"]
#: ``tenantType`` on ``/connections``.
TenantType = Literal["ORGANISATION", "PRACTICE", "UNKNOWN"]

_NIL_UUID = "00000000-0000-0000-0000-000000000000"


def _closed(value: object, allowed: Any, field: str) -> Any:
    """Return ``value`` if it is one of the Literal ``allowed``; else ``"UNKNOWN"``."""
    options: tuple[str, ...] = get_args(allowed)
    if isinstance(value, str) and value in options and value != "UNKNOWN":
        return value
    logger.warning("Unknown Xero %s %r read as UNKNOWN", field, value)
    return "UNKNOWN"


# --------------------------------------------------------------------------------------------
# Organisation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Organisation:
    """A Xero organisation (``GET /Organisation``).

    :ivar timezone: IANA zone name for "today" in this organisation; ``"UTC"`` when Xero sent a
        value we cannot map (see :attr:`xero_timezone` for what it sent).
    :ivar xero_timezone: Xero's own value, e.g. ``NEWZEALANDSTANDARDTIME``.
    :ivar short_code: for deep links into Xero (``!mBdtL``).
    :ivar status: ``OrganisationStatus``; ``ACTIVE`` when the API can reach it.
    """

    organisation_id: str
    name: str
    short_code: str | None
    base_currency: str
    timezone: str
    xero_timezone: str | None
    country_code: str | None
    edition: Edition
    status: str


def parse_organisation(d: Mapping[str, Any]) -> Organisation:
    """Parse one item of ``Organisations[]``."""
    raw_tz = opt_str(d, "Timezone")
    iana = xero_timezone_to_iana(raw_tz)
    if iana is None and raw_tz is not None:
        logger.warning("Unknown Xero timezone %r; using UTC", raw_tz)
    edition = d.get("Edition")
    return Organisation(
        organisation_id=str(req(d, "OrganisationID", "Organisation")),
        name=str(req(d, "Name", "Organisation")),
        short_code=opt_str(d, "ShortCode"),
        base_currency=str(req(d, "BaseCurrency", "Organisation")),
        timezone=iana or "UTC",
        xero_timezone=raw_tz,
        country_code=opt_str(d, "CountryCode"),
        edition="BUSINESS" if edition is None else _closed(edition, Edition, "Edition"),
        status=opt_str(d, "OrganisationStatus") or "ACTIVE",
    )


# --------------------------------------------------------------------------------------------
# Contacts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    """A Xero contact (``GET /Contacts``).

    :ivar email: ``EmailAddress`` (``None`` when empty).
    :ivar person_emails: the non-empty ``ContactPersons[].EmailAddress`` values, in Xero's order.
    :ivar merged_to_contact_id: set when this contact was merged into another one.
    :ivar updated_at: ``UpdatedDateUTC``; ``None`` only if Xero left it out.
    """

    contact_id: str
    name: str
    first_name: str | None
    last_name: str | None
    email: str | None
    person_emails: tuple[str, ...]
    status: ContactStatus
    is_customer: bool
    is_supplier: bool
    merged_to_contact_id: str | None
    updated_at: datetime | None


def parse_contact(d: Mapping[str, Any]) -> Contact:
    """Parse one item of ``Contacts[]``."""
    persons = d.get("ContactPersons") or []
    person_emails = tuple(
        email for p in persons if (email := opt_str(p, "EmailAddress")) is not None
    )
    merged = opt_str(d, "MergedToContactID")
    updated = d.get("UpdatedDateUTC")
    status = d.get("ContactStatus")
    return Contact(
        contact_id=str(req(d, "ContactID", "Contact")),
        name=opt_str(d, "Name") or "",
        first_name=opt_str(d, "FirstName"),
        last_name=opt_str(d, "LastName"),
        email=opt_str(d, "EmailAddress"),
        person_emails=person_emails,
        status="ACTIVE" if status is None else _closed(status, ContactStatus, "ContactStatus"),
        is_customer=bool_(d, "IsCustomer"),
        is_supplier=bool_(d, "IsSupplier"),
        # Xero sends the nil UUID for "not merged" in some responses.
        merged_to_contact_id=None if merged in (None, _NIL_UUID) else merged,
        updated_at=None if not updated else parse_xero_datetime(updated),
    )


# --------------------------------------------------------------------------------------------
# Payments, invoices, credit notes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment, as embedded in an invoice's ``Payments[]`` (or from ``GET /Payments``).

    :ivar amount: in the invoice's currency.
    :ivar status: payments embedded in an invoice carry no status; they count as ``AUTHORISED``.
    """

    payment_id: str
    date: dt.date
    amount: Decimal
    reference: str | None
    status: PaymentStatus
    currency_rate: Decimal | None


def parse_payment(d: Mapping[str, Any]) -> Payment:
    """Parse one payment object."""
    status = d.get("Status")
    return Payment(
        payment_id=str(req(d, "PaymentID", "Payment")),
        date=req_date(d, "Date", "Payment"),
        amount=to_decimal(req(d, "Amount", "Payment")),
        reference=opt_str(d, "Reference"),
        status="AUTHORISED" if status is None else _closed(status, PaymentStatus, "Payment Status"),
        currency_rate=opt_decimal(d, "CurrencyRate"),
    )


@dataclass(frozen=True, slots=True)
class Invoice:
    """A Xero invoice (``GET /Invoices``). Sales invoices have :attr:`type` ``ACCREC``.

    :ivar number: ``InvoiceNumber`` (``""`` when Xero has none, e.g. some bills).
    :ivar date: the invoice date (a calendar date, never shifted by a timezone).
    :ivar fully_paid_on: ``FullyPaidOnDate`` once the invoice is paid.
    :ivar expected_payment_on: ``ExpectedPaymentDate``, when the organisation has set one.
    :ivar updated_at: ``UpdatedDateUTC``, aware UTC.
    :ivar payments: the invoice's payments (instalments), in Xero's order.
    """

    invoice_id: str
    number: str
    type: InvoiceType
    status: InvoiceStatus
    contact_id: str | None
    contact_name: str | None
    date: dt.date
    due_date: dt.date | None
    currency: str
    total: Decimal
    amount_due: Decimal
    amount_paid: Decimal
    amount_credited: Decimal
    fully_paid_on: dt.date | None
    updated_at: datetime
    reference: str | None
    payments: tuple[Payment, ...]
    expected_payment_on: dt.date | None = None


def _document_fields(d: Mapping[str, Any], what: str, types: Any) -> dict[str, Any]:
    """The fields invoices and credit notes (``what``) share."""
    return {
        "number": opt_str(d, f"{what}Number") or "",
        "type": _closed(req(d, "Type", what), types, f"{what} Type"),
        "status": _closed(req(d, "Status", what), InvoiceStatus, f"{what} Status"),
        "contact_id": opt_str(d.get("Contact") or {}, "ContactID"),
        "date": req_date(d, "Date", what),
        "currency": str(req(d, "CurrencyCode", what)),
        "total": decimal(d, "Total"),
        "updated_at": req_datetime(d, "UpdatedDateUTC", what),
        "reference": opt_str(d, "Reference"),
    }


def parse_invoice(d: Mapping[str, Any]) -> Invoice:
    """Parse one item of ``Invoices[]``."""
    return Invoice(
        invoice_id=str(req(d, "InvoiceID", "Invoice")),
        **_document_fields(d, "Invoice", InvoiceType),
        contact_name=opt_str(d.get("Contact") or {}, "Name"),
        due_date=opt_date(d, "DueDate"),
        amount_due=decimal(d, "AmountDue"),
        amount_paid=decimal(d, "AmountPaid"),
        amount_credited=decimal(d, "AmountCredited"),
        fully_paid_on=opt_date(d, "FullyPaidOnDate"),
        expected_payment_on=opt_date(d, "ExpectedPaymentDate"),
        payments=tuple(parse_payment(p) for p in d.get("Payments") or ()),
    )


@dataclass(frozen=True, slots=True)
class CreditNote:
    """A Xero credit note (``GET /CreditNotes``). Customer credit notes are ``ACCRECCREDIT``.

    :ivar number: ``CreditNoteNumber`` (``""`` for drafts without one).
    :ivar remaining_credit: the part not yet allocated or refunded.
    """

    credit_note_id: str
    number: str
    type: CreditNoteType
    status: CreditNoteStatus
    contact_id: str | None
    date: dt.date
    currency: str
    total: Decimal
    remaining_credit: Decimal
    updated_at: datetime
    reference: str | None


def parse_credit_note(d: Mapping[str, Any]) -> CreditNote:
    """Parse one item of ``CreditNotes[]``."""
    return CreditNote(
        credit_note_id=str(req(d, "CreditNoteID", "CreditNote")),
        **_document_fields(d, "CreditNote", CreditNoteType),
        remaining_credit=decimal(d, "RemainingCredit"),
    )


# --------------------------------------------------------------------------------------------
# Identity API and envelopes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connection:
    """One tenant this app is connected to (``GET /connections``).

    :ivar id: the connection id, which ``DELETE /connections/{id}`` takes.
    :ivar tenant_id: the organisation id, sent as the ``xero-tenant-id`` header.
    """

    id: str
    tenant_id: str
    tenant_name: str | None
    tenant_type: TenantType
    auth_event_id: str | None
    created_at: datetime
    updated_at: datetime


def parse_connection(d: Mapping[str, Any]) -> Connection:
    """Parse one item of the ``/connections`` array."""
    tenant_type = d.get("tenantType")
    return Connection(
        id=str(req(d, "id", "connection")),
        tenant_id=str(req(d, "tenantId", "connection")),
        tenant_name=opt_str(d, "tenantName"),
        tenant_type=_closed(tenant_type, TenantType, "tenantType"),
        auth_event_id=opt_str(d, "authEventId"),
        created_at=parse_xero_datetime(req(d, "createdDateUtc", "connection")),
        updated_at=parse_xero_datetime(req(d, "updatedDateUtc", "connection")),
    )


@dataclass(frozen=True, slots=True)
class Pagination:
    """Xero's ``pagination`` envelope object."""

    page: int
    page_size: int
    page_count: int
    item_count: int


def parse_pagination(d: Mapping[str, Any] | None) -> Pagination | None:
    """Parse the ``pagination`` object of a list response, if there is a usable one."""
    if not d:
        return None
    try:
        return Pagination(
            page=int(d["page"]),
            page_size=int(d["pageSize"]),
            page_count=int(d["pageCount"]),
            item_count=int(d["itemCount"]),
        )
    except (KeyError, TypeError, ValueError):
        return None

"""The emulator's in-memory organisations: contacts, invoices and credit notes in Xero's shape.

Objects are kept as the dictionaries Xero itself would send, with exact :class:`~decimal.Decimal`
money and ``/Date(...)/`` dates, so reading them back gives the same fields and values that were
seeded. The ``...String`` companions of top-level dates are derived when rendering.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from .xero_json import (
    MONEY_PLACES,
    RATE_PLACES,
    format_iso_date,
    format_iso_utc,
    format_ms_date,
    parse_xero_date,
    to_decimal,
)

__all__ = [
    "CREDIT_NOTE_STATUSES",
    "CREDIT_NOTE_TYPES",
    "INVOICE_STATUSES",
    "INVOICE_TYPES",
    "PAYABLE_TYPES",
    "RECEIVABLE_TYPES",
    "ControlError",
    "Kind",
    "TenantData",
    "contact_summary",
    "date_ms",
    "normalize_object",
    "recompute_credit_note",
    "recompute_invoice",
    "render_object",
]

Kind = Literal["Invoices", "Contacts", "CreditNotes"]

#: Xero's document types: accounts payable (bills) and accounts receivable (sales).
PAYABLE_TYPES = frozenset({"ACCPAY", "ACCPAYCREDIT", "APOVERPAYMENT", "APPREPAYMENT"})
RECEIVABLE_TYPES = frozenset({"ACCREC", "ACCRECCREDIT", "AROVERPAYMENT", "ARPREPAYMENT"})
INVOICE_TYPES = PAYABLE_TYPES | RECEIVABLE_TYPES
INVOICE_STATUSES = frozenset({"DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED"})
CREDIT_NOTE_TYPES = frozenset({"ACCPAYCREDIT", "ACCRECCREDIT"})
CREDIT_NOTE_STATUSES = INVOICE_STATUSES
CONTACT_STATUSES = frozenset({"ACTIVE", "ARCHIVED", "GDPRREQUEST"})

MONEY_KEYS = frozenset(
    {
        "Amount",
        "AmountDue",
        "AmountPaid",
        "AmountCredited",
        "SubTotal",
        "TotalTax",
        "Total",
        "TotalDiscount",
        "RemainingCredit",
        "AppliedAmount",
        "LineAmount",
        "TaxAmount",
        "BankAmount",
        "Outstanding",
        "Overdue",
        "DiscountAmount",
    }
)
RATE_KEYS = frozenset({"CurrencyRate"})
DATE_KEYS = frozenset(
    {
        "Date",
        "DueDate",
        "FullyPaidOnDate",
        "ExpectedPaymentDate",
        "PlannedPaymentDate",
        "UpdatedDateUTC",
        "PeriodLockDate",
        "EndOfYearLockDate",
        "CreatedDateUTC",
    }
)
_COMPANIONS = {"DateString", "DueDateString", "UpdatedDateUTCString"}

ID_FIELD: dict[Kind, str] = {
    "Invoices": "InvoiceID",
    "Contacts": "ContactID",
    "CreditNotes": "CreditNoteID",
}


class ControlError(ValueError):
    """A control request or seed object is not acceptable; the message says why."""


def _normalize_value(key: str, value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {k: _normalize_value(k, v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize_value(key, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, bool):
        return value
    try:
        if key in MONEY_KEYS:
            return to_decimal(value).quantize(MONEY_PLACES)
        if key in RATE_KEYS:
            return to_decimal(value).quantize(RATE_PLACES)
        if key in DATE_KEYS:
            ms = parse_xero_date(value)
            # Keep a well-formed Xero date verbatim (Organisation.CreatedDateUTC has no offset).
            if isinstance(value, str) and value.startswith("/Date("):
                return value
            return format_ms_date(ms)
    except ValueError as exc:
        raise ControlError(f'field "{path}": {exc}') from None
    if isinstance(value, float):
        return to_decimal(value)
    return value


def normalize_object(obj: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Copy a Xero-shaped object, making money exact Decimals (2 dp, rates 6 dp) and dates
    ``/Date(...)/`` strings. Top-level ``...String`` companions are dropped (they are derived).

    :param where: names the object in error messages (``tenants[0] (Org) Invoices[3]``).
    :raises ControlError: naming the field that is not a number or a date.
    """
    result: dict[str, Any] = {}
    try:
        for key, value in obj.items():
            if key in _COMPANIONS:
                continue
            result[key] = _normalize_value(key, value, key)
    except ControlError as exc:
        raise ControlError(f"{where}: {exc}" if where else str(exc)) from None
    return result


def date_ms(obj: dict[str, Any], key: str) -> int | None:
    """The Unix ms of a stored date field, or ``None`` when absent."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    return parse_xero_date(value)


def render_object(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API sends it: a copy with ``DateString``-style companions placed
    right after their dates, as in Xero's examples."""
    if kind == "Contacts":
        return copy.deepcopy(obj)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "Date" and value:
            out["DateString"] = format_iso_date(parse_xero_date(value))
        elif key == "DueDate" and value:
            out["DueDateString"] = format_iso_date(parse_xero_date(value))
        out[key] = copy.deepcopy(value)
        if key == "UpdatedDateUTC" and value:
            out["UpdatedDateUTCString"] = format_iso_utc(parse_xero_date(value))
    return out


def contact_summary(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact as Xero embeds it in an invoice or credit note of a list response."""
    summary: dict[str, Any] = {"ContactID": contact["ContactID"]}
    if contact.get("ContactNumber"):
        summary["ContactNumber"] = contact["ContactNumber"]
    summary.update(
        {
            "Name": contact.get("Name", ""),
            "Addresses": [],
            "Phones": [],
            "ContactGroups": [],
            "ContactPersons": [],
            "HasValidationErrors": False,
        }
    )
    return summary


def _sum(items: Iterable[dict[str, Any]], key: str) -> Decimal:
    total = Decimal("0.00")
    for item in items:
        if item.get("Status", "AUTHORISED") == "DELETED":
            continue
        value = item.get(key)
        if value is not None:
            total += to_decimal(value)
    return total.quantize(MONEY_PLACES)


def recompute_invoice(invoice: dict[str, Any]) -> None:
    """Make an invoice's totals, AmountPaid, AmountDue, Status and FullyPaidOnDate agree,
    the way Xero keeps them consistent after a change."""
    zero = Decimal("0.00")
    lines = invoice.get("LineItems") or []
    if "Total" not in invoice:
        if lines:
            sub = _sum(lines, "LineAmount")
            tax = _sum(lines, "TaxAmount")
            invoice.setdefault("SubTotal", sub)
            invoice.setdefault("TotalTax", tax)
        sub_total = to_decimal(invoice.get("SubTotal", zero))
        total_tax = to_decimal(invoice.get("TotalTax", zero))
        invoice["Total"] = (sub_total + total_tax).quantize(MONEY_PLACES)
    total = to_decimal(invoice["Total"])
    invoice.setdefault("SubTotal", (total - to_decimal(invoice.get("TotalTax", zero))))
    invoice.setdefault("TotalTax", zero)
    paid = _sum(invoice.get("Payments") or [], "Amount")
    credited = _sum(invoice.get("CreditNotes") or [], "AppliedAmount")
    credited += _sum(invoice.get("Prepayments") or [], "AppliedAmount")
    credited += _sum(invoice.get("Overpayments") or [], "AppliedAmount")
    invoice["AmountPaid"] = paid
    invoice["AmountCredited"] = credited.quantize(MONEY_PLACES)
    status = invoice.get("Status", "DRAFT")
    if status in {"VOIDED", "DELETED"}:
        invoice["AmountDue"] = zero
        invoice.pop("FullyPaidOnDate", None)
        return
    due = (total - paid - credited).quantize(MONEY_PLACES)
    if due < zero:
        raise ControlError(
            f"payments and credits ({(paid + credited).quantize(MONEY_PLACES)}) exceed the "
            f"invoice total ({total})"
        )
    invoice["AmountDue"] = due
    if status == "AUTHORISED" and due == zero and (paid + credited) > zero:
        invoice["Status"] = "PAID"
    elif status == "PAID" and due > zero:
        invoice["Status"] = "AUTHORISED"
    if invoice["Status"] == "PAID":
        dates = [
            parse_xero_date(p["Date"])
            for p in (invoice.get("Payments") or []) + (invoice.get("CreditNotes") or [])
            if p.get("Date")
        ]
        if dates and "FullyPaidOnDate" not in invoice:
            invoice["FullyPaidOnDate"] = format_ms_date(max(dates))
    else:
        invoice.pop("FullyPaidOnDate", None)


def recompute_credit_note(note: dict[str, Any]) -> None:
    """Make a credit note's totals, RemainingCredit and Status agree."""
    zero = Decimal("0.00")
    if "Total" not in note:
        sub_total = to_decimal(note.get("SubTotal", zero))
        total_tax = to_decimal(note.get("TotalTax", zero))
        note["Total"] = (sub_total + total_tax).quantize(MONEY_PLACES)
    total = to_decimal(note["Total"])
    note.setdefault("SubTotal", total - to_decimal(note.get("TotalTax", zero)))
    note.setdefault("TotalTax", zero)
    used = _sum(note.get("Allocations") or [], "Amount") + _sum(
        note.get("Payments") or [], "Amount"
    )
    status = note.get("Status", "DRAFT")
    if status in {"VOIDED", "DELETED"}:
        note["RemainingCredit"] = zero
        return
    remaining = (total - used).quantize(MONEY_PLACES)
    if remaining < zero:
        raise ControlError(f"allocations ({used}) exceed the credit note total ({total})")
    note["RemainingCredit"] = remaining
    if status == "AUTHORISED" and remaining == zero and used > zero:
        note["Status"] = "PAID"
    elif status == "PAID" and remaining > zero:
        note["Status"] = "AUTHORISED"


def _clone(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists and immutable leaves: str, Decimal,
    int, bool, None), several times faster than :func:`copy.deepcopy` on a million objects;
    the immutable leaves are shared."""
    kind = type(value)
    if kind is dict:
        return {k: _clone(v) for k, v in value.items()}
    if kind is list:
        return [_clone(v) for v in value]
    if kind in (str, Decimal, int, bool, float) or value is None:
        return value
    return copy.deepcopy(value)


def new_id() -> str:
    """A fresh random GUID, lower case as Xero writes them."""
    return str(uuid.uuid4())


@dataclass
class TenantData:
    """One organisation: its Organisation record and its objects, in insertion order."""

    tenant_id: str
    tenant_name: str
    tenant_type: str
    organisation: dict[str, Any]
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Bumped by every change made through the emulator (see :meth:`changed`).
    revision: int = 0
    #: Filtered, ordered lists of earlier list calls, valid for one :attr:`revision`
    #: (see :func:`.queries.list_objects`): paging through a large organisation sorts once.
    list_cache: dict[Any, tuple[int, list[dict[str, Any]]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def changed(self) -> None:
        """Note that an object was created or changed: earlier list orders are stale."""
        self.revision += 1
        self.list_cache.clear()

    def objects(self, kind: Kind) -> dict[str, dict[str, Any]]:
        """The live mapping ID -> object for one kind."""
        if kind == "Invoices":
            return self.invoices
        if kind == "Contacts":
            return self.contacts
        return self.credit_notes

    def copy(self) -> TenantData:
        """A deep copy (the seed is copied into the live store on start and reset)."""
        return TenantData(
            tenant_id=self.tenant_id,
            tenant_name=self.tenant_name,
            tenant_type=self.tenant_type,
            organisation=_clone(self.organisation),
            contacts=_clone(self.contacts),
            invoices=_clone(self.invoices),
            credit_notes=_clone(self.credit_notes),
            revision=self.revision,
        )

    def mark_contact_role(
        self, contact_id: str | None, doc_type: str, touch: Callable[[], None] | None = None
    ) -> None:
        """Set IsCustomer / IsSupplier on a contact once it has sales or purchase documents.

        Xero sets these flags automatically and, as its docs warn, does *not* bump the
        contact's UpdatedDateUTC when it does, so If-Modified-Since will not see the change.
        """
        contact = self.contacts.get(contact_id or "")
        if contact is None:
            return
        flag = "IsCustomer" if doc_type.startswith("ACCREC") else "IsSupplier"
        if doc_type.startswith(("ACCREC", "ACCPAY")) and not contact.get(flag):
            contact[flag] = True
            if touch is not None:
                touch()

"""Changing a tenant's data the way Xero would: upserts of contacts, invoices and credit notes,
payments, with UpdatedDateUTC bumps, consistent totals and the webhook events to send."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from .objects import prepare_contact, prepare_document
from .store import (
    ID_FIELD,
    ControlError,
    Kind,
    TenantData,
    normalize_object,
    recompute_credit_note,
    recompute_invoice,
    render_object,
)
from .xero_json import MONEY_PLACES, RATE_PLACES, format_ms_date, parse_xero_date, to_decimal

__all__ = ["Change", "add_payment", "upsert"]

EventType = Literal["CREATE", "UPDATE"]
_CATEGORY: dict[Kind, str] = {
    "Invoices": "INVOICE",
    "Contacts": "CONTACT",
    "CreditNotes": "CREDITNOTE",
}
#: How sales invoices and credit notes are numbered: number field, type, prefix.
_NUMBERING: dict[Kind, tuple[str, str, str]] = {
    "Invoices": ("InvoiceNumber", "ACCREC", "INV-"),
    "CreditNotes": ("CreditNoteNumber", "ACCRECCREDIT", "CN-"),
}
#: Edits Xero makes to a part-paid invoice without bumping UpdatedDateUTC (its docs say so).
_SILENT_ON_PART_PAID = frozenset({"DueDate", "SentToContact", "ExpectedPaymentDate"})


@dataclass(frozen=True)
class Change:
    """One changed object: what to answer and which webhook event it causes."""

    kind: Kind
    object_id: str
    event_type: EventType
    rendered: dict[str, Any]
    category: str
    data: dict[str, Any] | None = None


def _change(kind: Kind, obj: dict[str, Any], event: EventType) -> Change:
    data = None
    if kind == "CreditNotes":
        data = {"Type": obj["Type"], "Status": obj["Status"]}
    return Change(kind, obj[ID_FIELD[kind]], event, render_object(kind, obj), _CATEGORY[kind], data)


def _next_number(tenant: TenantData, kind: Kind) -> str:
    """The sales document number after the highest ``INV-nnnn`` (``CN-nnnn``) in use."""
    key, sales_type, prefix = _NUMBERING[kind]
    highest = 0
    for obj in tenant.objects(kind).values():
        number = str(obj.get(key) or "")
        if (
            obj.get("Type") == sales_type
            and number.startswith(prefix)
            and number[len(prefix) :].isdigit()
        ):
            highest = max(highest, int(number[len(prefix) :]))
    return f"{prefix}{highest + 1:04d}"


def _part_paid(invoice: Mapping[str, Any]) -> bool:
    paid = to_decimal(invoice.get("AmountPaid", 0))
    due = to_decimal(invoice.get("AmountDue", 0))
    return paid > 0 and due > 0


def upsert(
    kind: Kind,
    tenant: TenantData,
    body: Mapping[str, Any],
    now_ms: int,
    bump_updated: bool = True,
) -> list[Change]:
    """Create an object, or update it by its ID (fields given replace stored ones).

    The object's UpdatedDateUTC becomes ``now_ms`` unless ``bump_updated`` is false or the
    change is one Xero makes silently (DueDate / SentToContact on a part-paid invoice).

    :returns: the changes, the upserted object first (a credit note allocation also
        changes invoices).
    :raises ControlError: when the object is not valid.
    """
    if not isinstance(body, Mapping):
        raise ControlError("the body must be a JSON object in Xero's shape")
    id_key = ID_FIELD[kind]
    store = tenant.objects(kind)
    raw_id = body.get(id_key)
    existing = None
    if raw_id:
        try:
            existing = store.get(str(uuid.UUID(str(raw_id))))
        except ValueError:
            raise ControlError(f'field "{id_key}": not a GUID: {raw_id!r}') from None
    incoming = normalize_object(dict(body))
    for key in ("UpdatedDateUTC", "AmountDue", "AmountPaid", "AmountCredited", "RemainingCredit"):
        incoming.pop(key, None)
    if existing is not None:
        changed = {k for k, v in incoming.items() if existing.get(k) != v}
        merged = {**existing, **incoming}
        if kind != "Contacts" and "Contact" in incoming:
            merged["Contact"] = incoming["Contact"]
        silent = (
            kind == "Invoices"
            and bool(changed)
            and changed <= _SILENT_ON_PART_PAID
            and _part_paid(existing)
        )
        if bump_updated and not silent:
            merged.pop("UpdatedDateUTC", None)
        event: EventType = "UPDATE"
    else:
        merged = dict(incoming)
        event = "CREATE"
    where = "Contact" if kind == "Contacts" else kind[:-1]
    if kind == "Contacts":
        obj = prepare_contact(merged, now_ms, where)
    else:
        number_key, sales_type, _ = _NUMBERING[kind]
        if merged.get("Type") == sales_type and not merged.get(number_key):
            merged[number_key] = _next_number(tenant, kind)
        obj = prepare_document(kind, merged, tenant, now_ms, where)
        if kind == "Invoices":
            recompute_invoice(obj)
    changes: list[Change] = []
    if kind == "CreditNotes" and (existing is None or "Allocations" in incoming):
        changes.extend(_apply_allocations(tenant, obj, now_ms))
        recompute_credit_note(obj)
    elif kind == "CreditNotes":
        recompute_credit_note(obj)
    store[obj[id_key]] = obj
    if kind == "Contacts" and existing is not None and existing.get("Name") != obj.get("Name"):
        _rename_contact(tenant, obj)
    if kind != "Contacts":
        tenant.mark_contact_role(obj["Contact"].get("ContactID"), obj["Type"])
    return [_change(kind, obj, event), *changes]


def _rename_contact(tenant: TenantData, contact: Mapping[str, Any]) -> None:
    # Documents show the contact's current name; Xero does not bump them for it.
    for doc in [*tenant.invoices.values(), *tenant.credit_notes.values()]:
        if doc["Contact"].get("ContactID") == contact["ContactID"]:
            doc["Contact"]["Name"] = contact["Name"]


def _apply_allocations(tenant: TenantData, note: dict[str, Any], now_ms: int) -> list[Change]:
    """Mirror a credit note's Allocations into the invoices' CreditNotes and AmountCredited."""
    changes: list[Change] = []
    touched: dict[str, dict[str, Any]] = {}
    for invoice in tenant.invoices.values():
        before = invoice.get("CreditNotes") or []
        after = [c for c in before if c.get("CreditNoteID") != note["CreditNoteID"]]
        if len(after) != len(before):
            invoice["CreditNotes"] = after
            touched[invoice["InvoiceID"]] = invoice
    for index, allocation in enumerate(note.get("Allocations") or []):
        target = allocation.get("Invoice") or {}
        found = tenant.invoices.get(str(target.get("InvoiceID", "")).lower())
        if found is None:
            raise ControlError(f'field "Allocations[{index}].Invoice.InvoiceID": no such invoice')
        invoice = found
        amount = to_decimal(allocation.get("Amount", 0)).quantize(MONEY_PLACES)
        allocation["Amount"] = amount
        allocation.setdefault("Date", note["Date"])
        allocation["Invoice"] = {
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice.get("InvoiceNumber", ""),
        }
        invoice.setdefault("CreditNotes", []).append(
            {
                "CreditNoteID": note["CreditNoteID"],
                "CreditNoteNumber": note.get("CreditNoteNumber", ""),
                "ID": note["CreditNoteID"],
                "AppliedAmount": amount,
                "Date": allocation["Date"],
                "Total": note["Total"],
                "HasErrors": False,
            }
        )
        touched[invoice["InvoiceID"]] = invoice
    for invoice in touched.values():
        recompute_invoice(invoice)
        invoice["UpdatedDateUTC"] = format_ms_date(now_ms)
        changes.append(_change("Invoices", invoice, "UPDATE"))
    return changes


def add_payment(
    tenant: TenantData, invoice_id: str, body: Mapping[str, Any], now_ms: int
) -> list[Change]:
    """Pay part or all of an AUTHORISED invoice: ``{"Amount": 10.00, "Date": "2026-11-20"}``
    (optional ``Reference``, ``PaymentID``, ``CurrencyRate``).

    :raises ControlError: when the invoice is missing, not AUTHORISED, or overpaid.
    :raises KeyError: when there is no such invoice.
    """
    try:
        invoice = tenant.invoices[str(uuid.UUID(invoice_id))]
    except ValueError:
        raise KeyError(invoice_id) from None
    if not isinstance(body, Mapping) or "Amount" not in body:
        raise ControlError('a payment needs "Amount" (and optionally "Date", "Reference")')
    if invoice.get("Status") != "AUTHORISED":
        raise ControlError("Payments can only be made against Authorised documents")
    try:
        amount = to_decimal(body["Amount"]).quantize(MONEY_PLACES)
        date_ms = parse_xero_date(body.get("Date") or format_ms_date(now_ms - now_ms % 86_400_000))
    except ValueError as exc:
        raise ControlError(str(exc)) from None
    if amount <= 0:
        raise ControlError("Payment amount must be greater than zero")
    if amount > to_decimal(invoice["AmountDue"]):
        raise ControlError("Payment amount exceeds the amount outstanding on this document")
    payment: dict[str, Any] = {
        "PaymentID": str(body.get("PaymentID") or uuid.uuid4()),
        "Date": format_ms_date(date_ms),
        "Amount": amount,
    }
    if body.get("Reference"):
        payment["Reference"] = str(body["Reference"])
    rate = body.get("CurrencyRate", invoice.get("CurrencyRate", Decimal(1)))
    payment["CurrencyRate"] = to_decimal(rate).quantize(RATE_PLACES)
    payment["HasAccount"] = False
    payment["HasValidationErrors"] = False
    invoice.setdefault("Payments", []).append(payment)
    recompute_invoice(invoice)
    if invoice["Status"] == "PAID":
        invoice["FullyPaidOnDate"] = payment["Date"]
    invoice["UpdatedDateUTC"] = format_ms_date(now_ms)
    return [_change("Invoices", invoice, "UPDATE")]

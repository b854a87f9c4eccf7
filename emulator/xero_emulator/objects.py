"""Checking and completing one Contact, Invoice or CreditNote in Xero's shape, for a seed
and for the control endpoints: IDs, required fields, defaults and totals."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .store import (
    CONTACT_STATUSES,
    CREDIT_NOTE_STATUSES,
    CREDIT_NOTE_TYPES,
    ID_FIELD,
    INVOICE_STATUSES,
    INVOICE_TYPES,
    ControlError,
    Kind,
    TenantData,
    contact_summary,
    normalize_object,
    recompute_credit_note,
    recompute_invoice,
)
from .xero_json import RATE_PLACES, format_ms_date

__all__ = ["prepare_contact", "prepare_document"]


def _new_object(raw: Mapping[str, Any], where: str, id_key: str) -> dict[str, Any]:
    """A normalized copy of ``raw`` whose ``id_key`` is a GUID (a fresh one when absent)."""
    if not isinstance(raw, Mapping):
        raise ControlError(f"{where}: must be a JSON object")
    obj = normalize_object(dict(raw), where)
    obj_id = obj.get(id_key) or str(uuid.uuid4())
    try:
        obj[id_key] = str(uuid.UUID(str(obj_id)))
    except ValueError:
        raise ControlError(f'{where}: field "{id_key}": not a GUID: {obj_id!r}') from None
    return obj


def _lists(obj: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        if not isinstance(obj.setdefault(key, []), list):
            raise ControlError(f'{where}: field "{key}" must be a list')


def prepare_contact(raw: Mapping[str, Any], now_ms: int, where: str) -> dict[str, Any]:
    """Check and complete one Contact. :raises ControlError: naming the bad field."""
    contact = _new_object(raw, where, "ContactID")
    name = contact.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise ControlError(f'{where}: field "Name" is required')
    status = contact.setdefault("ContactStatus", "ACTIVE")
    if status not in CONTACT_STATUSES:
        raise ControlError(f'{where}: field "ContactStatus": unknown status {status!r}')
    _lists(contact, ("Addresses", "Phones", "ContactGroups", "ContactPersons"), where)
    contact.setdefault("UpdatedDateUTC", format_ms_date(now_ms))
    contact.setdefault("IsSupplier", False)
    contact.setdefault("IsCustomer", False)
    contact.setdefault("HasValidationErrors", False)
    return contact


def _embedded_contact(doc: dict[str, Any], tenant: TenantData, where: str) -> dict[str, Any]:
    contact = doc.get("Contact")
    if not isinstance(contact, Mapping):
        raise ControlError(f'{where}: field "Contact" is required (an object with ContactID)')
    contact_id = contact.get("ContactID")
    known: dict[str, Any] | None = None
    if contact_id:
        try:
            contact_id = str(uuid.UUID(str(contact_id)))
        except ValueError:
            raise ControlError(f'{where}: field "Contact.ContactID": not a GUID') from None
        known = tenant.contacts.get(contact_id)
    elif contact.get("Name"):
        known = next(
            (c for c in tenant.contacts.values() if c.get("Name") == contact["Name"]), None
        )
        if known is None:
            raise ControlError(
                f'{where}: field "Contact": no contact named {contact["Name"]!r} in this tenant'
            )
    else:
        raise ControlError(f'{where}: field "Contact.ContactID" is required')
    if known is None:
        return {**contact, "ContactID": contact_id}
    merged = contact_summary(known)
    merged.update({k: v for k, v in contact.items() if k != "ContactID"})
    return merged


def prepare_document(
    kind: Kind, raw: Mapping[str, Any], tenant: TenantData, now_ms: int, where: str
) -> dict[str, Any]:
    """Check and complete one Invoice or CreditNote (``kind``). Totals, AmountDue and
    Status are computed only when an invoice has no AmountDue (a credit note no
    RemainingCredit). :raises ControlError: naming the bad field."""
    invoice = kind == "Invoices"
    types = INVOICE_TYPES if invoice else CREDIT_NOTE_TYPES
    statuses = INVOICE_STATUSES if invoice else CREDIT_NOTE_STATUSES
    doc = _new_object(raw, where, ID_FIELD[kind])
    doc_type = doc.get("Type")
    if doc_type not in types:
        raise ControlError(
            f'{where}: field "Type" must be one of {sorted(types)}, got {doc_type!r}'
        )
    status = doc.setdefault("Status", "DRAFT")
    if status not in statuses:
        raise ControlError(f'{where}: field "Status": unknown status {status!r}')
    if not doc.get("Date"):
        raise ControlError(f'{where}: field "Date" is required')
    doc["Contact"] = _embedded_contact(doc, tenant, where)
    doc.setdefault("CurrencyCode", tenant.organisation.get("BaseCurrency", "NZD"))
    doc.setdefault("CurrencyRate", Decimal(1).quantize(RATE_PLACES))
    doc.setdefault("LineAmountTypes", "Exclusive")
    doc.setdefault("LineItems", [])
    doc.setdefault("HasAttachments", False)
    doc.setdefault("UpdatedDateUTC", format_ms_date(now_ms))
    if invoice:
        _lists(doc, ("Payments", "CreditNotes", "Prepayments", "Overpayments"), where)
        doc.setdefault("HasErrors", False)
        doc.setdefault("IsDiscounted", False)
        if "AmountDue" not in doc:
            recompute_invoice(doc)
    else:
        doc.setdefault("ID", doc["CreditNoteID"])
        _lists(doc, ("Payments", "Allocations"), where)
        if "RemainingCredit" not in doc:
            recompute_credit_note(doc)
    return doc

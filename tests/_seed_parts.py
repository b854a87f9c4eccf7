"""The pieces of a generated one-tenant emulator seed, shared by the tests' seed
(``tests/_sync_support.generated_seed``) and the benchmarks' (``benchmarks/bench_common.books``):
the ids, Xero's date strings, the supplier and its bills, a sales invoice, a credit note and
the seed around them. Each generator keeps its own sizes, dates and random draws; these only
build the records, in the order of their keys, so both generate the same bytes every run."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

OWNER = "owner@bench.test"
PASSWORD = "bench-pass"


def new_id(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (so a seed gives the same ids every run)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def xero_ms(day: dt.date, seconds: int = 0) -> str:
    """``day`` (plus ``seconds``) as Xero's JSON writes a date: ``/Date(ms+0000)/``."""
    base = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
    return f"/Date({int(base + seconds) * 1000}+0000)/"


def supplier(rng: random.Random, updated: dt.date) -> dict[str, Any]:
    """The one supplier: its bills and supplier credit notes must never enter the cache."""
    return {
        "ContactID": new_id(rng),
        "Name": "Supplier Co",
        "EmailAddress": "ap@supplier.test",
        "IsSupplier": True,
        "UpdatedDateUTC": xero_ms(updated),
    }


def bill(rng: random.Random, i: int, supplier_id: str, day: dt.date) -> dict[str, Any]:
    """The supplier's bill number ``i + 1`` (an ACCPAY invoice)."""
    return {
        "InvoiceID": new_id(rng),
        "Type": "ACCPAY",
        "InvoiceNumber": f"BILL-{i + 1}",
        "Contact": {"ContactID": supplier_id},
        "Date": xero_ms(day),
        "DueDate": xero_ms(day + dt.timedelta(days=20)),
        "Status": "AUTHORISED",
        "CurrencyCode": "NZD",
        "Total": 50,
        "UpdatedDateUTC": xero_ms(day, 7200),
    }


def payments_and_status(
    rng: random.Random,
    day: dt.date,
    total: float,
    *,
    paid_after: int,
    part_paid_after: tuple[int, ...],
    part: int,
) -> tuple[str, list[dict[str, Any]]]:
    """An invoice's status and payments, as in real books: 30% paid in full ``paid_after``
    days after ``day``, 10% paid ``total / part`` on each of ``part_paid_after`` days, 3%
    voided, the rest unpaid. Draws one number from ``rng``, then the payments' ids."""
    kind = rng.random()
    if kind < 0.3:
        return "AUTHORISED", [_payment(rng, day + dt.timedelta(days=paid_after), total)]
    if kind < 0.4:
        amount = round(total / part, 2)
        days = [day + dt.timedelta(days=d) for d in part_paid_after]
        return "AUTHORISED", [_payment(rng, paid_on, amount) for paid_on in days]
    return ("VOIDED" if kind < 0.43 else "AUTHORISED"), []


def _payment(rng: random.Random, day: dt.date, amount: float) -> dict[str, Any]:
    return {"PaymentID": new_id(rng), "Date": xero_ms(day), "Amount": amount}


def sales_invoice(
    rng: random.Random,
    number: str,
    contact_id: str,
    day: dt.date,
    *,
    status: str,
    total: float,
    payments: list[dict[str, Any]],
    updated_seconds: int,
    reference: str | None = None,
) -> dict[str, Any]:
    """An ACCREC invoice due 30 days after ``day``; its id is drawn after its payments'."""
    invoice: dict[str, Any] = {
        "InvoiceID": new_id(rng),
        "Type": "ACCREC",
        "InvoiceNumber": number,
    }
    if reference is not None:
        invoice["Reference"] = reference
    invoice.update(
        {
            "Contact": {"ContactID": contact_id},
            "Date": xero_ms(day),
            "DueDate": xero_ms(day + dt.timedelta(days=30)),
            "Status": status,
            "CurrencyCode": "NZD",
            "SubTotal": total,
            "TotalTax": 0,
            "Total": total,
            "Payments": payments,
            "UpdatedDateUTC": xero_ms(day, updated_seconds),
        }
    )
    return invoice


def credit_note(
    rng: random.Random,
    kind: str,
    number: str,
    contact_id: str,
    day: dt.date,
    *,
    total: float,
    updated_seconds: int,
) -> dict[str, Any]:
    """An authorised credit note of ``kind`` (ACCRECCREDIT or ACCPAYCREDIT)."""
    return {
        "CreditNoteID": new_id(rng),
        "Type": kind,
        "CreditNoteNumber": number,
        "Contact": {"ContactID": contact_id},
        "Date": xero_ms(day),
        "Status": "AUTHORISED",
        "CurrencyCode": "NZD",
        "Total": total,
        "UpdatedDateUTC": xero_ms(day, updated_seconds),
    }


def one_tenant_seed(
    tenant_id: str,
    contacts: list[dict[str, Any]],
    invoices: list[dict[str, Any]],
    notes: list[dict[str, Any]],
) -> dict[str, Any]:
    """The emulator seed: the owner (:data:`OWNER`) and the one tenant with its records."""
    return {
        "users": [
            {
                "email": OWNER,
                "password": PASSWORD,
                "given_name": "Olive",
                "family_name": "Owner",
                "tenants": [tenant_id],
            }
        ],
        "tenants": [
            {
                "tenantId": tenant_id,
                "tenantName": "Bench Garden Ltd",
                "Organisation": {"Name": "Bench Garden Ltd", "BaseCurrency": "NZD"},
                "Contacts": contacts,
                "Invoices": invoices,
                "CreditNotes": notes,
            }
        ],
    }

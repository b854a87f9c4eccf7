"""The pieces of the built-in sample seed: contacts, invoices with their line items and
payments, and credit notes, drawn from a seeded :class:`random.Random` in call order (so the
same calls always give the same seed). :mod:`.sample_seed` decides what to make."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import Any

from .sample_data import (
    BUSINESS_KINDS,
    BUSINESS_WORDS,
    FIRST_NAMES,
    LAST_NAMES,
    PRODUCTS,
    SUFFIXES,
    SampleOrg,
)
from .xero_json import MONEY_PLACES, format_ms_date, ms_from_datetime

__all__ = ["SampleBuilder", "day_of"]


def _new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def day_of(ms_date: str) -> dt.date:
    """The UTC day of a ``/Date(ms+0000)/`` value."""
    return dt.datetime.fromtimestamp(int(ms_date[6:-7]) / 1000, tz=dt.UTC).date()


def _money(value: Decimal) -> float:
    return float(value.quantize(MONEY_PLACES))


class SampleBuilder:
    """Makes one sample organisation's contacts, invoices, payments and credit notes from
    ``rng``, with dates placed around ``today``."""

    def __init__(self, org: SampleOrg, rng: random.Random, today: dt.date, cap_ms: int) -> None:
        self.org = org
        self.rng = rng
        self.today = today
        self.cap_ms = cap_ms
        self.contacts: list[dict[str, Any]] = []
        self.invoices: list[dict[str, Any]] = []
        self.credit_notes: list[dict[str, Any]] = []
        self.currency_of: dict[str, tuple[str, Decimal]] = {}
        self.names: set[str] = set()

    # -- helpers -----------------------------------------------------------------------------

    def day(self, offset: int) -> dt.date:
        return self.today + dt.timedelta(days=offset)

    def ms(self, day: dt.date) -> int:
        return ms_from_datetime(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))

    def updated(self, day: dt.date) -> str:
        """A moment during ``day`` (never later than the cap), as Xero's UpdatedDateUTC."""
        moment = self.ms(day) + self.rng.randrange(8 * 3600, 18 * 3600) * 1000
        moment += self.rng.randrange(1000)
        if moment >= self.cap_ms:
            moment = self.cap_ms - self.rng.randrange(60, 3600) * 1000 - self.rng.randrange(1000)
        return format_ms_date(moment)

    def company_name(self) -> str:
        while True:
            rng = self.rng
            name = (
                f"{rng.choice(BUSINESS_WORDS)} {rng.choice(BUSINESS_KINDS)} {rng.choice(SUFFIXES)}"
            )
            if name not in self.names:
                self.names.add(name)
                return name

    # -- contacts ----------------------------------------------------------------------------

    def contact(
        self, name: str, *, supplier: bool = False, archived: bool = False
    ) -> dict[str, Any]:
        rng = self.rng
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        contact: dict[str, Any] = {
            "ContactID": _new_id(rng),
            "ContactNumber": f"C{len(self.contacts) + 1:04d}",
            "ContactStatus": "ARCHIVED" if archived else "ACTIVE",
            "Name": name,
            "FirstName": first,
            "LastName": last,
            "EmailAddress": f"{'ap' if supplier else 'accounts'}@{slug}.test",
            "Addresses": [
                {"AddressType": "POBOX", "City": "", "Region": "", "PostalCode": "", "Country": ""},
                {
                    "AddressType": "STREET",
                    "City": "",
                    "Region": "",
                    "PostalCode": "",
                    "Country": "",
                },
            ],
            "Phones": [
                {
                    "PhoneType": "DEFAULT",
                    "PhoneNumber": f"{rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}",
                    "PhoneAreaCode": f"0{rng.randrange(3, 9)}",
                    "PhoneCountryCode": "",
                }
            ],
            "UpdatedDateUTC": self.updated(self.day(-rng.randrange(30, 700))),
            "ContactGroups": [],
            "IsSupplier": False,
            "IsCustomer": False,
            "ContactPersons": [],
            "HasAttachments": False,
            "HasValidationErrors": False,
        }
        if not supplier and rng.random() < 0.4:
            for _ in range(rng.randrange(1, 3)):
                pf, pl = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                contact["ContactPersons"].append(
                    {
                        "FirstName": pf,
                        "LastName": pl,
                        "EmailAddress": f"{pf.lower()}.{pl.lower()}@{slug}.test",
                        "IncludeInEmails": rng.random() < 0.5,
                    }
                )
        org = self.org
        if not supplier and org.other_currencies and rng.random() < 0.3:
            self.currency_of[contact["ContactID"]] = rng.choice(org.other_currencies)
        else:
            self.currency_of[contact["ContactID"]] = (org.currency, Decimal("1.000000"))
        contact["DefaultCurrency"] = self.currency_of[contact["ContactID"]][0]
        self.contacts.append(contact)
        return contact

    # -- documents ---------------------------------------------------------------------------

    def lines(self) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
        rng = self.rng
        lines = []
        sub = tax = Decimal("0.00")
        for _ in range(rng.randrange(1, 4)):
            desc, unit = rng.choice(PRODUCTS)
            qty = Decimal(rng.randrange(1, 12))
            amount = (unit * qty).quantize(MONEY_PLACES)
            line_tax = (amount * self.org.tax_rate).quantize(MONEY_PLACES)
            lines.append(
                {
                    "LineItemID": _new_id(rng),
                    "Description": desc,
                    "Quantity": float(qty),
                    "UnitAmount": _money(unit),
                    "AccountCode": "200",
                    "TaxType": "OUTPUT2" if self.org.tax_rate else "NONE",
                    "TaxAmount": _money(line_tax),
                    "LineAmount": _money(amount),
                }
            )
            sub += amount
            tax += line_tax
        return lines, sub, tax

    def invoice(
        self,
        contact: dict[str, Any],
        scenario: str,
        *,
        date_offset: int | None = None,
        due_offset: int | None = None,
        doc_type: str = "ACCREC",
    ) -> dict[str, Any]:
        rng = self.rng
        terms = rng.choice((7, 14, 20, 30))
        if date_offset is None:
            if scenario == "open":
                date_offset = -rng.randrange(0, 25)
            elif scenario in {"overdue", "part_overdue"}:
                date_offset = -rng.randrange(terms + 3, 240)
            elif scenario == "part_open":
                date_offset = -rng.randrange(5, 20)
                terms = 30
            elif scenario in {"draft", "submitted"}:
                date_offset = -rng.randrange(0, 15)
            else:
                date_offset = -rng.randrange(terms + 2, 700)
        if due_offset is None:
            due_offset = date_offset + terms
        if scenario == "open" and due_offset < 0:
            due_offset = rng.randrange(0, 20)
        date, due = self.day(date_offset), self.day(due_offset)
        currency, rate = self.currency_of[contact["ContactID"]]
        if doc_type == "ACCPAY":
            currency, rate = self.org.currency, Decimal("1.000000")
        lines, sub, tax = self.lines()
        total = sub + tax
        status = {
            "paid": "PAID",
            "draft": "DRAFT",
            "submitted": "SUBMITTED",
            "voided": "VOIDED",
            "deleted": "DELETED",
        }.get(scenario, "AUTHORISED")
        payments: list[dict[str, Any]] = []
        last_activity = date
        if scenario == "paid":
            parts = rng.choice((1, 1, 1, 2, 3))
            payments = self.payments(
                total, parts, date, min(due + dt.timedelta(days=10), self.today)
            )
        elif scenario.startswith("part_"):
            parts = rng.randrange(2, 4)
            share = Decimal(rng.randrange(25, 70)) / 100
            paid_total = (total * share).quantize(MONEY_PLACES)
            payments = self.payments(paid_total, parts, date, self.today)
        paid = sum((Decimal(str(p["Amount"])) for p in payments), Decimal("0.00"))
        if payments:
            last_activity = max(day_of(p["Date"]) for p in payments)
        due_amount = Decimal("0.00") if status in {"PAID", "VOIDED", "DELETED"} else total - paid
        number = None
        if doc_type == "ACCREC":
            number = "?"  # numbered after sorting by date
        invoice: dict[str, Any] = {
            "Type": doc_type,
            "InvoiceID": _new_id(rng),
            "InvoiceNumber": number if number else f"BILL-{rng.randrange(10000, 99999)}",
            "Reference": f"PO-{rng.randrange(1000, 9999)}" if doc_type == "ACCREC" else "",
            "Payments": payments,
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "AmountDue": _money(due_amount),
            "AmountPaid": _money(paid),
            "AmountCredited": 0.0,
            "SentToContact": status in {"AUTHORISED", "PAID"},
            "CurrencyRate": float(rate),
            "HasErrors": False,
            "IsDiscounted": False,
            "HasAttachments": False,
            "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
            "Date": format_ms_date(self.ms(date)),
            "DueDate": format_ms_date(self.ms(due)),
            "Status": status,
            "LineAmountTypes": "Exclusive",
            "LineItems": lines,
            "SubTotal": _money(sub),
            "TotalTax": _money(tax),
            "Total": _money(total),
            "UpdatedDateUTC": self.updated(min(last_activity, self.today)),
            "CurrencyCode": currency,
        }
        if status == "PAID":
            invoice["FullyPaidOnDate"] = payments[-1]["Date"]
        self.invoices.append(invoice)
        return invoice

    def paid_after(
        self, contact: dict[str, Any], date_offset: int, days: int, terms: int
    ) -> dict[str, Any]:
        """A sales invoice dated ``date_offset`` days from today, due ``terms`` days later,
        paid in one payment ``days`` after its date (Xero's FullyPaidOnDate that day)."""
        invoice = self.invoice(
            contact, "paid", date_offset=date_offset, due_offset=date_offset + terms
        )
        paid_on = format_ms_date(self.ms(self.day(date_offset + days)))
        (payment, *_) = invoice["Payments"]
        payment.pop("Reference", None)
        payment.update(Date=paid_on, Amount=invoice["Total"])
        invoice.update(Payments=[payment], FullyPaidOnDate=paid_on)
        invoice["UpdatedDateUTC"] = self.updated(self.day(date_offset + days))
        return invoice

    def payments(
        self, amount: Decimal, parts: int, start: dt.date, end: dt.date
    ) -> list[dict[str, Any]]:
        rng = self.rng
        span = max((end - start).days, parts)
        offsets = sorted(rng.sample(range(1, span + 1), parts)) if span >= parts else [1] * parts
        base = (amount / parts).quantize(MONEY_PLACES)
        amounts = [base] * (parts - 1) + [amount - base * (parts - 1)]
        out = []
        for index, (offset, value) in enumerate(zip(offsets, amounts, strict=True)):
            day = min(start + dt.timedelta(days=offset), self.today)
            payment = {
                "PaymentID": _new_id(rng),
                "Date": format_ms_date(self.ms(day)),
                "Amount": _money(value),
                "CurrencyRate": 1.0,
                "HasAccount": False,
                "HasValidationErrors": False,
            }
            if parts > 1:
                payment["Reference"] = f"Instalment {index + 1} of {parts}"
            out.append(payment)
        return out

    def credit_note(
        self,
        contact: dict[str, Any],
        doc_type: str,
        amount: Decimal,
        allocate_to: dict[str, Any] | None = None,
    ) -> None:
        rng = self.rng
        date = self.day(-rng.randrange(3, 60))
        tax = (amount * self.org.tax_rate / (1 + self.org.tax_rate)).quantize(MONEY_PLACES)
        currency, rate = self.currency_of[contact["ContactID"]]
        if allocate_to is not None:
            currency, rate = allocate_to["CurrencyCode"], Decimal(str(allocate_to["CurrencyRate"]))
        note_id = _new_id(rng)
        number = f"CN-{len(self.credit_notes) + 1:04d}" if doc_type == "ACCRECCREDIT" else ""
        allocations = []
        status, remaining = "AUTHORISED", amount
        if allocate_to is not None:
            status, remaining = "PAID", Decimal("0.00")
            allocations.append(
                {
                    "Amount": _money(amount),
                    "Date": format_ms_date(self.ms(date)),
                    "Invoice": {
                        "InvoiceID": allocate_to["InvoiceID"],
                        "InvoiceNumber": allocate_to["InvoiceNumber"],
                    },
                }
            )
            allocate_to["CreditNotes"].append(
                {
                    "CreditNoteID": note_id,
                    "CreditNoteNumber": number,
                    "ID": note_id,
                    "AppliedAmount": _money(amount),
                    "Date": format_ms_date(self.ms(date)),
                    "Total": _money(amount),
                    "HasErrors": False,
                }
            )
            allocate_to["AmountCredited"] = _money(amount)
            allocate_to["AmountDue"] = _money(Decimal(str(allocate_to["AmountDue"])) - amount)
            allocate_to["UpdatedDateUTC"] = self.updated(date)
        self.credit_notes.append(
            {
                "CreditNoteID": note_id,
                "CreditNoteNumber": number,
                "Payments": [],
                "ID": note_id,
                "CurrencyRate": float(rate),
                "Type": doc_type,
                "Reference": "Returned goods" if doc_type == "ACCRECCREDIT" else "Supplier credit",
                "RemainingCredit": _money(remaining),
                "Allocations": allocations,
                "HasAttachments": False,
                "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
                "Date": format_ms_date(self.ms(date)),
                "Status": status,
                "LineAmountTypes": "Inclusive",
                "LineItems": [],
                "SubTotal": _money(amount - tax),
                "TotalTax": _money(tax),
                "Total": _money(amount),
                "UpdatedDateUTC": self.updated(date),
                "CurrencyCode": currency,
            }
        )

"""The built-in sample seed: two Xero users, three organisations and a few hundred invoices.

Everything is drawn from ``random.Random`` with a fixed seed, and dates are placed relative to
*today* (in each organisation's own timezone), so the seed is the same all day and the panel's
views (paid, unpaid, open, due today, overdue, part-paid) always have something to show.

==============================  ===============  ===========================================
Xero user                       password         organisations it can grant
==============================  ===============  ===========================================
``owner@kiwi-garden.test``      ``kiwi-demo``    Kiwi Garden Supplies, Kiwi Garden Australia
``books@harbour-audio.test``    ``harbour-demo`` Harbour Audio Inc
==============================  ===============  ===========================================
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .xero_json import MONEY_PLACES, format_ms_date, ms_from_datetime

__all__ = ["SAMPLE_PASSWORDS", "SAMPLE_TENANT_IDS", "sample_seed"]

SAMPLE_TENANT_IDS = (
    "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7a9c0d11",
    "a83d5e20-7b19-4f6c-8d2e-51c9b4e7f022",
    "c4e9f1a2-5b8d-4e3f-a7c6-93d2e1b0f533",
)
SAMPLE_PASSWORDS = {
    "owner@kiwi-garden.test": "kiwi-demo",
    "books@harbour-audio.test": "harbour-demo",
}


@dataclass(frozen=True)
class _Org:
    tenant_id: str
    name: str
    short_code: str
    currency: str
    country: str
    timezone: str
    iana: str
    tax_rate: Decimal
    customers: int
    other_currencies: tuple[tuple[str, Decimal], ...]


_ORGS = (
    _Org(
        SAMPLE_TENANT_IDS[0],
        "Kiwi Garden Supplies Ltd",
        "!kGs7Q",
        "NZD",
        "NZ",
        "NEWZEALANDSTANDARDTIME",
        "Pacific/Auckland",
        Decimal("0.15"),
        30,
        (("AUD", Decimal("0.912345")), ("USD", Decimal("0.598765"))),
    ),
    _Org(
        SAMPLE_TENANT_IDS[1],
        "Kiwi Garden Australia Pty Ltd",
        "!aUg3K",
        "AUD",
        "AU",
        "AUSEASTERNSTANDARDTIME",
        "Australia/Sydney",
        Decimal("0.10"),
        24,
        (("NZD", Decimal("1.096100")),),
    ),
    _Org(
        SAMPLE_TENANT_IDS[2],
        "Harbour Audio Inc",
        "!hA9dX",
        "USD",
        "US",
        "PACIFICSTANDARDTIME",
        "America/Los_Angeles",
        Decimal("0.00"),
        20,
        (("NZD", Decimal("1.670100")),),
    ),
)

_FIRST = [
    "Aroha",
    "Ben",
    "Chloe",
    "Dmitri",
    "Eva",
    "Farah",
    "Grace",
    "Hemi",
    "Isla",
    "Jack",
    "Kiri",
    "Liam",
    "Mei",
    "Noah",
    "Olivia",
    "Pita",
    "Quinn",
    "Rangi",
    "Sofia",
    "Tane",
    "Uma",
    "Vikram",
    "Wiremu",
    "Xin",
    "Yasmin",
    "Zoe",
]
_LAST = [
    "Anderson",
    "Brown",
    "Chen",
    "Davies",
    "Edwards",
    "Fletcher",
    "Gupta",
    "Harris",
    "Irwin",
    "Jones",
    "Kaur",
    "Lee",
    "Morgan",
    "Ngata",
    "Patel",
    "Roberts",
    "Smith",
    "Taylor",
    "Walker",
    "Young",
]
_WORDS = [
    "Alpine",
    "Bayview",
    "Cedar",
    "Driftwood",
    "Evergreen",
    "Fernleaf",
    "Golden",
    "Harbourside",
    "Ironbark",
    "Juniper",
    "Kauri",
    "Lakeside",
    "Manuka",
    "Northern",
    "Orchard",
    "Pohutukawa",
    "Rimu",
    "Southern",
    "Totara",
    "Valley",
    "Wattle",
    "Westcoast",
    "Willow",
    "Summit",
    "Coastal",
    "Riverside",
    "Hilltop",
    "Meadow",
    "Pacific",
    "Silverfern",
]
_KINDS = (
    "Landscaping",
    "Cafe",
    "Builders",
    "Nursery",
    "Events",
    "Property Services",
    "Studios",
    "Schools Trust",
    "Motors",
    "Hospitality",
    "Design",
    "Rentals",
)
_SUFFIX = ("Ltd", "Limited", "& Co", "Group", "Pty Ltd", "Inc")
_PRODUCTS = (
    ("Native plant pack", Decimal("45.00")),
    ("Garden design consult (hour)", Decimal("120.00")),
    ("Bark mulch (m3)", Decimal("85.50")),
    ("Irrigation kit", Decimal("349.99")),
    ("Studio monitor pair", Decimal("899.00")),
    ("Cable set", Decimal("24.95")),
    ("Maintenance visit", Decimal("180.00")),
    ("Planter box", Decimal("64.00")),
    ("Sound system hire (day)", Decimal("450.00")),
    ("Compost (bag)", Decimal("12.50")),
)
_SUPPLIERS = (
    "Canterbury Seeds Wholesale",
    "Pacific Freight Logistics",
    "Southern Tools Direct",
    "Metro Power & Gas",
)


def _new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _day_of(ms_date: str) -> dt.date:
    return dt.datetime.fromtimestamp(int(ms_date[6:-7]) / 1000, tz=dt.UTC).date()


def _money(value: Decimal) -> float:
    return float(value.quantize(MONEY_PLACES))


class _Builder:
    def __init__(self, org: _Org, rng: random.Random, today: dt.date, cap_ms: int) -> None:
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
            name = f"{self.rng.choice(_WORDS)} {self.rng.choice(_KINDS)} {self.rng.choice(_SUFFIX)}"
            if name not in self.names:
                self.names.add(name)
                return name

    # -- contacts ----------------------------------------------------------------------------

    def contact(
        self, name: str, *, supplier: bool = False, archived: bool = False
    ) -> dict[str, Any]:
        rng = self.rng
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24]
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
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
                pf, pl = rng.choice(_FIRST), rng.choice(_LAST)
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
            desc, unit = rng.choice(_PRODUCTS)
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
            last_activity = max(_day_of(p["Date"]) for p in payments)
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

    # -- the organisation ----------------------------------------------------------------------

    def build(self, big_customer: bool) -> dict[str, Any]:
        rng = self.rng
        scenarios = (
            ["paid"] * 40
            + ["open"] * 14
            + ["overdue"] * 14
            + ["part_overdue"] * 5
            + ["part_open"] * 5
            + ["draft"] * 6
            + ["submitted"] * 4
            + ["voided"] * 6
            + ["deleted"] * 3
        )
        customers = [self.contact(self.company_name()) for _ in range(self.org.customers)]
        for customer in customers:
            for _ in range(rng.randrange(2, 9)):
                self.invoice(customer, rng.choice(scenarios))
        # Every view in every organisation: due today, open, overdue, part-paid both ways.
        first = customers[0]
        self.invoice(first, "open", date_offset=-14, due_offset=0)
        self.invoice(first, "part_open", date_offset=-10, due_offset=0)
        self.invoice(first, "overdue")
        self.invoice(first, "part_overdue")
        self.invoice(first, "part_open")
        self.invoice(first, "paid")
        for scenario in ("draft", "submitted", "voided", "deleted"):
            self.invoice(customers[1], scenario)
        if big_customer:
            big = self.contact("Greenfingers Landscaping Ltd")
            big["ContactPersons"] = [
                {
                    "FirstName": "Hana",
                    "LastName": "Greenfield",
                    "EmailAddress": "hana@greenfingers.test",
                    "IncludeInEmails": True,
                }
            ]
            self.currency_of[big["ContactID"]] = (self.org.currency, Decimal("1.000000"))
            for week in range(125):
                offset = -7 * week - rng.randrange(0, 3)
                if week < 3:
                    scenario = "open"
                elif week < 8:
                    scenario = rng.choice(("overdue", "part_overdue", "paid"))
                else:
                    scenario = rng.choice(("paid",) * 9 + ("voided",))
                due_offset = offset + 20
                if scenario == "open":
                    due_offset = max(due_offset, 1)
                self.invoice(big, scenario, date_offset=offset, due_offset=due_offset)
        archived = self.contact(self.company_name(), archived=True)
        for _ in range(2):
            self.invoice(archived, "paid", date_offset=-rng.randrange(500, 700))
        suppliers = [self.contact(name, supplier=True) for name in _SUPPLIERS]
        both = customers[2:4]
        for supplier in [*suppliers, *both]:
            for _ in range(rng.randrange(2, 5)):
                self.invoice(
                    supplier, rng.choice(("paid", "paid", "open", "overdue")), doc_type="ACCPAY"
                )
        # Credit notes: unallocated customer credit, credit applied to invoices, supplier credit.
        for customer in customers[4:7]:
            self.credit_note(customer, "ACCRECCREDIT", Decimal(rng.randrange(20, 200)))
        applied = 0
        for invoice in self.invoices:
            if (
                applied < 2
                and invoice["Type"] == "ACCREC"
                and invoice["Status"] == "AUTHORISED"
                and not invoice["Payments"]
                and invoice["AmountDue"] > 60
            ):
                contact = next(
                    c for c in self.contacts if c["ContactID"] == invoice["Contact"]["ContactID"]
                )
                self.credit_note(contact, "ACCRECCREDIT", Decimal("50.00"), allocate_to=invoice)
                applied += 1
        self.credit_note(suppliers[0], "ACCPAYCREDIT", Decimal("46.00"))
        self.finish()
        org = self.org
        return {
            "tenantId": org.tenant_id,
            "tenantName": org.name,
            "tenantType": "ORGANISATION",
            "Organisation": {
                "Name": org.name,
                "LegalName": org.name,
                "PaysTax": bool(org.tax_rate),
                "Version": org.country,
                "OrganisationType": "COMPANY",
                "BaseCurrency": org.currency,
                "CountryCode": org.country,
                "IsDemoCompany": False,
                "OrganisationStatus": "ACTIVE",
                "FinancialYearEndDay": 31,
                "FinancialYearEndMonth": 3,
                "CreatedDateUTC": f"/Date({self.ms(self.day(-1500))})/",
                "OrganisationEntityType": "COMPANY",
                "Timezone": org.timezone,
                "ShortCode": org.short_code,
                "OrganisationID": org.tenant_id,
                "Edition": "BUSINESS",
                "Class": "PREMIUM",
                "Addresses": [],
                "Phones": [],
                "ExternalLinks": [],
                "PaymentTerms": {},
            },
            "Contacts": self.contacts,
            "Invoices": self.invoices,
            "CreditNotes": self.credit_notes,
        }

    def finish(self) -> None:
        sales = sorted(
            (i for i in self.invoices if i["Type"] == "ACCREC"),
            key=lambda i: (_day_of(i["Date"]), i["InvoiceID"]),
        )
        for number, invoice in enumerate(sales, start=1):
            invoice["InvoiceNumber"] = f"INV-{number:04d}"
        for note in self.credit_notes:
            for allocation in note["Allocations"]:
                target = next(
                    i for i in self.invoices if i["InvoiceID"] == allocation["Invoice"]["InvoiceID"]
                )
                allocation["Invoice"]["InvoiceNumber"] = target["InvoiceNumber"]
        by_id = {c["ContactID"]: c for c in self.contacts}
        for doc in [*self.invoices, *self.credit_notes]:
            contact = by_id[doc["Contact"]["ContactID"]]
            if doc["Type"].startswith("ACCREC"):
                contact["IsCustomer"] = True
            else:
                contact["IsSupplier"] = True


def sample_seed(today: dt.date | None = None) -> dict[str, Any]:
    """The built-in demo seed, in DESIGN.md's seed format (JSON-compatible values).

    :param today: the day the data is placed around (default: today in each organisation's
        timezone). The same day always gives the same seed.
    """
    now = dt.datetime.now(dt.UTC)
    tenants = []
    for index, org in enumerate(_ORGS):
        org_today = now.astimezone(zoneinfo.ZoneInfo(org.iana)).date() if today is None else today
        # UpdatedDateUTC never lies in the future: cap it at midnight UTC of the seed's day.
        cap_day = today or now.date()
        cap_ms = ms_from_datetime(
            dt.datetime(cap_day.year, cap_day.month, cap_day.day, tzinfo=dt.UTC)
        )
        rng = random.Random(f"xero-panel-sample-{index}")
        tenants.append(_Builder(org, rng, org_today, cap_ms).build(big_customer=index == 0))
    return {
        "users": [
            {
                "email": "owner@kiwi-garden.test",
                "password": SAMPLE_PASSWORDS["owner@kiwi-garden.test"],
                "given_name": "Aroha",
                "family_name": "Ngata",
                "tenants": [SAMPLE_TENANT_IDS[0], SAMPLE_TENANT_IDS[1]],
            },
            {
                "email": "books@harbour-audio.test",
                "password": SAMPLE_PASSWORDS["books@harbour-audio.test"],
                "given_name": "Sam",
                "family_name": "Porter",
                "tenants": [SAMPLE_TENANT_IDS[2]],
            },
        ],
        "tenants": tenants,
    }

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
import zoneinfo
from decimal import Decimal
from typing import Any

from .sample_builder import SampleBuilder, day_of
from .sample_data import ORGS, SAMPLE_PASSWORDS, SAMPLE_TENANT_IDS, SUPPLIERS
from .xero_json import format_ms_date, ms_from_datetime

__all__ = ["SAMPLE_PASSWORDS", "SAMPLE_TENANT_IDS", "sample_seed"]


def _build_tenant(make: SampleBuilder, big_customer: bool) -> dict[str, Any]:
    """One organisation's seed entry: customers with invoices in every state, a big customer
    (in the first organisation), an archived contact, suppliers with bills, credit notes."""
    rng = make.rng
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
    customers = [make.contact(make.company_name()) for _ in range(make.org.customers)]
    for customer in customers:
        for _ in range(rng.randrange(2, 9)):
            make.invoice(customer, rng.choice(scenarios))
    # Every view in every organisation: due today, open, overdue, part-paid both ways.
    first = customers[0]
    make.invoice(first, "open", date_offset=-14, due_offset=0)
    make.invoice(first, "part_open", date_offset=-10, due_offset=0)
    make.invoice(first, "overdue")
    make.invoice(first, "part_overdue")
    make.invoice(first, "part_open")
    make.invoice(first, "paid")
    for scenario in ("draft", "submitted", "voided", "deleted"):
        make.invoice(customers[1], scenario)
    if big_customer:
        big = make.contact("Greenfingers Landscaping Ltd")
        big["ContactPersons"] = [
            {
                "FirstName": "Hana",
                "LastName": "Greenfield",
                "EmailAddress": "hana@greenfingers.test",
                "IncludeInEmails": True,
            }
        ]
        make.currency_of[big["ContactID"]] = (make.org.currency, Decimal("1.000000"))
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
            make.invoice(big, scenario, date_offset=offset, due_offset=due_offset)
    archived = make.contact(make.company_name(), archived=True)
    for _ in range(2):
        make.invoice(archived, "paid", date_offset=-rng.randrange(500, 700))
    suppliers = [make.contact(name, supplier=True) for name in SUPPLIERS]
    both = customers[2:4]
    for supplier in [*suppliers, *both]:
        for _ in range(rng.randrange(2, 5)):
            make.invoice(
                supplier, rng.choice(("paid", "paid", "open", "overdue")), doc_type="ACCPAY"
            )
    # Credit notes: unallocated customer credit, credit applied to invoices, supplier credit.
    for customer in customers[4:7]:
        make.credit_note(customer, "ACCRECCREDIT", Decimal(rng.randrange(20, 200)))
    applied = 0
    for invoice in make.invoices:
        if (
            applied < 2
            and invoice["Type"] == "ACCREC"
            and invoice["Status"] == "AUTHORISED"
            and not invoice["Payments"]
            and invoice["AmountDue"] > 60
        ):
            contact = next(
                c for c in make.contacts if c["ContactID"] == invoice["Contact"]["ContactID"]
            )
            make.credit_note(contact, "ACCRECCREDIT", Decimal("50.00"), allocate_to=invoice)
            applied += 1
    make.credit_note(suppliers[0], "ACCPAYCREDIT", Decimal("46.00"))
    _payment_habits(make, customers[0], trends=big_customer)
    _finish(make)
    org = make.org
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
            "CreatedDateUTC": f"/Date({make.ms(make.day(-1500))})/",
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
        "Contacts": make.contacts,
        "Invoices": make.invoices,
        "CreditNotes": make.credit_notes,
    }


#: Customers whose payment history shows each trend on the panel: days to pay of their
#: invoices in the last 12 months and in the year before (terms: 20 days).
PAYMENT_HABITS = {
    "Kowhai Bakery Ltd": ([12, 14, 10, 13, 11], [35, 38, 33, 36, 40]),  # faster
    "Rata Joinery Ltd": ([34, 31, 38, 29, 33], [12, 15, 10, 14, 13]),  # slower
    "Tawa Florists Ltd": ([19, 22, 18, 21, 20], [20, 21, 19, 22, 18]),  # steady
}


def _payment_habits(make: SampleBuilder, first: dict[str, Any], *, trends: bool) -> None:
    """Xero's expected payment date on a few unpaid invoices and, with ``trends`` (the first
    organisation), a customer of each payment trend (drawn last, so the rest of the seed is
    what it was before them)."""
    for name, (recent, earlier) in PAYMENT_HABITS.items() if trends else ():
        # Drawn from a generator of its own: the contact (its people, their emails) must not
        # depend on how many invoices were drawn before it, which depends on the day.
        drawing, make.rng = make.rng, random.Random(name)
        try:
            customer = make.contact(name)
        finally:
            make.rng = drawing
        make.currency_of[customer["ContactID"]] = (make.org.currency, Decimal("1.000000"))
        customer["DefaultCurrency"] = make.org.currency
        for n, days in enumerate(recent):
            make.paid_after(customer, -40 - 60 * n - days, days, 20)
        for n, days in enumerate(earlier):
            make.paid_after(customer, -400 - 60 * n - days, days, 20)
        make.invoice(customer, "open", date_offset=-5, due_offset=15)
    unpaid = [
        i
        for i in make.invoices
        if i["Contact"]["ContactID"] == first["ContactID"]
        and i["Type"] == "ACCREC"
        and i["Status"] == "AUTHORISED"
    ]
    for invoice, days in zip(unpaid, (5, 12), strict=False):
        invoice["ExpectedPaymentDate"] = format_ms_date(make.ms(make.day(days)))


def _finish(make: SampleBuilder) -> None:
    """Number the sales invoices by date, and flag contacts as customers or suppliers."""
    sales = sorted(
        (i for i in make.invoices if i["Type"] == "ACCREC"),
        key=lambda i: (day_of(i["Date"]), i["InvoiceID"]),
    )
    for number, invoice in enumerate(sales, start=1):
        invoice["InvoiceNumber"] = f"INV-{number:04d}"
    for note in make.credit_notes:
        for allocation in note["Allocations"]:
            target = next(
                i for i in make.invoices if i["InvoiceID"] == allocation["Invoice"]["InvoiceID"]
            )
            allocation["Invoice"]["InvoiceNumber"] = target["InvoiceNumber"]
    by_id = {c["ContactID"]: c for c in make.contacts}
    for doc in [*make.invoices, *make.credit_notes]:
        contact = by_id[doc["Contact"]["ContactID"]]
        if doc["Type"].startswith("ACCREC"):
            contact["IsCustomer"] = True
        else:
            contact["IsSupplier"] = True


def sample_seed(today: dt.date | None = None) -> dict[str, Any]:
    """The built-in demo seed, in the seed format (JSON-compatible values).

    :param today: the day the data is placed around (default: today in each organisation's
        timezone). The same day always gives the same seed.
    """
    now = dt.datetime.now(dt.UTC)
    tenants = []
    for index, org in enumerate(ORGS):
        org_today = now.astimezone(zoneinfo.ZoneInfo(org.iana)).date() if today is None else today
        # UpdatedDateUTC never lies in the future: cap it at midnight UTC of the seed's day.
        cap_day = today or now.date()
        cap_ms = ms_from_datetime(
            dt.datetime(cap_day.year, cap_day.month, cap_day.day, tzinfo=dt.UTC)
        )
        rng = random.Random(f"xero-panel-sample-{index}")
        builder = SampleBuilder(org, rng, org_today, cap_ms)
        tenants.append(_build_tenant(builder, big_customer=index == 0))
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

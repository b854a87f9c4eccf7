"""Seed loading and checking, and the built-in sample seed."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal

import pytest
from xero_emulator import Emulator, SeedError, load_seed, sample_seed
from xero_emulator.sample_seed import SAMPLE_PASSWORDS, SAMPLE_TENANT_IDS
from xero_emulator.xero_json import parse_xero_date

from tests.emulator.helpers import SAMPLE_DAY, example_seed

ANA = {"ContactID": "0b7d1c39-8f0e-4f4e-9a53-7c3f2d0b9a10", "Name": "Ana"}


def tenant_with(**extra):
    return {"tenantId": "11111111-2222-4333-8444-555555555555", "tenantName": "T", **extra}


def seed_with_invoices(*invoices):
    """One tenant with the contact Ana and these invoices (which may refer to her as ANA)."""
    return {"tenants": [tenant_with(Contacts=[ANA], Invoices=list(invoices))]}


def test_load_seed_keeps_decimals(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text('{"tenants": [], "users": [], "x": 1.10}')
    assert load_seed(path)["x"] == Decimal("1.10")


def test_load_seed_rejects_bad_json(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text("{nope")
    with pytest.raises(SeedError, match="not valid JSON"):
        load_seed(path)


def test_seed_iso_dates_accepted():
    seed = seed_with_invoices(
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": ANA["ContactID"]},
            "Date": "2024-03-01",
            "DueDate": "2024-03-31T00:00:00",
            "Status": "AUTHORISED",
            "Total": 10,
        }
    )
    emu = Emulator(seed)
    invoice = next(iter(emu.tenant(seed["tenants"][0]["tenantId"]).invoices.values()))
    assert invoice["Date"] == "/Date(1709251200000+0000)/"
    assert invoice["AmountDue"] == Decimal("10.00")


def test_seed_bad_date_names_tenant_object_and_field():
    seed = seed_with_invoices(
        {
            "Type": "ACCREC",
            "InvoiceNumber": "INV-9",
            "Contact": {"ContactID": ANA["ContactID"]},
            "Date": "2024-13-01",
        }
    )
    with pytest.raises(SeedError) as err:
        Emulator(seed)
    assert str(err.value).startswith('tenants[0] (T) Invoices[0] (INV-9): field "Date": not a date')


def test_seed_unknown_status_is_error():
    seed = {"tenants": [tenant_with(Contacts=[{"Name": "A", "ContactStatus": "GONE"}])]}
    with pytest.raises(SeedError, match="ContactStatus"):
        Emulator(seed)


def test_seed_user_with_unknown_tenant_is_error():
    seed = {
        "users": [
            {
                "email": "a@b.test",
                "password": "p",
                "tenants": ["00000000-0000-4000-8000-000000000000"],
            }
        ]
    }
    with pytest.raises(SeedError, match=r"users\[0\] \(a@b.test\) tenants\[0\]"):
        Emulator(seed)


def test_seed_bad_guid_is_error():
    with pytest.raises(SeedError, match="not a GUID"):
        Emulator({"tenants": [{"tenantId": "nope", "tenantName": "X"}]})


def test_seed_unknown_top_level_key_is_error():
    with pytest.raises(SeedError, match="unknown top-level"):
        Emulator({"tenant": []})


def test_seed_duplicate_invoice_number_is_error():
    invoice = {"Type": "ACCREC", "InvoiceNumber": "INV-1", "Contact": ANA, "Date": "2024-01-01"}
    seed = seed_with_invoices(invoice, dict(invoice))
    with pytest.raises(SeedError, match="duplicate InvoiceNumber"):
        Emulator(seed)


def test_seed_client_without_redirect_uris_is_error():
    with pytest.raises(SeedError, match="redirect_uris"):
        Emulator({"clients": [{"client_id": "c", "client_secret": "s"}]})


def test_clients_argument_registers_client():
    emu = Emulator(
        example_seed(),
        clients=[
            {"client_id": "extra", "client_secret": "s", "redirect_uris": ["https://x.test/cb"]}
        ],
    )
    assert "extra" in emu.identity.clients


def test_tenant_ids_in_seed_order():
    assert Emulator(example_seed()).tenant_ids == [
        "b2c885a9-4bb9-4a00-9b6e-6c2bf60b1a2b",
        "11111111-2222-4333-8444-555555555555",
    ]


def test_sample_seed_is_deterministic_for_a_day():
    assert sample_seed(SAMPLE_DAY) == sample_seed(SAMPLE_DAY)


def test_sample_seed_is_json_serialisable(sample):
    assert json.loads(json.dumps(sample))["users"][0]["email"] == "owner@kiwi-garden.test"


def test_sample_seed_users_and_grants(sample):
    users = {u["email"]: u for u in sample["users"]}
    assert users["owner@kiwi-garden.test"]["tenants"] == list(SAMPLE_TENANT_IDS[:2])
    assert users["books@harbour-audio.test"]["tenants"] == [SAMPLE_TENANT_IDS[2]]
    assert {e: u["password"] for e, u in users.items()} == SAMPLE_PASSWORDS


def test_sample_seed_organisations(sample):
    orgs = [t["Organisation"] for t in sample["tenants"]]
    assert len({o["Name"] for o in orgs}) == 3
    assert all(o["ShortCode"].startswith("!") for o in orgs)
    assert {o["BaseCurrency"] for o in orgs} == {"NZD", "AUD", "USD"}


def all_invoices(sample):
    return [i for t in sample["tenants"] for i in t["Invoices"]]


def test_sample_seed_has_every_status(sample):
    statuses = {i["Status"] for i in all_invoices(sample)}
    assert statuses == {"DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"}


def test_sample_seed_has_several_hundred_invoices(sample):
    assert len(all_invoices(sample)) >= 300


def test_sample_seed_has_three_currencies(sample):
    assert {i["CurrencyCode"] for i in all_invoices(sample)} >= {"NZD", "AUD", "USD"}


def day(value):
    return dt.datetime.fromtimestamp(parse_xero_date(value) / 1000, tz=dt.UTC).date()


def test_sample_seed_has_due_today_overdue_and_open(sample):
    open_sales = [
        i
        for i in sample["tenants"][0]["Invoices"]
        if i["Type"] == "ACCREC" and i["Status"] == "AUTHORISED"
    ]
    dues = {day(i["DueDate"]) for i in open_sales}
    assert SAMPLE_DAY in dues
    assert any(d < SAMPLE_DAY for d in dues) and any(d > SAMPLE_DAY for d in dues)


def test_sample_seed_has_instalments(sample):
    part_paid = [
        i for i in all_invoices(sample) if i["Status"] == "AUTHORISED" and len(i["Payments"]) >= 2
    ]
    assert len(part_paid) >= 3


def test_sample_seed_amounts_are_consistent(sample):
    for invoice in all_invoices(sample):
        total = Decimal(str(invoice["Total"]))
        paid = Decimal(str(invoice["AmountPaid"]))
        credited = Decimal(str(invoice["AmountCredited"]))
        due = Decimal(str(invoice["AmountDue"]))
        if invoice["Status"] in {"AUTHORISED", "PAID", "DRAFT", "SUBMITTED"}:
            assert total - paid - credited == due, invoice["InvoiceNumber"]


def test_sample_seed_has_customer_with_over_120_invoices(sample):
    counts = Counter(i["Contact"]["ContactID"] for i in sample["tenants"][0]["Invoices"])
    assert max(counts.values()) > 120


def test_sample_seed_has_credit_notes_of_both_kinds(sample):
    notes = [n for t in sample["tenants"] for n in t["CreditNotes"]]
    kinds = {(n["Type"], n["Status"]) for n in notes}
    assert {
        ("ACCRECCREDIT", "AUTHORISED"),
        ("ACCRECCREDIT", "PAID"),
        ("ACCPAYCREDIT", "AUTHORISED"),
    } <= kinds


def test_sample_seed_has_archived_contact(sample):
    statuses = [c["ContactStatus"] for t in sample["tenants"] for c in t["Contacts"]]
    assert statuses.count("ARCHIVED") == 3


def test_sample_seed_customer_flags_match_invoices(sample):
    for tenant in sample["tenants"]:
        for contact in tenant["Contacts"]:
            docs = [
                d
                for d in tenant["Invoices"] + tenant["CreditNotes"]
                if d["Contact"]["ContactID"] == contact["ContactID"]
            ]
            assert contact["IsCustomer"] == any(d["Type"].startswith("ACCREC") for d in docs)
            assert contact["IsSupplier"] == any(d["Type"].startswith("ACCPAY") for d in docs)


def test_sample_seed_has_contacts_both_customer_and_supplier(sample):
    both = [c for c in sample["tenants"][0]["Contacts"] if c["IsCustomer"] and c["IsSupplier"]]
    assert len(both) >= 1


def test_sample_seed_has_contact_persons_with_email(sample):
    persons = [p for c in sample["tenants"][0]["Contacts"] for p in c["ContactPersons"]]
    assert persons and all("@" in p["EmailAddress"] for p in persons)


def test_sample_seed_updated_dates_not_in_future(sample):
    cap = parse_xero_date(SAMPLE_DAY.isoformat())
    assert all(parse_xero_date(i["UpdatedDateUTC"]) < cap for i in all_invoices(sample))


def test_sample_seed_loads_into_emulator(sample):
    assert len(Emulator(sample).tenant_ids) == 3


def test_seed_expected_and_fully_paid_dates_served_as_xero_dates():
    seed = seed_with_invoices(
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": ANA["ContactID"]},
            "Date": "2026-11-01",
            "Status": "AUTHORISED",
            "Total": 10,
            "ExpectedPaymentDate": "2026-12-12",
        },
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": ANA["ContactID"]},
            "Date": "2026-10-01",
            "Status": "PAID",
            "Total": 10,
            "Payments": [{"PaymentID": "p-1", "Date": "2026-10-20", "Amount": 10}],
            "FullyPaidOnDate": "2026-10-21",  # Xero's own date wins over the payments'
        },
    )
    emu = Emulator(seed)
    unpaid, paid = emu.tenant(seed["tenants"][0]["tenantId"]).invoices.values()
    assert unpaid["ExpectedPaymentDate"] == "/Date(1797033600000+0000)/"  # 2026-12-12
    assert paid["FullyPaidOnDate"] == "/Date(1792540800000+0000)/"  # 2026-10-21


def test_sample_seed_sets_a_few_expected_payment_dates_on_unpaid_invoices(sample):
    expected = [i for i in all_invoices(sample) if "ExpectedPaymentDate" in i]
    assert 3 <= len(expected) <= 10
    assert all(i["Status"] == "AUTHORISED" and i["AmountDue"] > 0 for i in expected)


def test_sample_seed_fully_paid_dates_match_the_last_payment(sample):
    for invoice in all_invoices(sample):
        if invoice["Status"] == "PAID" and invoice["Payments"]:
            last = max(parse_xero_date(p["Date"]) for p in invoice["Payments"])
            assert parse_xero_date(invoice["FullyPaidOnDate"]) == last

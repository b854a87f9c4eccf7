"""Control endpoints that change data, reset it, count calls and issue tokens."""

from __future__ import annotations

from decimal import Decimal

from xero_emulator import Emulator
from xero_emulator.xero_json import loads, parse_xero_date

from tests.emulator.helpers import (
    EXAMPLE_TENANT,
    OPEN_INVOICE,
    control,
    control_get,
    example,
    example_seed,
    new_invoice,
)


def test_control_off_by_default(clock):
    emu = Emulator(example_seed(), clock=clock)
    server = emu.serve(port=0)
    try:
        assert control_get(server.url, "stats").status_code == 404
    finally:
        server.shutdown()


def test_stats_shape(url, api):
    api("Invoices")
    api("Invoices")
    api("Organisation")
    stats = control_get(url, "stats").json()
    assert stats["tenants"][EXAMPLE_TENANT] == {
        "calls": 3,
        "rate_limited": 0,
        "errors": 0,
        "by_status": {},
        "by_endpoint": {"Invoices": 2, "Organisation": 1},
    }


def test_stats_count_error_answers_per_tenant_and_status(url, api):
    control(url, "faults", {"endpoint": "Invoices", "status": 503, "times": 2})
    api("Invoices")
    api("Invoices")
    api("Invoices")
    stats = control_get(url, "stats").json()
    entry = stats["tenants"][EXAMPLE_TENANT]
    assert (entry["calls"], entry["errors"], entry["by_status"]) == (3, 2, {"503": 2})


def test_stats_reset(url, api, emu):
    api("Invoices")
    control(url, "stats/reset")
    assert emu.stats()["tenants"][EXAMPLE_TENANT]["calls"] == 0


def test_create_invoice_computes_totals(url):
    answer = control(url, f"tenants/{EXAMPLE_TENANT}/invoices", new_invoice())
    created = loads(answer.content)["Invoices"][0]
    assert (created["Total"], created["AmountDue"], created["AmountPaid"]) == (
        Decimal("115.00"),
        Decimal("115.00"),
        Decimal("0.00"),
    )
    assert created["InvoiceNumber"] == "INV-0004"


def test_created_invoice_readable_through_api(url, api):
    created = control(url, f"tenants/{EXAMPLE_TENANT}/invoices", new_invoice()).json()["Invoices"][
        0
    ]
    got = api(f"Invoices/{created['InvoiceID']}").json()["Invoices"][0]
    assert got["InvoiceNumber"] == created["InvoiceNumber"]


def test_update_bumps_updated_date(url, clock, api):
    clock.advance(600)
    control(
        url, f"tenants/{EXAMPLE_TENANT}/invoices", {"InvoiceID": OPEN_INVOICE, "Reference": "new"}
    )
    got = api(f"Invoices/{OPEN_INVOICE}").json()["Invoices"][0]
    assert parse_xero_date(got["UpdatedDateUTC"]) == int(clock.now * 1000)


def test_update_seen_by_if_modified_since(url, clock, api):
    clock.advance(600)
    control(
        url, f"tenants/{EXAMPLE_TENANT}/invoices", {"InvoiceID": OPEN_INVOICE, "Reference": "x"}
    )
    got = api("Invoices", headers={"If-Modified-Since": "2020-01-01T00:00:00"}).json()["Invoices"]
    assert [i["InvoiceID"] for i in got] == [OPEN_INVOICE]


def test_payment_makes_invoice_part_paid(url):
    answer = control(
        url,
        f"tenants/{EXAMPLE_TENANT}/invoices/{OPEN_INVOICE}/payments",
        {"Amount": 15.00, "Date": "2026-11-20"},
    )
    invoice = loads(answer.content)["Invoices"][0]
    assert (invoice["AmountPaid"], invoice["AmountDue"], invoice["Status"]) == (
        Decimal("15.00"),
        Decimal("100.00"),
        "AUTHORISED",
    )


def test_full_payment_marks_paid(url):
    path = f"tenants/{EXAMPLE_TENANT}/invoices/{OPEN_INVOICE}/payments"
    control(url, path, {"Amount": 15.00, "Date": "2026-11-20"})
    invoice = control(url, path, {"Amount": 100.00, "Date": "2026-11-21"}).json()["Invoices"][0]
    assert invoice["Status"] == "PAID" and invoice["AmountDue"] == 0
    assert invoice["FullyPaidOnDate"] == "/Date(1795219200000+0000)/"


def test_overpayment_is_rejected(url):
    path = f"tenants/{EXAMPLE_TENANT}/invoices/{OPEN_INVOICE}/payments"
    assert control(url, path, {"Amount": 116}).status_code == 400


def test_payment_on_voided_invoice_is_rejected(url):
    voided = example("invoices_list.json")["Invoices"][0]["InvoiceID"]
    assert (
        control(
            url, f"tenants/{EXAMPLE_TENANT}/invoices/{voided}/payments", {"Amount": 1}
        ).status_code
        == 400
    )


def test_silent_due_date_change_keeps_updated_date(url, clock, api):
    before = api(f"Invoices/{OPEN_INVOICE}").json()["Invoices"][0]["UpdatedDateUTC"]
    clock.advance(600)
    control(
        url, f"tenants/{EXAMPLE_TENANT}/invoices/{OPEN_INVOICE}/silent", {"DueDate": "2026-12-31"}
    )
    got = api(f"Invoices/{OPEN_INVOICE}").json()["Invoices"][0]
    assert got["UpdatedDateUTC"] == before and got["DueDateString"] == "2026-12-31T00:00:00"


def test_part_paid_due_date_change_is_not_bumped_like_xero(url, clock, api):
    control(url, f"tenants/{EXAMPLE_TENANT}/invoices/{OPEN_INVOICE}/payments", {"Amount": 5})
    before = api(f"Invoices/{OPEN_INVOICE}").json()["Invoices"][0]["UpdatedDateUTC"]
    clock.advance(600)
    control(
        url,
        f"tenants/{EXAMPLE_TENANT}/invoices",
        {"InvoiceID": OPEN_INVOICE, "DueDate": "2026-12-31"},
    )
    assert api(f"Invoices/{OPEN_INVOICE}").json()["Invoices"][0]["UpdatedDateUTC"] == before


def test_bump_updated_false_flag(url, clock, api):
    before = api(f"Invoices/{OPEN_INVOICE}").json()["Invoices"][0]["UpdatedDateUTC"]
    clock.advance(600)
    control(
        url,
        f"tenants/{EXAMPLE_TENANT}/invoices",
        {"InvoiceID": OPEN_INVOICE, "Reference": "r", "bump_updated": False},
    )
    assert api(f"Invoices/{OPEN_INVOICE}").json()["Invoices"][0]["UpdatedDateUTC"] == before


def test_contact_rename_shows_on_invoices(url, api):
    other = "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7"
    control(url, f"tenants/{EXAMPLE_TENANT}/contacts", {"ContactID": other, "Name": "Barney R"})
    control(
        url, f"tenants/{EXAMPLE_TENANT}/contacts", {"ContactID": other, "Name": "Barney Rubble"}
    )
    got = api("Invoices/INV-0001").json()["Invoices"][0]
    assert got["Contact"]["Name"] == "Barney Rubble"


def test_new_sales_invoice_marks_contact_customer_without_bump(url, api):
    lisa = "3ec601ad-eddc-4ccb-a8ac-736e88293b1b"
    before = api(f"Contacts/{lisa}").json()["Contacts"][0]
    control(url, f"tenants/{EXAMPLE_TENANT}/invoices", new_invoice(Contact={"ContactID": lisa}))
    after = api(f"Contacts/{lisa}").json()["Contacts"][0]
    assert after["IsCustomer"] is True and after["UpdatedDateUTC"] == before["UpdatedDateUTC"]


def test_credit_note_allocation_reduces_invoice(url, api):
    note = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7"},
        "Date": "2026-06-02",
        "Status": "AUTHORISED",
        "Total": 15.00,
        "Allocations": [{"Amount": 15.00, "Invoice": {"InvoiceID": OPEN_INVOICE}}],
    }
    created = loads(control(url, f"tenants/{EXAMPLE_TENANT}/credit-notes", note).content)[
        "CreditNotes"
    ][0]
    invoice = loads(api(f"Invoices/{OPEN_INVOICE}").content)["Invoices"][0]
    assert created["Status"] == "PAID" and created["RemainingCredit"] == 0
    assert (invoice["AmountCredited"], invoice["AmountDue"]) == (
        Decimal("15.00"),
        Decimal("100.00"),
    )


def test_bad_invoice_names_the_field(url):
    answer = control(url, f"tenants/{EXAMPLE_TENANT}/invoices", new_invoice(Date="2026-13-45"))
    assert answer.status_code == 400 and "Date" in answer.json()["error"]


def test_unknown_tenant_is_404(url):
    answer = control(url, "tenants/00000000-0000-4000-8000-000000000000/invoices", new_invoice())
    assert answer.status_code == 404


def test_reset_restores_seed(url, api):
    control(url, f"tenants/{EXAMPLE_TENANT}/invoices", new_invoice())
    control(url, "reset")
    assert len(api("Invoices").json()["Invoices"]) == 3


def test_tokens_endpoint_issues_tokens(url):
    answer = control(url, "tokens", {"user_email": "solo@example.test"})
    assert answer.json()["token_type"] == "Bearer"

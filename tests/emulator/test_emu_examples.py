"""Every example body from Xero's OpenAPI spec round-trips: seeded in, read back unchanged."""

from __future__ import annotations

import re
from decimal import Decimal

from xero_emulator.xero_json import loads

from tests.emulator.helpers import EXAMPLE_TENANT, connections, example


def body(response):
    assert response.status_code == 200, response.text
    return loads(response.content)


def test_invoices_example_round_trips(api):
    got = body(api("Invoices", {"page": 1}))
    want = example("invoices_list.json")
    assert got["Invoices"] == want["Invoices"]


def test_invoices_example_pagination_matches(api):
    got = body(api("Invoices", {"page": 1}))
    assert got["pagination"] == example("invoices_list.json")["pagination"]


def test_invoices_example_money_is_exact_text(api):
    response = api("Invoices", {"page": 1})
    assert '"AmountPaid":46.00' in response.text
    assert '"CurrencyRate":1.000000' in response.text


def test_invoices_example_money_is_decimal_exact(api):
    got = body(api("Invoices", {"page": 1}))
    paid = got["Invoices"][1]
    assert paid["Total"] == Decimal("46.00")
    assert str(paid["Payments"][0]["Amount"]) == "46.00"


def test_envelope_has_xero_fields(api):
    got = body(api("Invoices", {"page": 1}))
    assert set(got) == {"Id", "Status", "ProviderName", "DateTimeUTC", "pagination", "Invoices"}
    assert got["Status"] == "OK"
    assert re.fullmatch(r"/Date\(\d+\)/", got["DateTimeUTC"])


def test_contacts_example_round_trips(api):
    got = body(api("Contacts", {"page": 1}))
    assert got["Contacts"] == example("contacts_list.json")["Contacts"]


def test_contacts_example_pagination_matches(api):
    got = body(api("Contacts", {"page": 1}))
    assert got["pagination"] == example("contacts_list.json")["pagination"]


def test_credit_notes_example_round_trips(api):
    got = body(api("CreditNotes", {"page": 1}))
    want = example("credit_notes_list.json")["CreditNotes"]
    assert sorted(got["CreditNotes"], key=lambda c: c["CreditNoteID"]) == sorted(
        want, key=lambda c: c["CreditNoteID"]
    )


def test_organisation_example_round_trips(api):
    got = body(api("Organisation"))
    assert got["Organisations"] == example("organisation.json")["Organisations"]


def test_single_invoice_matches_example(api):
    want = example("invoices_list.json")["Invoices"][1]
    got = body(api(f"Invoices/{want['InvoiceID']}"))
    assert got["Invoices"] == [want]


def test_invoice_by_number_matches_example(api):
    want = example("invoices_list.json")["Invoices"][2]
    got = body(api("Invoices/INV-0003"))
    assert got["Invoices"] == [want]


def test_payments_example_amounts_dates_match_embedded_payments(api):
    invoices = body(api("Invoices", {"page": 1}))["Invoices"]
    notes = body(api("CreditNotes", {"page": 1}))["CreditNotes"]
    embedded = {p["PaymentID"]: p for doc in [*invoices, *notes] for p in doc.get("Payments", [])}
    for payment in example("payments_list.json")["Payments"]:
        mine = embedded[payment["PaymentID"]]
        assert (mine["Date"], mine["Amount"], mine["CurrencyRate"]) == (
            payment["Date"],
            payment["Amount"],
            payment["CurrencyRate"],
        )


def test_online_invoice_has_example_shape(api):
    invoice_id = example("invoices_list.json")["Invoices"][2]["InvoiceID"]
    got = body(api(f"Invoices/{invoice_id}/OnlineInvoice"))
    want = example("online_invoice.json")
    assert set(got) == set(want)
    assert [set(o) for o in got["OnlineInvoices"]] == [set(o) for o in want["OnlineInvoices"]]


def test_connections_have_example_fields(url, tokens):
    got = connections(url, tokens["access_token"]).json()
    want = example("connections.json")[0]
    assert all(set(c) == set(want) | {"authEventId"} for c in got)


def test_connections_timestamps_have_seven_fraction_digits(url, tokens):
    got = connections(url, tokens["access_token"]).json()
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}"
    assert all(re.fullmatch(pattern, c["createdDateUtc"]) for c in got)
    assert all(re.fullmatch(pattern, c["updatedDateUtc"]) for c in got)


def test_connections_tenant_id_is_organisation_id(url, tokens, api):
    got = connections(url, tokens["access_token"]).json()
    org = body(api("Organisation"))["Organisations"][0]
    assert org["OrganisationID"] in {c["tenantId"] for c in got}
    assert org["OrganisationID"] == EXAMPLE_TENANT

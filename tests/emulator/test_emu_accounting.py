"""The Accounting API over the sample seed: lists, paging, contacts, credit notes, single
objects, online invoices, errors."""

from __future__ import annotations

import math

import requests
from xero_emulator.sample_seed import SAMPLE_TENANT_IDS

from tests.emulator.helpers import (
    EXAMPLE_TENANT,
    T1,
    all_pages,
    invoices,
)


def test_unpaged_list_returns_every_invoice(get, world):
    body = get("Invoices").json()
    assert len(body["Invoices"]) == len(invoices(world))
    assert "pagination" not in body


def test_unpaged_list_leaves_out_line_items(get):
    assert all("LineItems" not in i for i in get("Invoices").json()["Invoices"])


def test_paged_list_has_line_items(get):
    assert all("LineItems" in i for i in get("Invoices", {"page": 1}).json()["Invoices"])


def test_default_page_size_is_100(get, world):
    body = get("Invoices", {"page": 1}).json()
    total = len(invoices(world))
    assert body["pagination"] == {
        "page": 1,
        "pageSize": 100,
        "pageCount": math.ceil(total / 100),
        "itemCount": total,
    }
    assert len(body["Invoices"]) == 100


def test_pages_cover_every_invoice_once(get, world):
    got, _ = all_pages(get, "Invoices", {"pageSize": 37}, "Invoices")
    ids = [i["InvoiceID"] for i in got]
    assert len(ids) == len(set(ids)) == len(invoices(world))


def test_page_size_above_1000_is_capped(get):
    assert get("Invoices", {"page": 1, "pageSize": 5000}).json()["pagination"]["pageSize"] == 1000


def test_page_size_zero_is_validation_error(get):
    answer = get("Invoices", {"page": 1, "pageSize": 0})
    assert answer.status_code == 400 and answer.json()["Type"] == "ValidationException"


def test_page_past_end_is_empty(get):
    body = get("Invoices", {"page": 99}).json()
    assert body["Invoices"] == [] and body["pagination"]["page"] == 99


def test_big_customer_needs_two_pages(get, world):
    emu = world[0]
    big = next(c for c in emu.tenant(T1).contacts.values() if c["Name"].startswith("Greenfingers"))
    body = get("Invoices", {"ContactIDs": big["ContactID"], "page": 1}).json()
    assert body["pagination"]["itemCount"] > 120 and body["pagination"]["pageCount"] == 2


def test_dates_have_string_companions(get):
    invoice = get("Invoices", {"page": 1}).json()["Invoices"][0]
    assert invoice["DateString"].endswith("T00:00:00")
    assert invoice["UpdatedDateUTCString"].endswith("Z")
    assert invoice["Date"].endswith("+0000)/")


def test_contacts_exclude_archived_by_default(get, world):
    got = get("Contacts").json()["Contacts"]
    assert all(c["ContactStatus"] != "ARCHIVED" for c in got)


def test_contacts_include_archived(get, world):
    got = get("Contacts", {"includeArchived": "true"}).json()["Contacts"]
    assert len(got) == len(world[0].tenant(T1).contacts)


def test_contacts_where_contact_status_archived(get):
    got = get("Contacts", {"where": 'ContactStatus=="ARCHIVED"'}).json()["Contacts"]
    assert len(got) == 1


def test_contacts_search_term_matches_email(get, world):
    contact = next(iter(world[0].tenant(T1).contacts.values()))
    term = contact["EmailAddress"].upper()
    got = get("Contacts", {"searchTerm": term}).json()["Contacts"]
    assert [c["ContactID"] for c in got] == [contact["ContactID"]]


def test_contacts_search_term_ignores_contact_persons(get, world):
    got = get("Contacts", {"searchTerm": "hana@greenfingers.test"}).json()["Contacts"]
    assert got == []


def test_contacts_paging(get, world):
    body = get("Contacts", {"page": 1, "pageSize": 10}).json()
    assert len(body["Contacts"]) == 10 and body["pagination"]["pageSize"] == 10


def test_contacts_ids_filter(get, world):
    ids = list(world[0].tenant(T1).contacts)[:2]
    got = get("Contacts", {"IDs": ",".join(ids)}).json()["Contacts"]
    assert {c["ContactID"] for c in got} == set(ids)


def test_single_contact(get, world):
    cid = next(iter(world[0].tenant(T1).contacts))
    assert get(f"Contacts/{cid}").json()["Contacts"][0]["ContactID"] == cid


def test_credit_notes_where_type_and_contact(get, world):
    notes = world[0].tenant(T1).credit_notes.values()
    note = next(n for n in notes if n["Type"] == "ACCRECCREDIT")
    cid = note["Contact"]["ContactID"]
    where = f'Contact.ContactID==GUID("{cid}")&&Type=="ACCRECCREDIT"'
    got = get("CreditNotes", {"where": where}).json()["CreditNotes"]
    want = [n for n in notes if n["Contact"]["ContactID"] == cid and n["Type"] == "ACCRECCREDIT"]
    assert {n["CreditNoteID"] for n in got} == {n["CreditNoteID"] for n in want}


def test_credit_notes_include_supplier_credit(get):
    got = get("CreditNotes").json()["CreditNotes"]
    assert "ACCPAYCREDIT" in {n["Type"] for n in got}


def test_credit_notes_paging(get):
    body = get("CreditNotes", {"page": 1, "pageSize": 2}).json()
    assert len(body["CreditNotes"]) == 2 and body["pagination"]["itemCount"] > 2


def test_unknown_invoice_is_404(get):
    assert get("Invoices/00000000-0000-4000-8000-000000000000").status_code == 404


def test_unknown_endpoint_is_404(get):
    assert get("Widgets").status_code == 404


def test_missing_tenant_header_is_403(world):
    _, url, tokens = world
    answer = requests.get(
        f"{url}/api.xro/2.0/Invoices",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert answer.status_code == 403 and answer.json()["Title"] == "Forbidden"


def test_unconnected_tenant_is_403(get):
    answer = get("Invoices", tenant=SAMPLE_TENANT_IDS[2])
    assert answer.status_code == 403 and answer.json()["Detail"] == "AuthenticationUnsuccessful"


def test_missing_token_is_401(world):
    answer = requests.get(
        f"{world[1]}/api.xro/2.0/Invoices", headers={"xero-tenant-id": T1}, timeout=10
    )
    assert answer.status_code == 401


def test_online_invoice_for_draft_is_400(get, world):
    draft = next(i for i in invoices(world, Type="ACCREC", Status="DRAFT"))
    assert get(f"Invoices/{draft['InvoiceID']}/OnlineInvoice").status_code == 400


def test_online_invoice_url_serves_page(get, world):
    invoice = invoices(world, Type="ACCREC", Status="AUTHORISED")[0]
    link = get(f"Invoices/{invoice['InvoiceID']}/OnlineInvoice").json()["OnlineInvoices"][0]
    page = requests.get(link["OnlineInvoiceUrl"], timeout=10)
    assert invoice["InvoiceNumber"] in page.text


def test_unknown_online_invoice_page_is_404(get, world):
    base = get("Organisation").url.split("/api.xro/")[0]
    page = requests.get(f"{base}/in/{'0' * 40}", timeout=10)
    assert page.status_code == 404
    assert page.text == "The resource you're looking for cannot be found"


def test_example_tenant_constant_is_not_sample(get):
    assert get("Invoices", tenant=EXAMPLE_TENANT).status_code == 403

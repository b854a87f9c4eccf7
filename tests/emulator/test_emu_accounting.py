"""The Accounting API over the sample seed: filters, paging, order, If-Modified-Since, errors."""

from __future__ import annotations

import math
from email.utils import format_datetime

import pytest
import requests
from xero_emulator import Emulator
from xero_emulator.sample_seed import SAMPLE_TENANT_IDS
from xero_emulator.xero_json import parse_xero_date

from tests.emulator.conftest import EXAMPLE_TENANT

T1 = SAMPLE_TENANT_IDS[0]


@pytest.fixture(scope="module")
def world(sample):
    emu = Emulator(sample, clock=lambda: 1_782_900_000.0)
    server = emu.serve(port=0)
    tokens = emu.issue_tokens(user_email="owner@kiwi-garden.test")
    yield emu, server.url, tokens
    server.shutdown()


@pytest.fixture
def get(world):
    _, url, tokens = world

    def call(path, params=None, tenant=T1, headers=None):
        answer = requests.get(
            f"{url}/api.xro/2.0/{path}",
            params=params,
            headers={
                "Authorization": f"Bearer {tokens['access_token']}",
                "xero-tenant-id": tenant,
                **(headers or {}),
            },
            timeout=10,
        )
        return answer

    return call


def invoices(world, **where):
    emu = world[0]
    return [
        i for i in emu.tenant(T1).invoices.values() if all(i.get(k) == v for k, v in where.items())
    ]


def all_pages(get, path, params, key):
    out, page = [], 1
    while True:
        body = get(path, {**params, "page": page}).json()
        out.extend(body[key])
        if page >= body["pagination"]["pageCount"]:
            return out, body["pagination"]
        page += 1


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


def test_contact_ids_filter_is_exact(get, world):
    emu = world[0]
    contact = next(iter(emu.tenant(T1).contacts.values()))
    got = {
        i["InvoiceID"]
        for i in get("Invoices", {"ContactIDs": contact["ContactID"]}).json()["Invoices"]
    }
    want = {
        i["InvoiceID"] for i in invoices(world) if i["Contact"]["ContactID"] == contact["ContactID"]
    }
    assert got == want


def test_statuses_filter_is_exact(get, world):
    got = get("Invoices", {"Statuses": "AUTHORISED,PAID"}).json()["Invoices"]
    want = [i for i in invoices(world) if i["Status"] in {"AUTHORISED", "PAID"}]
    assert {i["InvoiceID"] for i in got} == {i["InvoiceID"] for i in want}


def test_statuses_alone_keep_bills(get):
    types = {i["Type"] for i in get("Invoices", {"Statuses": "AUTHORISED,PAID"}).json()["Invoices"]}
    assert types == {"ACCREC", "ACCPAY"}


def test_where_type_accrec_drops_bills(get, world):
    got = get("Invoices", {"where": 'Type=="ACCREC"'}).json()["Invoices"]
    assert len(got) == len(invoices(world, Type="ACCREC"))


def test_where_contact_and_type_combined(get, world):
    emu = world[0]
    contact = next(iter(emu.tenant(T1).contacts.values()))
    where = f'Contact.ContactID==GUID("{contact["ContactID"]}") AND Type=="ACCREC"'
    got = get("Invoices", {"where": where}).json()["Invoices"]
    want = [
        i
        for i in invoices(world, Type="ACCREC")
        if i["Contact"]["ContactID"] == contact["ContactID"]
    ]
    assert {i["InvoiceID"] for i in got} == {i["InvoiceID"] for i in want}


def test_where_status_with_ampersands(get, world):
    got = get("Invoices", {"where": 'Type=="ACCREC" && Status=="VOIDED"'}).json()["Invoices"]
    assert len(got) == len(invoices(world, Type="ACCREC", Status="VOIDED")) > 0


def test_where_or_and_not_combine_like_xero(get, world):
    where = '(Status=="VOIDED" || Status=="DELETED") AND NOT Type=="ACCPAY"'
    got = {i["InvoiceID"] for i in get("Invoices", {"where": where}).json()["Invoices"]}
    voided = invoices(world, Type="ACCREC", Status="VOIDED")
    deleted = invoices(world, Type="ACCREC", Status="DELETED")
    assert voided and deleted
    assert got == {i["InvoiceID"] for i in voided + deleted}


def test_where_amount_due_comparison(get, world):
    got = get("Invoices", {"where": "AmountDue > 0"}).json()["Invoices"]
    assert len(got) == len([i for i in invoices(world) if i["AmountDue"] > 0])


def test_where_date_comparison(get, world):
    got = get("Invoices", {"where": "Date >= DateTime(2026, 06, 01)"}).json()["Invoices"]
    cutoff = parse_xero_date("2026-06-01")
    assert len(got) == len([i for i in invoices(world) if parse_xero_date(i["Date"]) >= cutoff])


def test_where_unsupported_field_is_validation_error(get):
    answer = get("Invoices", {"where": 'Foo=="bar"'})
    body = answer.json()
    assert answer.status_code == 400 and body["ErrorNumber"] == 10
    assert body["Elements"][0]["ValidationErrors"][0]["Message"]


def test_where_garbage_is_validation_error(get):
    assert get("Invoices", {"where": "Type==="}).status_code == 400


def test_ids_filter(get, world):
    wanted = [i["InvoiceID"] for i in invoices(world)[:3]]
    got = get("Invoices", {"IDs": ",".join(wanted)}).json()["Invoices"]
    assert {i["InvoiceID"] for i in got} == set(wanted)


def test_invoice_numbers_filter(get):
    got = get("Invoices", {"InvoiceNumbers": "INV-0001,INV-0002"}).json()["Invoices"]
    assert sorted(i["InvoiceNumber"] for i in got) == ["INV-0001", "INV-0002"]


def test_order_date_desc(get):
    got = get("Invoices", {"order": "Date DESC", "page": 1}).json()["Invoices"]
    dates = [parse_xero_date(i["Date"]) for i in got]
    assert dates == sorted(dates, reverse=True)


def test_order_updated_asc(get):
    got = get("Invoices", {"order": "UpdatedDateUTC ASC", "page": 1}).json()["Invoices"]
    stamps = [parse_xero_date(i["UpdatedDateUTC"]) for i in got]
    assert stamps == sorted(stamps)


def test_order_unknown_field_is_validation_error(get):
    assert get("Invoices", {"order": "Colour DESC"}).status_code == 400


def test_summary_only_drops_line_items_and_payments(get):
    got = get("Invoices", {"summaryOnly": "true", "page": 1}).json()["Invoices"]
    assert all("LineItems" not in i and "Payments" not in i for i in got)


def updated_seconds(world):
    return sorted({parse_xero_date(i["UpdatedDateUTC"]) // 1000 for i in invoices(world)})


def test_if_modified_since_iso_returns_exact_set(get, world):
    cut = updated_seconds(world)[-20]
    header = __import__("datetime").datetime.fromtimestamp(cut, tz=__import__("datetime").UTC)
    got = get(
        "Invoices", headers={"If-Modified-Since": header.strftime("%Y-%m-%dT%H:%M:%S")}
    ).json()
    want = {
        i["InvoiceID"]
        for i in invoices(world)
        if parse_xero_date(i["UpdatedDateUTC"]) // 1000 >= cut
    }
    assert {i["InvoiceID"] for i in got["Invoices"]} == want


def test_if_modified_since_with_offset(get, world):
    import datetime as dt

    cut = updated_seconds(world)[-10]
    moment = dt.datetime.fromtimestamp(cut, tz=dt.timezone(dt.timedelta(hours=-8)))
    got = get("Invoices", headers={"If-Modified-Since": moment.isoformat()}).json()["Invoices"]
    assert all(parse_xero_date(i["UpdatedDateUTC"]) // 1000 >= cut for i in got)
    assert len(got) >= 10


def test_if_modified_since_http_date(get, world):
    import datetime as dt

    cut = updated_seconds(world)[-5]
    moment = dt.datetime.fromtimestamp(cut, tz=dt.UTC)
    got = get("Invoices", headers={"If-Modified-Since": format_datetime(moment, usegmt=True)})
    want = {
        i["InvoiceID"]
        for i in invoices(world)
        if parse_xero_date(i["UpdatedDateUTC"]) // 1000 >= cut
    }
    assert {i["InvoiceID"] for i in got.json()["Invoices"]} == want


def test_if_modified_since_future_returns_nothing(get):
    got = get("Invoices", headers={"If-Modified-Since": "2099-01-01T00:00:00"}).json()
    assert got["Invoices"] == []


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

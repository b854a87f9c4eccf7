"""The Accounting API's filters over the sample seed: IDs, numbers, statuses, where, order,
summaryOnly, If-Modified-Since."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

from xero_emulator.xero_json import parse_xero_date

from tests.emulator.helpers import (
    T1,
    invoices,
)


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
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    since = tomorrow.strftime("%Y-%m-%dT%H:%M:%S")
    got = get("Invoices", headers={"If-Modified-Since": since}).json()
    assert got["Invoices"] == []

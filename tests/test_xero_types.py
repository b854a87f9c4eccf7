from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests._xero_fixtures import example
from xero_panel.xero.timezones import XERO_TIMEZONES, xero_timezone_to_iana
from xero_panel.xero.types import (
    Invoice,
    parse_connection,
    parse_contact,
    parse_credit_note,
    parse_invoice,
    parse_organisation,
    parse_pagination,
    parse_payment,
)

# Every value of Xero's TimeZone enum (xero_accounting.yaml, v16.1.0).
_ENUM_TEXT = """
AFGHANISTANSTANDARDTIME ALASKANSTANDARDTIME ALEUTIANSTANDARDTIME ALTAISTANDARDTIME
ARABIANSTANDARDTIME ARABICSTANDARDTIME ARABSTANDARDTIME ARGENTINASTANDARDTIME
ASTRAKHANSTANDARDTIME ATLANTICSTANDARDTIME AUSCENTRALSTANDARDTIME AUSCENTRALWSTANDARDTIME
AUSEASTERNSTANDARDTIME AZERBAIJANSTANDARDTIME AZORESSTANDARDTIME BAHIASTANDARDTIME
BANGLADESHSTANDARDTIME BELARUSSTANDARDTIME BOUGAINVILLESTANDARDTIME CANADACENTRALSTANDARDTIME
CAPEVERDESTANDARDTIME CAUCASUSSTANDARDTIME CENAUSTRALIASTANDARDTIME CENTRALAMERICASTANDARDTIME
CENTRALASIASTANDARDTIME CENTRALBRAZILIANSTANDARDTIME CENTRALEUROPEANSTANDARDTIME
CENTRALEUROPESTANDARDTIME CENTRALPACIFICSTANDARDTIME CENTRALSTANDARDTIME
CENTRALSTANDARDTIME(MEXICO) CHATHAMISLANDSSTANDARDTIME CHINASTANDARDTIME CUBASTANDARDTIME
DATELINESTANDARDTIME EAFRICASTANDARDTIME EASTERISLANDSTANDARDTIME EASTERNSTANDARDTIME
EASTERNSTANDARDTIME(MEXICO) EAUSTRALIASTANDARDTIME EEUROPESTANDARDTIME EGYPTSTANDARDTIME
EKATERINBURGSTANDARDTIME ESOUTHAMERICASTANDARDTIME FIJISTANDARDTIME FLESTANDARDTIME
GEORGIANSTANDARDTIME GMTSTANDARDTIME GREENLANDSTANDARDTIME GREENWICHSTANDARDTIME GTBSTANDARDTIME
HAITISTANDARDTIME HAWAIIANSTANDARDTIME INDIASTANDARDTIME IRANSTANDARDTIME ISRAELSTANDARDTIME
JORDANSTANDARDTIME KALININGRADSTANDARDTIME KAMCHATKASTANDARDTIME KOREASTANDARDTIME
LIBYASTANDARDTIME LINEISLANDSSTANDARDTIME LORDHOWESTANDARDTIME MAGADANSTANDARDTIME
MAGALLANESSTANDARDTIME MARQUESASSTANDARDTIME MAURITIUSSTANDARDTIME MIDATLANTICSTANDARDTIME
MIDDLEEASTSTANDARDTIME MONTEVIDEOSTANDARDTIME MOROCCOSTANDARDTIME MOUNTAINSTANDARDTIME
MOUNTAINSTANDARDTIME(MEXICO) MYANMARSTANDARDTIME NAMIBIASTANDARDTIME NCENTRALASIASTANDARDTIME
NEPALSTANDARDTIME NEWFOUNDLANDSTANDARDTIME NEWZEALANDSTANDARDTIME NORFOLKSTANDARDTIME
NORTHASIAEASTSTANDARDTIME NORTHASIASTANDARDTIME NORTHKOREASTANDARDTIME OMSKSTANDARDTIME
PACIFICSASTANDARDTIME PACIFICSTANDARDTIME PACIFICSTANDARDTIME(MEXICO) PAKISTANSTANDARDTIME
PARAGUAYSTANDARDTIME QYZYLORDASTANDARDTIME ROMANCESTANDARDTIME RUSSIANSTANDARDTIME
RUSSIATIMEZONE10 RUSSIATIMEZONE11 RUSSIATIMEZONE3 SAEASTERNSTANDARDTIME SAINTPIERRESTANDARDTIME
SAKHALINSTANDARDTIME SAMOASTANDARDTIME SAOTOMESTANDARDTIME SAPACIFICSTANDARDTIME
SARATOVSTANDARDTIME SAWESTERNSTANDARDTIME SEASIASTANDARDTIME SINGAPORESTANDARDTIME
SOUTHAFRICASTANDARDTIME SOUTHSUDANSTANDARDTIME SRILANKASTANDARDTIME SUDANSTANDARDTIME
SYRIASTANDARDTIME TAIPEISTANDARDTIME TASMANIASTANDARDTIME TOCANTINSSTANDARDTIME
TOKYOSTANDARDTIME TOMSKSTANDARDTIME TONGASTANDARDTIME TRANSBAIKALSTANDARDTIME TURKEYSTANDARDTIME
TURKSANDCAICOSSTANDARDTIME ULAANBAATARSTANDARDTIME USEASTERNSTANDARDTIME USMOUNTAINSTANDARDTIME
UTC UTC+12 UTC+13 UTC02 UTC08 UTC09 UTC11 VENEZUELASTANDARDTIME VLADIVOSTOKSTANDARDTIME
VOLGOGRADSTANDARDTIME WAUSTRALIASTANDARDTIME WCENTRALAFRICASTANDARDTIME WESTASIASTANDARDTIME
WESTBANKSTANDARDTIME WESTPACIFICSTANDARDTIME WEUROPESTANDARDTIME WMONGOLIASTANDARDTIME
YAKUTSKSTANDARDTIME YUKONSTANDARDTIME
"""
XERO_TIMEZONE_ENUM = _ENUM_TEXT.split()


def _invoices() -> dict[str, Invoice]:
    parsed = [parse_invoice(d) for d in example("invoices_list")["Invoices"]]
    return {invoice.number: invoice for invoice in parsed}


def _inv(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = dict(example("invoices_list")["Invoices"][2])
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


# ---------------------------------------------------------------------------------------------
# Invoices
# ---------------------------------------------------------------------------------------------


def test_parse_invoice_example_count() -> None:
    assert list(_invoices()) == ["INV-0001", "INV-0002", "INV-0003"]


def test_parse_invoice_paid_example() -> None:
    invoice = _invoices()["INV-0002"]
    assert invoice.invoice_id == "046d8a6d-1ae1-4b4d-9340-5601bdf41b87"
    assert invoice.type == "ACCREC"
    assert invoice.status == "PAID"
    assert invoice.contact_id == "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7"
    assert invoice.contact_name == "Barney Rubble-83203"
    assert invoice.currency == "NZD"
    assert invoice.reference == "Red Fish, Blue Fish"


def test_parse_invoice_dates_are_calendar_dates() -> None:
    invoice = _invoices()["INV-0002"]
    assert invoice.date == date(2018, 10, 20)
    assert invoice.due_date == date(2018, 12, 30)
    assert invoice.fully_paid_on == date(2018, 11, 29)
    assert type(invoice.date) is date


def test_parse_invoice_expected_payment_date_is_a_calendar_date() -> None:
    data = {**example("invoices_list")["Invoices"][2]}
    data["ExpectedPaymentDate"] = "/Date(1765497600000+0000)/"  # 2025-12-12T00:00Z
    assert parse_invoice(data).expected_payment_on == date(2025, 12, 12)


def test_parse_invoice_expected_payment_date_absent_is_none() -> None:
    assert _invoices()["INV-0003"].expected_payment_on is None


def test_parse_invoice_updated_at_exact_utc() -> None:
    assert _invoices()["INV-0002"].updated_at == datetime(
        2018, 11, 2, 16, 36, 32, 690000, tzinfo=UTC
    )


def test_parse_invoice_amounts_exact_decimals() -> None:
    invoice = _invoices()["INV-0002"]
    assert invoice.total == Decimal("46.00")
    assert str(invoice.amount_paid) == "46.00"
    assert invoice.amount_due == Decimal("0.00")
    assert invoice.amount_credited == Decimal("0.00")


def test_parse_invoice_payment() -> None:
    (payment,) = _invoices()["INV-0002"].payments
    assert payment.payment_id == "99ea7f6b-c513-4066-bc27-b7c65dcd76c2"
    assert payment.date == date(2018, 11, 29)
    assert str(payment.amount) == "46.00"
    assert str(payment.currency_rate) == "1.000000"
    assert payment.reference is None


def test_parse_invoice_embedded_payment_without_status_counts_as_authorised() -> None:
    (payment,) = _invoices()["INV-0002"].payments
    assert payment.status == "AUTHORISED"


def test_parse_invoice_voided_example() -> None:
    invoice = _invoices()["INV-0001"]
    assert (invoice.status, invoice.total, invoice.payments) == ("VOIDED", Decimal("40.00"), ())


def test_parse_invoice_authorised_example() -> None:
    invoice = _invoices()["INV-0003"]
    assert invoice.status == "AUTHORISED"
    assert invoice.amount_due == Decimal("115.00")
    assert invoice.date == date(2018, 11, 2)
    assert invoice.due_date == date(2018, 11, 7)
    assert invoice.fully_paid_on is None


def test_parse_invoice_empty_reference_is_none() -> None:
    assert _invoices()["INV-0003"].reference is None


def test_parse_invoice_is_frozen() -> None:
    invoice = _invoices()["INV-0003"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        invoice.status = "PAID"  # type: ignore[misc]


def test_parse_invoice_unknown_status_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="xero_panel.xero.types"):
        invoice = parse_invoice(_inv(Status="ARCHIVED"))
    assert invoice.status == "UNKNOWN"
    assert "ARCHIVED" in caplog.text


def test_parse_invoice_unknown_type_falls_back() -> None:
    assert parse_invoice(_inv(Type="ACCRECSOMETHING")).type == "UNKNOWN"


def test_parse_invoice_iso_date_strings() -> None:
    invoice = parse_invoice(
        _inv(Date="2024-03-01", DueDate="2024-03-31T00:00:00", UpdatedDateUTC="2024-03-01T10:00:00")
    )
    assert (invoice.date, invoice.due_date) == (date(2024, 3, 1), date(2024, 3, 31))
    assert invoice.updated_at == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_parse_invoice_falls_back_to_date_string() -> None:
    body = _inv()
    del body["Date"]
    assert parse_invoice(body).date == date(2018, 11, 2)


def test_parse_invoice_without_due_date() -> None:
    body = _inv()
    del body["DueDate"], body["DueDateString"]
    assert parse_invoice(body).due_date is None


def test_parse_invoice_missing_date_raises() -> None:
    body = _inv()
    del body["Date"], body["DateString"]
    with pytest.raises(ValueError, match=r"Xero Invoice 7ef31b20-.* has no Date"):
        parse_invoice(body)


def test_parse_invoice_missing_invoice_id_raises() -> None:
    body = _inv()
    del body["InvoiceID"]
    with pytest.raises(ValueError, match="has no InvoiceID"):
        parse_invoice(body)


def test_parse_invoice_string_amounts() -> None:
    assert parse_invoice(_inv(Total="115.50")).total == Decimal("115.50")


def test_parse_invoice_float_amount_has_no_binary_noise() -> None:
    assert parse_invoice(_inv(AmountDue=0.1)).amount_due == Decimal("0.1")


# ---------------------------------------------------------------------------------------------
# Payments, credit notes
# ---------------------------------------------------------------------------------------------


def test_parse_payment_list_example() -> None:
    first, second = (parse_payment(p) for p in example("payments_list")["Payments"])
    assert (first.date, first.amount, first.status) == (
        date(2018, 11, 29),
        Decimal("46.00"),
        "AUTHORISED",
    )
    assert (second.date, second.reference, second.amount) == (
        date(2019, 3, 14),
        "Too much",
        Decimal("2.00"),
    )


def test_parse_payment_deleted_status() -> None:
    body = dict(example("payments_list")["Payments"][0], Status="DELETED")
    assert parse_payment(body).status == "DELETED"


def test_parse_credit_note_example() -> None:
    note = parse_credit_note(example("credit_notes_list")["CreditNotes"][0])
    assert note.credit_note_id == "249f15fa-f2a7-4acc-8769-0984103f2225"
    assert (note.number, note.type, note.status) == ("CN-0005", "ACCRECCREDIT", "AUTHORISED")
    assert note.contact_id == "430fa14a-f945-44d3-9f97-5df5e28441b8"
    assert note.date == date(2019, 3, 5)
    assert (note.currency, note.total, note.remaining_credit) == (
        "NZD",
        Decimal("34.50"),
        Decimal("32.50"),
    )
    assert note.updated_at == datetime(2019, 3, 5, 18, 59, 6, 157000, tzinfo=UTC)
    assert note.reference == "US Tour"


def test_parse_credit_note_draft_without_number() -> None:
    note = parse_credit_note(example("credit_notes_list")["CreditNotes"][1])
    assert (note.number, note.type, note.status) == ("", "ACCPAYCREDIT", "DRAFT")
    assert note.remaining_credit == Decimal("46.00")
    assert note.reference is None


# ---------------------------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------------------------


def test_parse_contact_example() -> None:
    contact = parse_contact(example("contacts_list")["Contacts"][0])
    assert contact.contact_id == "5cc8cf28-567e-4d43-b287-687cfcaec47c"
    assert (contact.name, contact.first_name, contact.last_name) == (
        "Katherine Warren",
        "Katherine",
        "Warren",
    )
    assert contact.email == "kat.warren@clampett.com"
    assert (contact.status, contact.is_customer, contact.is_supplier) == ("ACTIVE", True, True)
    assert contact.person_emails == ()
    assert contact.merged_to_contact_id is None
    assert contact.updated_at == datetime(2017, 8, 21, 20, 49, 4, 227000, tzinfo=UTC)


def test_parse_contact_not_customer_example() -> None:
    contact = parse_contact(example("contacts_list")["Contacts"][1])
    assert (contact.is_customer, contact.is_supplier) == (False, False)


def test_parse_contact_person_emails_skip_blanks() -> None:
    body = dict(
        example("contacts_list")["Contacts"][0],
        ContactPersons=[
            {"FirstName": "A", "EmailAddress": "a@example.com", "IncludeInEmails": True},
            {"FirstName": "B", "EmailAddress": ""},
            {"FirstName": "C"},
            {"FirstName": "D", "EmailAddress": "d@example.com"},
        ],
    )
    assert parse_contact(body).person_emails == ("a@example.com", "d@example.com")


def test_parse_contact_merged_to() -> None:
    target = "3ec601ad-eddc-4ccb-a8ac-736e88293b1b"
    body = dict(
        example("contacts_list")["Contacts"][0], ContactStatus="ARCHIVED", MergedToContactID=target
    )
    contact = parse_contact(body)
    assert (contact.status, contact.merged_to_contact_id) == ("ARCHIVED", target)


def test_parse_contact_nil_merged_to_is_none() -> None:
    body = dict(
        example("contacts_list")["Contacts"][0],
        MergedToContactID="00000000-0000-0000-0000-000000000000",
    )
    assert parse_contact(body).merged_to_contact_id is None


def test_parse_contact_empty_email_is_none() -> None:
    body = dict(example("contacts_list")["Contacts"][0], EmailAddress="")
    assert parse_contact(body).email is None


def test_parse_contact_gdpr_status() -> None:
    body = dict(example("contacts_list")["Contacts"][0], ContactStatus="GDPRREQUEST")
    assert parse_contact(body).status == "GDPRREQUEST"


def test_parse_contact_unknown_status_falls_back() -> None:
    body = dict(example("contacts_list")["Contacts"][0], ContactStatus="FROZEN")
    assert parse_contact(body).status == "UNKNOWN"


# ---------------------------------------------------------------------------------------------
# Organisation and timezones
# ---------------------------------------------------------------------------------------------


def test_parse_organisation_example() -> None:
    org = parse_organisation(example("organisation")["Organisations"][0])
    assert org.organisation_id == "b2c885a9-4bb9-4a00-9b6e-6c2bf60b1a2b"
    assert org.name == "Dev Evangelist - Sid Test 3 (NZ-2016-02)"
    assert org.short_code == "!mBdtL"
    assert (org.base_currency, org.country_code) == ("NZD", "NZ")
    assert (org.edition, org.status) == ("BUSINESS", "ACTIVE")


def test_parse_organisation_timezone_mapped() -> None:
    org = parse_organisation(example("organisation")["Organisations"][0])
    assert (org.timezone, org.xero_timezone) == ("Pacific/Auckland", "NEWZEALANDSTANDARDTIME")


def test_parse_organisation_unknown_timezone_falls_back_to_utc() -> None:
    body = dict(example("organisation")["Organisations"][0], Timezone="MARSSTANDARDTIME")
    org = parse_organisation(body)
    assert (org.timezone, org.xero_timezone) == ("UTC", "MARSSTANDARDTIME")


def test_parse_organisation_partner_edition() -> None:
    body = dict(example("organisation")["Organisations"][0], Edition="PARTNER")
    assert parse_organisation(body).edition == "PARTNER"


def test_xero_timezones_cover_the_whole_enum() -> None:
    assert sorted(XERO_TIMEZONES) == sorted(XERO_TIMEZONE_ENUM)


@pytest.mark.parametrize("xero_name", XERO_TIMEZONE_ENUM)
def test_xero_timezones_are_valid_iana_names(xero_name: str) -> None:
    ZoneInfo(XERO_TIMEZONES[xero_name])


@pytest.mark.parametrize(
    ("xero_name", "iana"),
    [
        ("NEWZEALANDSTANDARDTIME", "Pacific/Auckland"),
        ("AUSEASTERNSTANDARDTIME", "Australia/Sydney"),
        ("GMTSTANDARDTIME", "Europe/London"),
        ("EASTERNSTANDARDTIME", "America/New_York"),
        ("PACIFICSTANDARDTIME(MEXICO)", "America/Tijuana"),
        ("UTC+12", "Etc/GMT-12"),
        ("UTC11", "Etc/GMT+11"),
    ],
)
def test_xero_timezone_to_iana_known(xero_name: str, iana: str) -> None:
    assert xero_timezone_to_iana(xero_name) == iana


def test_xero_timezone_to_iana_spaced_windows_name() -> None:
    assert xero_timezone_to_iana("New Zealand Standard Time") == "Pacific/Auckland"


def test_xero_timezone_to_iana_unknown() -> None:
    assert xero_timezone_to_iana("NOWHERESTANDARDTIME") is None


def test_xero_timezone_offsets_match_the_windows_names() -> None:
    # Spot checks that the Etc/ signs are not inverted: Etc/GMT-12 is twelve hours *ahead*.
    winter = datetime(2024, 1, 15, 12, tzinfo=UTC)
    assert winter.astimezone(ZoneInfo(XERO_TIMEZONES["UTC+12"])).hour == 0
    assert winter.astimezone(ZoneInfo(XERO_TIMEZONES["UTC11"])).hour == 1


# ---------------------------------------------------------------------------------------------
# Connections and pagination
# ---------------------------------------------------------------------------------------------


def test_parse_connection_example() -> None:
    (connection,) = [parse_connection(c) for c in example("connections")]
    assert connection.id == "7cb59f93-2964-421d-bb5e-a0f7a4572a44"
    assert connection.tenant_id == "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"
    assert (connection.tenant_name, connection.tenant_type) == ("Demo Company (NZ)", "ORGANISATION")
    assert connection.auth_event_id is None


def test_parse_connection_timestamps_seven_digits_as_utc() -> None:
    connection = parse_connection(example("connections")[0])
    assert connection.created_at == datetime(2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC)
    assert connection.updated_at == datetime(2019, 12, 7, 18, 46, 19, 518784, tzinfo=UTC)


def test_parse_connection_auth_event_id() -> None:
    body = dict(example("connections")[0], authEventId="d99ecdfe-3a3a-4a2c-9f3f-2a0e8f0c7a10")
    assert parse_connection(body).auth_event_id == "d99ecdfe-3a3a-4a2c-9f3f-2a0e8f0c7a10"


def test_parse_pagination_example() -> None:
    pagination = parse_pagination(example("invoices_list")["pagination"])
    assert pagination is not None
    assert (pagination.page, pagination.page_size, pagination.page_count) == (1, 100, 1)
    assert pagination.item_count == 3


def test_parse_pagination_missing() -> None:
    assert parse_pagination(None) is None


def test_parse_pagination_incomplete() -> None:
    assert parse_pagination({"page": 1}) is None


def test_parse_contact_string_booleans() -> None:
    body = dict(example("contacts_list")["Contacts"][1], IsCustomer="true", IsSupplier="false")
    contact = parse_contact(body)
    assert (contact.is_customer, contact.is_supplier) == (True, False)


def test_xero_timezone_to_iana_empty() -> None:
    assert xero_timezone_to_iana("") is None

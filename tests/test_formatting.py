from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from xero_panel.panel.formatting import (
    Formatter,
    credit_note_text,
    due_text,
    normalise_locale,
    organisation_locale,
    payment_text,
    plain_amount,
    status_label,
    status_notes,
)
from xero_panel.panel.payment_rules import PaymentBehaviour
from xero_panel.panel.rows import InvoiceRow, PaymentRow

NOW = dt.datetime(2026, 11, 21, 11, 30, tzinfo=dt.UTC)


def row(**fields: object) -> InvoiceRow:
    base: dict[str, object] = {
        "organisation_id": 1,
        "organisation_name": "Kiwi",
        "short_code": "!k",
        "invoice_id": "id",
        "number": "INV-1",
        "kind": "invoice",
        "xero_status": "AUTHORISED",
        "status": "open",
        "date": dt.date(2026, 11, 1),
        "due_date": dt.date(2026, 12, 1),
        "currency": "NZD",
        "total": Decimal("100.00"),
        "balance": Decimal("100.00"),
        "amount_paid": Decimal("0.00"),
        "days_overdue": None,
        "payments": (),
        "pinned": False,
    }
    base.update(fields)
    return InvoiceRow(**base)  # type: ignore[arg-type]


def payments(n: int) -> tuple[PaymentRow, ...]:
    return tuple(
        PaymentRow(i, dt.date(2026, 1, i), Decimal("10.00"), None) for i in range(1, n + 1)
    )


def test_plain_amount_two_places() -> None:
    assert plain_amount(Decimal("1234.5")) == "1234.50"


def test_plain_amount_no_exponent() -> None:
    assert plain_amount(Decimal("1E+3")) == "1000.00"


def test_money_english() -> None:
    assert Formatter("en", NOW).money(Decimal("1234.5"), "NZD") == "NZ$1,234.50"


def test_money_german() -> None:
    assert Formatter("de_DE", NOW).money(Decimal("1234.5"), "USD") == "1.234,50\xa0US$"
    assert Formatter("de_DE", NOW).money(Decimal("1234.5"), "EUR") == "1.234,50\xa0€"


@pytest.mark.parametrize(
    ("locale", "currency", "text"),
    [
        ("en_US", "NZD", "NZ$333,725.05"),  # a US reader of a NZ organisation
        ("en_US", "USD", "$333,725.05"),  # the reader's own dollar
        ("en_NZ", "NZD", "$333,725.05"),
        ("en_NZ", "USD", "US$333,725.05"),
        ("en", "NZD", "NZ$333,725.05"),  # no country: no dollar is the reader's own
        ("en", "USD", "US$333,725.05"),
        ("en_AU", "AUD", "$333,725.05"),
        ("en_AU", "CAD", "CAD333,725.05"),  # the locale writes its code
        ("ja_JP", "USD", "US$333,725.05"),
        ("ja_JP", "JPY", "￥333,725"),
    ],
)
def test_money_names_its_currency_for_the_viewer(locale: str, currency: str, text: str) -> None:
    assert Formatter(locale, NOW).money(Decimal("333725.05"), currency) == text


def test_money_no_currency_is_blank() -> None:
    assert Formatter("en", NOW).money(Decimal("0"), "") == ""


def test_date_medium_en_nz() -> None:
    assert Formatter("en_NZ", NOW).date(dt.date(2026, 11, 21)) == "21 Nov 2026"


def test_date_none_is_blank() -> None:
    assert Formatter("en", NOW).date(None) == ""


def test_ago_long() -> None:
    assert Formatter("en", NOW).ago(NOW - dt.timedelta(hours=2)) == "2 hours ago"


def test_ago_short() -> None:
    assert Formatter("en", NOW).ago(NOW - dt.timedelta(minutes=2), short=True) == "2 min. ago"


def test_ago_future_clock_skew_says_a_second_ago() -> None:
    assert Formatter("en", NOW).ago(NOW + dt.timedelta(seconds=5)) == "1 second ago"


def test_normalise_locale_hyphen() -> None:
    assert normalise_locale("en-NZ") == "en_NZ"


def test_normalise_locale_unknown_falls_back() -> None:
    assert normalise_locale("xx_YY_bad") == "en"


def test_count_grouping() -> None:
    assert Formatter("en", NOW).count(2517) == "2,517"


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("paid", "Paid"),
        ("partially-paid", "Partially paid"),
        ("overdue", "Overdue"),
        ("open", "Open"),
    ],
)
def test_status_label_each(status: str, label: str) -> None:
    assert status_label(row(status=status)) == label


def test_status_label_paid_in_instalments() -> None:
    assert status_label(row(status="paid", payments=payments(3))) == "Paid in 3 payments"


def test_status_label_voided() -> None:
    assert status_label(row(status="voided", xero_status="VOIDED")) == "Voided in Xero"


def test_status_label_deleted() -> None:
    assert status_label(row(status="voided", xero_status="DELETED")) == "Deleted in Xero"


def test_status_label_missing_from_cache() -> None:
    assert status_label(row(status="voided", missing=True)) == "No longer in Xero"


def test_due_text_days_overdue_not_repeated_in_status_notes() -> None:
    r = row(status="overdue", days_overdue=12, due=("overdue", 12))
    assert due_text(r, Formatter("en", NOW)) == "12 days overdue"
    assert status_notes(r, Formatter("en", NOW)) == []


def test_due_text_one_day_overdue() -> None:
    r = row(status="overdue", days_overdue=1, due=("overdue", 1))
    assert due_text(r, Formatter("en", NOW)) == "1 day overdue"


def test_status_notes_payments_so_far() -> None:
    notes = status_notes(row(status="partially-paid", payments=payments(2)), Formatter("en", NOW))
    assert notes == ["2 payments so far"]


def test_status_notes_overdue_and_part_paid() -> None:
    r = row(status="overdue", days_overdue=3, payments=payments(1), due=("overdue", 3))
    assert status_notes(r, Formatter("en", NOW)) == ["1 payment so far"]
    assert due_text(r, Formatter("en", NOW)) == "3 days overdue"


# -- due text, credit notes, locale and currencies (issue 13) -----------------------------------


@pytest.mark.parametrize(
    ("due", "text"),
    [
        (("due", 0), "Due today"),
        (("due", 1), "Due tomorrow"),
        (("due", 3), "Due in 3 days"),
        (("overdue", 1), "1 day overdue"),
        (("overdue", 12), "12 days overdue"),
        (("overdue", 1234), "1,234 days overdue"),
        (None, ""),
    ],
)
def test_due_text(due: object, text: str) -> None:
    assert due_text(row(due=due), Formatter("en_NZ", NOW)) == text


def test_due_text_paid_on_day_month_in_locale_order() -> None:
    paid = row(due=("paid", None), fully_paid_on=dt.date(2026, 11, 4), balance=Decimal(0))
    assert due_text(paid, Formatter("en_NZ", NOW)) == "Paid 4 Nov"
    assert due_text(paid, Formatter("en_US", NOW)) == "Paid Nov 4"
    assert due_text(row(due=("paid", None)), Formatter("en_NZ", NOW)) == "Paid"


def test_due_text_paid_in_an_earlier_year_says_the_year() -> None:
    earlier = NOW.date().replace(year=NOW.year - 1, month=12, day=9)
    paid = row(due=("paid", None), fully_paid_on=earlier, balance=Decimal(0))
    assert due_text(paid, Formatter("en_NZ", NOW)) == f"Paid 9 Dec {NOW.year - 1}"
    assert due_text(paid, Formatter("en_US", NOW)) == f"Paid Dec 9, {NOW.year - 1}"


def test_credit_note_text_and_label_never_paid() -> None:
    note = row(kind="credit_note", balance=Decimal("20.00"), total=Decimal("50.00"))
    assert credit_note_text(note, Formatter("en_NZ", NOW)) == "$20.00 credit left"
    assert status_label(note) == "Credit available"
    used = row(kind="credit_note", balance=Decimal("0.00"), xero_status="PAID")
    assert credit_note_text(used, Formatter("en_NZ", NOW)) == "No credit left"
    assert status_label(used) == "Credit used"


@pytest.mark.parametrize(
    ("country", "locale"), [("NZ", "en_NZ"), ("AU", "en_AU"), ("GB", "en_GB"), ("nz", "en_NZ")]
)
def test_organisation_locale_from_country(country: str, locale: str) -> None:
    assert organisation_locale(country) == locale


@pytest.mark.parametrize("country", [None, "", "ZZZ", "1A"])
def test_organisation_locale_unknown(country: str | None) -> None:
    assert organisation_locale(country) is None


def test_dates_in_organisation_locale() -> None:
    assert Formatter("en_NZ", NOW).date(dt.date(2026, 11, 20)) == "20 Nov 2026"
    assert Formatter("en_AU", NOW).date(dt.date(2026, 11, 20)) == "20 Nov 2026"


def test_one_currency_keeps_the_locale_symbol() -> None:
    assert Formatter("en_NZ", NOW).money(Decimal("5"), "NZD") == "$5.00"
    assert Formatter("en_AU", NOW).money(Decimal("5"), "AUD") == "$5.00"


def test_several_currencies_say_which_dollar() -> None:
    nz = Formatter("en_NZ", NOW, currencies=2)
    assert [nz.money(Decimal("5"), c) for c in ("NZD", "AUD", "USD")] == [
        "NZ$5.00",
        "A$5.00",
        "US$5.00",
    ]
    au = Formatter("en_AU", NOW, currencies=2)
    assert au.money(Decimal("5"), "AUD") == "A$5.00"
    us = Formatter("en", NOW, currencies=2)
    assert us.money(Decimal("16112.9"), "USD") == "US$16,112.90"


def test_status_notes_say_the_expected_payment_date() -> None:
    expected = row(expected_payment_on=dt.date(2026, 12, 12))
    assert status_notes(expected, Formatter("en_NZ", NOW)) == ["Expected 12 Dec"]
    assert status_notes(expected, Formatter("en_US", NOW)) == ["Expected Dec 12"]


def behaviour(**fields: object) -> PaymentBehaviour:
    base: dict[str, object] = {
        "paid_count": 18,
        "on_time_count": 12,
        "avg_days_to_pay": 24,
        "avg_days_late": 9,
        "trend": "slower",
    }
    return PaymentBehaviour(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "text", "trend"),
    [
        (
            {},
            "Pays in 24 days on average (12 of 18 on time; late ones 9 days late)",
            "slower than the year before",
        ),
        (
            {"on_time_count": 18, "avg_days_late": None, "trend": "faster"},
            "Pays in 24 days on average (18 of 18 on time)",
            "faster than the year before",
        ),
        (
            {"avg_days_to_pay": 1, "avg_days_late": 1, "trend": "steady"},
            "Pays in 1 day on average (12 of 18 on time; late ones 1 day late)",
            "about as fast as the year before",
        ),
        (
            {"trend": "none"},
            "Pays in 24 days on average (12 of 18 on time; late ones 9 days late)",
            "",
        ),
        (
            {"paid_count": 2, "on_time_count": 1, "avg_days_to_pay": 5, "trend": "none"},
            "Not enough payment history yet (2 invoices paid)",
            "",
        ),
        (
            {"paid_count": 1, "on_time_count": 1, "avg_days_late": None, "trend": "none"},
            "Not enough payment history yet (1 invoice paid)",
            "",
        ),
        (
            {"paid_count": 0, "on_time_count": 0, "avg_days_to_pay": None, "trend": "none"},
            "Not enough payment history yet (0 invoices paid)",
            "",
        ),
    ],
)
def test_payment_text(fields: dict[str, object], text: str, trend: str) -> None:
    said = payment_text(behaviour(**fields), Formatter("en_NZ", NOW))
    assert (said.text, said.trend_text) == (text, trend)


def test_payment_text_data_attributes_are_plain_and_empty_for_none() -> None:
    said = payment_text(behaviour(avg_days_late=None, paid_count=1234), Formatter("de_DE", NOW))
    assert said.data == {
        "paid-count": "1234",
        "avg-days-to-pay": "24",
        "on-time-count": "12",
        "avg-days-late": "",
        "trend": "slower",
    }
    assert "(12 of 1.234 on time" in said.text  # digits in the locale's grouping

"""How a customer pays (xero_panel.panel.payment_rules), on SQLite and PostgreSQL: hand-worked
figures, worked out the same in SQL (the record's summary query) and in Python.

The clock is the unit tests' fixed ``NOW`` (21 November 2026, 11:30 UTC): already
22 November in Pacific/Auckland, still 21 November in UTC. So for the New Zealand
organisation the last 12 months are 23 Nov 2025 - 22 Nov 2026 and the year before
23 Nov 2024 - 22 Nov 2025; for the UTC one 22 Nov 2025 - 21 Nov 2026 and 22 Nov 2024 -
21 Nov 2025.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.panel_fixtures import NOW, TODAY_NZ, Cache
from xero_panel.models import Invoice, Organisation, XeroContact
from xero_panel.panel.payment_rules import (
    PaymentBehaviour,
    add_sums,
    average,
    months_before,
    payment_behaviour,
    period_of,
    sums_of,
)
from xero_panel.panel.queries import panel_page
from xero_panel.panel.rows import RecordRef
from xero_panel.panel.summaries import record_summary
from xero_panel.panel.view_rules import today_in

D = dt.date
RECORD = RecordRef("acme", "contact", "1")


@dataclass
class Books:
    session: Session
    cache: Cache
    orgs: list[Organisation]
    contacts: list[XeroContact]
    invoices: dict[str, Invoice]

    @property
    def keys(self) -> list[tuple[int, str]]:
        return [(c.organisation_id, c.contact_id) for c in self.contacts]

    def paid(
        self,
        name: str,
        date: dt.date,
        due: dt.date | None,
        paid_on: dt.date | None,
        *,
        org: int = 0,
        **fields: Any,
    ) -> Invoice:
        """An invoice paid in full on ``paid_on`` (Xero's FullyPaidOnDate), unless
        ``fields`` say otherwise (status, balance, type...)."""
        cache, organisation = self.cache, self.orgs[org]
        payments = fields.pop("payments", ())
        invoice = cache.invoice(
            organisation, self.contacts[org], number=name, date=date, due=due, payments=payments
        )
        invoice.status, invoice.balance, invoice.amount_paid = "PAID", Decimal(0), invoice.total
        invoice.fully_paid_on = paid_on
        for key, value in fields.items():
            setattr(invoice, key, value)
        self.session.flush()
        self.invoices[name] = invoice
        return invoice

    def behaviour(self, orgs: list[Organisation] | None = None) -> PaymentBehaviour:
        """In SQL: the summary's query."""
        orgs = self.orgs if orgs is None else orgs
        keys = [k for k in self.keys if k[0] in {o.id for o in orgs}]
        summary = record_summary(self.session, orgs, keys, now=NOW, payments=True)
        assert summary.payments is not None
        return summary.payments

    def behaviour_in_python(self) -> PaymentBehaviour:
        by_id = {o.id: o for o in self.orgs}
        return payment_behaviour(
            add_sums(
                sums_of(i, today_in(by_id[i.organisation_id], NOW)) for i in self.invoices.values()
            )
        )


def new_books(session: Session, zones: tuple[str, ...], account: str = "acme") -> Books:
    cache = Cache(session)
    connection = cache.connection(account)
    orgs = [cache.organisation(connection, f"Org {zone}", timezone=zone) for zone in zones]
    contacts = [cache.contact(org, "Totara Events", email="ap@totara.test") for org in orgs]
    return Books(session, cache, orgs, contacts, {})


@pytest.fixture
def books(session: Session) -> Books:
    """Two organisations, New Zealand's and one in UTC, with every case of the rules."""
    b = new_books(session, ("Pacific/Auckland", "UTC"))
    assert [today_in(o, NOW) for o in b.orgs] == [TODAY_NZ, D(2026, 11, 21)]
    # New Zealand, the last 12 months: days to pay, days late.
    b.paid("early", D(2026, 10, 1), D(2026, 10, 31), D(2026, 10, 21))  # 20, on time
    b.paid("on-due-date", D(2026, 9, 1), D(2026, 9, 30), D(2026, 9, 30))  # 29, on time
    b.paid("late", D(2026, 8, 1), D(2026, 8, 31), D(2026, 9, 10))  # 40, 10 late
    b.paid(  # 24, 5 late: the day the second payment cleared it
        "part-then-paid",
        D(2026, 7, 1),
        D(2026, 7, 20),
        D(2026, 7, 25),
        payments=[(D(2026, 7, 10), "50.00"), (D(2026, 7, 25), "50.00")],
    )
    b.paid(  # 14, on time: a credit note cleared it, no payment at all
        "credit-note",
        D(2026, 6, 1),
        D(2026, 6, 30),
        D(2026, 6, 15),
        amount_paid=Decimal(0),
        amount_credited=Decimal("100.00"),
    )
    b.paid("prepaid", D(2026, 5, 10), D(2026, 6, 9), D(2026, 5, 5))  # paid before: 0, on time
    b.paid("nz-today", D(2026, 11, 2), D(2026, 11, 30), D(2026, 11, 22))  # 20, on time
    b.paid("nz-first-day", D(2025, 10, 23), D(2025, 11, 22), D(2025, 11, 23))  # 31, 1 late
    # New Zealand, not counted now.
    b.paid("nz-tomorrow", D(2026, 11, 2), D(2026, 11, 30), D(2026, 11, 23))
    b.paid("part-paid", D(2026, 10, 1), D(2026, 10, 31), None, status="AUTHORISED")
    b.invoices["part-paid"].balance = Decimal("50.00")
    b.paid("voided", D(2026, 10, 1), D(2026, 10, 31), D(2026, 10, 5), status="VOIDED")
    b.paid("draft", D(2026, 10, 1), D(2026, 10, 31), D(2026, 10, 5), status="DRAFT")
    b.paid("deleted", D(2026, 10, 1), D(2026, 10, 31), D(2026, 10, 5), status="DELETED")
    b.paid(
        "credit-note-itself",
        D(2026, 10, 1),
        None,
        D(2026, 10, 5),
        xero_type="ACCRECCREDIT",
        kind="credit_note",
    )
    b.paid("no-fully-paid-date", D(2026, 10, 1), D(2026, 10, 31), None)
    # New Zealand, the year before.
    b.paid("nz-year-ago", D(2025, 10, 22), D(2025, 11, 21), D(2025, 11, 22))  # 31
    b.paid("nz-earliest", D(2024, 11, 3), D(2024, 12, 3), D(2024, 11, 23))  # 20
    b.paid("nz-two-years-ago", D(2024, 11, 1), D(2024, 12, 1), D(2024, 11, 22))  # neither
    # UTC: 22 November is still tomorrow there.
    b.paid("utc-tomorrow", D(2026, 11, 1), D(2026, 11, 15), D(2026, 11, 22), org=1)
    b.paid("utc-today", D(2026, 11, 1), D(2026, 11, 15), D(2026, 11, 21), org=1)  # 20, 6 late
    b.paid("utc-first-day", D(2025, 11, 1), D(2025, 12, 1), D(2025, 11, 22), org=1)  # 21
    b.paid("utc-year-ago", D(2025, 11, 1), D(2025, 12, 1), D(2025, 11, 21), org=1)  # 20
    return b


#: Last 12 months: 8 in New Zealand, 2 in UTC.
RECENT = {
    "early",
    "on-due-date",
    "late",
    "part-then-paid",
    "credit-note",
    "prepaid",
    "nz-today",
    "nz-first-day",
    "utc-today",
    "utc-first-day",
}
EARLIER = {"nz-year-ago", "nz-earliest", "utc-year-ago"}


def test_which_invoices_count_in_which_period(books: Books) -> None:
    by_id = {o.id: o for o in books.orgs}
    periods = {
        name: period_of(invoice, today_in(by_id[invoice.organisation_id], NOW))
        for name, invoice in books.invoices.items()
    }
    assert {n for n, p in periods.items() if p == 0} == RECENT
    assert {n for n, p in periods.items() if p == 1} == EARLIER


def test_hand_worked_figures_in_sql(books: Books) -> None:
    # Days to pay: 20 + 29 + 40 + 24 + 14 + 0 + 20 + 31 (NZ) + 20 + 21 (UTC) = 219 over 10
    # invoices = 21.9, so 22. Late: 10, 5, 1 (NZ) and 6 (UTC): 22 over 4 = 5.5, so 6.
    # The year before: 31 + 20 + 20 = 71 over 3 = 23.7, so 24: 2 days faster is steady.
    assert books.behaviour() == PaymentBehaviour(
        paid_count=10,
        on_time_count=6,
        avg_days_to_pay=22,
        avg_days_late=6,
        trend="steady",
        earlier_count=3,
        earlier_avg_days_to_pay=24,
    )


def test_sql_and_python_agree(books: Books) -> None:
    assert books.behaviour() == books.behaviour_in_python()


def test_each_organisation_counts_on_its_own_today(books: Books) -> None:
    nz, utc = books.orgs
    # NZ alone: 178 over 8 = 22.25, so 22; late 10, 5, 1: 16 over 3 = 5.33, so 5.
    assert books.behaviour([nz]) == PaymentBehaviour(8, 5, 22, 5, "none", 2, 26)
    # UTC alone: 20 + 21 = 41 over 2 = 20.5, so 21 (halves up); 1 late by 6.
    assert books.behaviour([utc]) == PaymentBehaviour(2, 1, 21, 6, "none", 1, 20)
    assert not books.behaviour([utc]).enough_history


def test_an_hour_later_in_utc_moves_only_the_utc_window(books: Books, session: Session) -> None:
    # 00:30 UTC on 22 November: the UTC organisation's today is 22 November too.
    later = dt.datetime(2026, 11, 22, 0, 30, tzinfo=dt.UTC)
    summary = record_summary(session, books.orgs, books.keys, now=later, payments=True)
    assert summary.payments is not None
    # utc-tomorrow (21 days, 7 late) now counts; utc-first-day (22 Nov 2025) is now a year ago.
    assert (summary.payments.paid_count, summary.payments.earlier_count) == (10, 4)


@pytest.mark.parametrize(
    ("now", "recent", "earlier"),
    [
        # 23:59 on 21 November in Auckland (NZDT, UTC+13): today is still the 21st there.
        (dt.datetime(2026, 11, 21, 10, 59, tzinfo=dt.UTC), {"nz-year-ago"}, set()),
        # A minute later it is the 22nd: nz-today counts, nz-year-ago moves a year back.
        (dt.datetime(2026, 11, 21, 11, 0, tzinfo=dt.UTC), {"nz-today"}, {"nz-year-ago"}),
    ],
)
def test_either_side_of_midnight_in_auckland(
    books: Books, now: dt.datetime, recent: set[str], earlier: set[str]
) -> None:
    nz = books.orgs[0]
    today = today_in(nz, now)
    found = {
        name: period_of(invoice, today)
        for name, invoice in books.invoices.items()
        if invoice.organisation_id == nz.id
    }
    assert {n for n, p in found.items() if p == 0} & {"nz-today", "nz-year-ago"} == recent
    assert {n for n, p in found.items() if p == 1} & {"nz-today", "nz-year-ago"} == earlier
    nz_keys = [k for k in books.keys if k[0] == nz.id]
    summary = record_summary(books.session, [nz], nz_keys, now=now, payments=True)
    assert summary.payments is not None
    assert summary.payments.paid_count == sum(1 for p in found.values() if p == 0) == 8


def test_without_payments_the_summary_has_none(books: Books) -> None:
    summary = record_summary(books.session, books.orgs, books.keys, now=NOW)
    assert summary.payments is None


def test_panel_page_carries_the_behaviour(books: Books) -> None:
    def page(**kw: Any) -> Any:
        return panel_page(books.session, books.orgs, books.keys, record=RECORD, now=NOW, **kw)

    assert page(payments=True).payments == books.behaviour()
    assert page().payments is None


def test_no_invoices_gives_zero_and_no_averages(session: Session) -> None:
    b = new_books(session, ("Pacific/Auckland",))
    assert b.behaviour() == PaymentBehaviour(0, 0, None, None, "none", 0, None)


# -- the trend: 3 days either way, rounded averages, at least 3 invoices a period -----------


def trend_books(
    session: Session, recent: list[int], earlier: list[int], account: str = "acme"
) -> Books:
    """Invoices paid ``days`` after their date, in each period (all on time)."""
    b = new_books(session, ("Pacific/Auckland",), account)
    for period, days_list in ((0, recent), (1, earlier)):
        for n, days in enumerate(days_list):
            paid_on = TODAY_NZ - dt.timedelta(days=10 + n + 365 * period)
            b.paid(f"p{period}-{n}", paid_on - dt.timedelta(days=days), paid_on, paid_on)
    return b


@pytest.mark.parametrize(
    ("recent", "earlier", "trend"),
    [
        ([23, 23, 23], [20, 20, 20], "slower"),  # 3 days longer
        ([22, 22, 22], [20, 20, 20], "steady"),  # 2 days longer
        ([17, 17, 17], [20, 20, 20], "faster"),  # 3 days shorter
        ([18, 18, 18], [20, 20, 20], "steady"),  # 2 days shorter
        ([22, 23, 23], [20, 20, 20], "slower"),  # 22.67 is 23: the rounded averages compare
        ([22, 22, 23], [20, 20, 20], "steady"),  # 22.33 is 22
        ([30, 30, 30], [20, 20], "none"),  # 2 the year before
        ([30, 30], [20, 20, 20], "none"),  # 2 in the last 12 months
    ],
)
def test_trend(session: Session, recent: list[int], earlier: list[int], trend: str) -> None:
    b = trend_books(session, recent, earlier)
    assert b.behaviour().trend == trend
    assert b.behaviour_in_python().trend == trend


def test_fewer_than_three_is_not_enough_history(session: Session) -> None:
    assert not trend_books(session, [5, 6], []).behaviour().enough_history
    assert trend_books(session, [5, 6, 7], [], "globex").behaviour().enough_history


# -- the pieces --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2026, 11, 22), 12, D(2025, 11, 22)),
        (D(2026, 11, 22), 24, D(2024, 11, 22)),
        (D(2028, 2, 29), 12, D(2027, 2, 28)),
        (D(2027, 3, 31), 1, D(2027, 2, 28)),
        (D(2026, 1, 15), 1, D(2025, 12, 15)),
    ],
)
def test_months_before(day: dt.date, months: int, expected: dt.date) -> None:
    assert months_before(day, months) == expected


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [(45, 2, 23), (44, 2, 22), (67, 3, 22), (68, 3, 23), (0, 5, 0), (10, 0, None)],
)
def test_average_rounds_halves_up(total: int, count: int, expected: int | None) -> None:
    assert average(total, count) == expected


# -- the demo's sample seed ------------------------------------------------------------------


def test_sample_seed_has_a_customer_of_each_trend(session: Session) -> None:
    from xero_emulator import sample_seed
    from xero_emulator.sample_seed import PAYMENT_HABITS

    from tests.panel_fixtures import load_tenant

    day = dt.date(2026, 7, 1)
    tenant = sample_seed(day)["tenants"][0]  # Kiwi Garden Supplies, the demo's Acme
    b = new_books(session, ("Pacific/Auckland",))
    load_tenant(session, b.orgs[0], tenant)
    now = dt.datetime(2026, 7, 1, 3, tzinfo=dt.UTC)  # 1 July in New Zealand
    ids = {c["Name"]: c["ContactID"] for c in tenant["Contacts"]}
    trends = {}
    for name in PAYMENT_HABITS:
        keys = [(b.orgs[0].id, ids[name])]
        summary = record_summary(session, b.orgs, keys, now=now, payments=True)
        assert summary.payments is not None and summary.payments.paid_count == 5
        trends[name] = summary.payments.trend
    assert sorted(trends.values()) == ["faster", "slower", "steady"]

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.panel_fixtures import NOW, TODAY_NZ, Cache
from xero_panel.models import Invoice, Organisation, Pin, XeroContact
from xero_panel.panel.queries import (
    panel_page,
    pin_invoice,
    record_invoice_row,
    set_pin,
    unpin_invoice,
)
from xero_panel.panel.rows import ZERO, RecordRef, deep_link
from xero_panel.panel.summaries import record_summary
from xero_panel.panel.view_rules import today_in

RECORD = RecordRef("acme", "contact", "1")


@dataclass
class World:
    session: Session
    cache: Cache
    org: Organisation
    customer: XeroContact

    @property
    def keys(self) -> list[tuple[int, str]]:
        return [(self.org.id, self.customer.contact_id)]

    def page(self, view: str = "unpaid", **kw: Any) -> Any:
        kw.setdefault("now", NOW)
        return panel_page(self.session, [self.org], self.keys, record=RECORD, view=view, **kw)  # type: ignore[arg-type]

    def numbers(self, view: str = "unpaid", **kw: Any) -> list[str]:
        return [r.number for r in self.page(view, **kw).rows]


@pytest.fixture
def world(session: Session) -> World:
    cache = Cache(session)
    connection = cache.connection("acme")
    org = cache.organisation(connection)
    customer = cache.contact(org, "Totara Events", email="ap@totara.test")
    return World(session, cache, org, customer)


def own_row(world: World, invoice_id: str, *, orgs: Any = None, keys: Any = None) -> Any:
    return record_invoice_row(
        world.session,
        [world.org] if orgs is None else orgs,
        world.keys if keys is None else keys,
        record=RECORD,
        organisation_id=world.org.id,
        invoice_id=invoice_id,
        now=NOW,
    )


def add(world: World, number: str, **kw: Any) -> Invoice:
    return world.cache.invoice(world.org, world.customer, number=number, **kw)


# -- today ------------------------------------------------------------------------------------


def test_today_in_auckland_is_ahead_of_utc(world: World) -> None:
    assert today_in(world.org, NOW) == TODAY_NZ


def test_today_in_unknown_zone_falls_back_to_utc(world: World) -> None:
    world.org.timezone = "Mars/Olympus"
    assert today_in(world.org, NOW) == dt.date(2026, 11, 21)


# -- views ------------------------------------------------------------------------------------


def test_unpaid_lists_balance_above_zero(world: World) -> None:
    add(world, "INV-1")
    add(world, "INV-2", paid="100.00")
    add(world, "INV-3", due=dt.date(2026, 1, 1))
    assert world.numbers("unpaid") == ["INV-3", "INV-1"]


def test_open_includes_due_today_in_org_timezone(world: World) -> None:
    add(world, "DUE-TODAY", due=TODAY_NZ)
    assert world.numbers("open") == ["DUE-TODAY"]


def test_overdue_excludes_due_today_in_org_timezone(world: World) -> None:
    add(world, "DUE-TODAY", due=TODAY_NZ)
    assert world.numbers("overdue") == []


def test_overdue_includes_due_yesterday_in_org_timezone(world: World) -> None:
    # 21 Nov is still today in UTC, but already yesterday in Auckland.
    add(world, "DUE-21", due=dt.date(2026, 11, 21))
    assert world.numbers("overdue") == ["DUE-21"]


def test_open_due_21_in_utc_organisation(world: World) -> None:
    world.org.timezone = "UTC"
    add(world, "DUE-21", due=dt.date(2026, 11, 21))
    assert world.numbers("open") == ["DUE-21"]


def test_open_without_due_date(world: World) -> None:
    add(world, "NO-DUE", due=None)
    assert world.numbers("open") == ["NO-DUE"]


def test_overdue_row_counts_days(world: World) -> None:
    add(world, "LATE", due=dt.date(2026, 11, 12))
    row = world.page("overdue").rows[0]
    assert (row.status, row.days_overdue) == ("overdue", 10)


def test_paid_needs_status_paid_and_zero_balance(world: World) -> None:
    add(world, "PAID", paid="100.00")
    add(world, "ZERO-AUTH", total="0.00", status="AUTHORISED")
    assert world.numbers("paid") == ["PAID"]


def test_paid_row_status(world: World) -> None:
    add(world, "PAID", paid="100.00")
    assert world.page("paid").rows[0].status == "paid"


def test_part_paid_is_partially_paid_when_not_due(world: World) -> None:
    add(world, "PART", payments=[(dt.date(2026, 10, 2), "30.00")])
    row = world.page().rows[0]
    assert (row.status, row.balance, row.amount_paid) == (
        "partially-paid",
        Decimal("70.00"),
        Decimal("30.00"),
    )


def test_part_paid_overdue_is_overdue(world: World) -> None:
    add(world, "PART-LATE", due=dt.date(2026, 11, 1), payments=[(dt.date(2026, 10, 2), "30.00")])
    row = world.page("overdue").rows[0]
    assert (row.status, row.shows_payments) == ("overdue", True)


def test_part_paid_single_payment_shows_payments(world: World) -> None:
    add(world, "PART", payments=[(dt.date(2026, 10, 2), "30.00")])
    assert world.page().rows[0].shows_payments


def test_paid_once_shows_no_payments(world: World) -> None:
    add(world, "ONCE", payments=[(dt.date(2026, 10, 2), "100.00")])
    assert not world.page("paid").rows[0].shows_payments


def test_paid_in_instalments_numbers_payments_by_date(world: World) -> None:
    add(
        world,
        "THREE",
        payments=[
            (dt.date(2026, 10, 9), "50.00"),
            (dt.date(2026, 10, 2), "25.00"),
            (dt.date(2026, 10, 5), "25.00"),
        ],
    )
    payments = world.page("paid").rows[0].payments
    assert [(p.number, p.date.day, p.amount) for p in payments] == [
        (1, 2, Decimal("25.00")),
        (2, 5, Decimal("25.00")),
        (3, 9, Decimal("50.00")),
    ]


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED", "VOIDED", "DELETED"])
def test_all_never_lists_non_receivables(world: World, status: str) -> None:
    add(world, "X", status=status)
    assert world.numbers("all") == []


def test_all_never_lists_supplier_bills(world: World) -> None:
    add(world, "BILL", xero_type="ACCPAY")
    add(world, "BILL-PAID", xero_type="ACCPAY", paid="100.00")
    assert [world.numbers(v) for v in ("unpaid", "paid", "all")] == [[], [], []]


def test_credit_note_listed_in_all_only(world: World) -> None:
    world.cache.credit_note(world.org, world.customer, number="CN-1", remaining="20.00")
    listed = {v: world.numbers(v) for v in ("unpaid", "open", "overdue", "paid", "all")}
    assert listed == {"unpaid": [], "open": [], "overdue": [], "paid": [], "all": ["CN-1"]}


def test_credit_note_balance_is_remaining_credit(world: World) -> None:
    world.cache.credit_note(world.org, world.customer, total="50.00", remaining="20.00")
    row = world.page("all").rows[0]
    assert (row.kind, row.balance, row.total) == ("credit_note", Decimal("20.00"), Decimal("50.00"))


def test_credit_note_draft_never_listed(world: World) -> None:
    world.cache.credit_note(world.org, world.customer, status="DRAFT")
    assert world.numbers("all") == []


def test_other_contacts_invoices_not_listed(world: World) -> None:
    other = world.cache.contact(world.org, "Someone else")
    world.cache.invoice(world.org, other, number="OTHER")
    assert world.numbers("all") == []


def test_no_contacts_lists_nothing(world: World) -> None:
    add(world, "INV-1")
    page = panel_page(world.session, [world.org], [], record=RECORD, view="all", now=NOW)
    assert (page.rows, page.count, page.totals) == ((), 0, ())


# -- order, search, dates, paging ---------------------------------------------------------------


def test_order_date_desc_then_number_desc(world: World) -> None:
    add(world, "INV-0009", date=dt.date(2026, 10, 1))
    add(world, "INV-0010", date=dt.date(2026, 10, 1))
    add(world, "INV-0001", date=dt.date(2026, 10, 3))
    assert world.numbers("all") == ["INV-0001", "INV-0010", "INV-0009"]


def test_search_case_insensitive_substring(world: World) -> None:
    add(world, "INV-0042")
    add(world, "INV-0142")
    add(world, "INV-0007")
    assert world.numbers("all", q="inv-01") == ["INV-0142"]


def test_search_like_wildcards_are_literal(world: World) -> None:
    add(world, "INV-0042")
    add(world, "A%B")
    assert world.numbers("all", q="%") == ["A%B"]


def test_dates_inclusive_both_ends(world: World) -> None:
    for day in (1, 2, 3, 4):
        add(world, f"D{day}", date=dt.date(2026, 10, day))
    got = world.numbers("all", date_from=dt.date(2026, 10, 2), date_to=dt.date(2026, 10, 3))
    assert got == ["D3", "D2"]


def test_date_from_only(world: World) -> None:
    add(world, "OLD", date=dt.date(2026, 1, 1))
    add(world, "NEW", date=dt.date(2026, 9, 1))
    assert world.numbers("all", date_from=dt.date(2026, 6, 1)) == ["NEW"]


def test_search_and_dates_narrow_a_view(world: World) -> None:
    add(world, "INV-100", date=dt.date(2026, 10, 1), paid="100.00")
    add(world, "INV-101", date=dt.date(2026, 10, 1))
    add(world, "INV-102", date=dt.date(2026, 8, 1))
    add(world, "XYZ-103", date=dt.date(2026, 10, 1))
    got = world.numbers("unpaid", q="INV", date_from=dt.date(2026, 9, 1))
    assert got == ["INV-101"]


def test_paging_past_25_rows(world: World) -> None:
    for n in range(30):
        add(world, f"INV-{n:04d}", date=dt.date(2026, 1, 1) + dt.timedelta(days=n))
    first, second = world.page("all"), world.page("all", page=2)
    assert (len(first.rows), first.count, first.last_page, first.has_more) == (25, 30, 2, True)
    assert [r.number for r in second.rows] == [f"INV-{n:04d}" for n in range(4, -1, -1)]
    assert not second.has_more


def test_paging_custom_page_size(world: World) -> None:
    for n in range(5):
        add(world, f"INV-{n}")
    assert world.page("all", page_size=2).last_page == 3


def test_paging_page_past_end_has_no_rows(world: World) -> None:
    add(world, "INV-1")
    page = world.page("all", page=3)
    assert (page.rows, page.last_page) == ((), 1)


# -- totals -------------------------------------------------------------------------------------


def test_totals_per_currency_never_mixed(world: World) -> None:
    add(world, "N1", total="100.00", paid="40.00")
    add(world, "N2", total="50.50", paid="50.50")
    add(world, "U1", currency="USD", total="10.00")
    totals = {
        t.currency: (t.paid, t.unpaid) for t in record_summary(world.session, (), world.keys).totals
    }
    assert totals == {
        "NZD": (Decimal("90.50"), Decimal("60.00")),
        "USD": (Decimal("0.00"), Decimal("10.00")),
    }


def test_totals_exclude_credit_notes_drafts_voided_bills(world: World) -> None:
    add(world, "N1", total="100.00")
    add(world, "DRAFT", status="DRAFT")
    add(world, "VOID", status="VOIDED")
    add(world, "BILL", xero_type="ACCPAY")
    world.cache.credit_note(world.org, world.customer, remaining="30.00")
    (total,) = record_summary(world.session, (), world.keys).totals
    assert (total.paid, total.unpaid) == (Decimal("0.00"), Decimal("100.00"))


def test_totals_not_narrowed_by_view_search_or_dates(world: World) -> None:
    add(world, "A", total="100.00", date=dt.date(2026, 1, 1))
    add(world, "B", total="20.00", paid="20.00")
    page = world.page("paid", q="B", date_from=dt.date(2026, 6, 1))
    assert [(t.paid, t.unpaid) for t in page.totals] == [(Decimal("20.00"), Decimal("100.00"))]


# -- pins ---------------------------------------------------------------------------------------


def pin(world: World, invoice: Invoice, record: RecordRef = RECORD) -> None:
    pin_invoice(
        world.session,
        record=record,
        organisation_id=world.org.id,
        invoice_id=invoice.xero_id,
        pinned_by="rep@acme.test",
    )
    world.session.flush()


def test_pinned_lists_pins_of_the_record(world: World) -> None:
    a = add(world, "A")
    add(world, "B")
    pin(world, a)
    assert world.numbers("pinned") == ["A"]


def test_pinned_flag_on_rows_of_other_views(world: World) -> None:
    a = add(world, "A")
    add(world, "B")
    pin(world, a)
    assert [(r.number, r.pinned) for r in world.page("all").rows] == [("B", False), ("A", True)]


def test_pin_idempotent(world: World) -> None:
    a = add(world, "A")
    pin(world, a)
    pin(world, a)
    assert world.session.query(Pin).count() == 1


def test_unpin_idempotent(world: World) -> None:
    a = add(world, "A")
    pin(world, a)
    for _ in range(2):
        unpin_invoice(
            world.session, record=RECORD, organisation_id=world.org.id, invoice_id=a.xero_id
        )
        world.session.flush()
    assert world.numbers("pinned") == []


def test_pinned_voided_later_stays_marked(world: World) -> None:
    a = add(world, "A")
    pin(world, a)
    a.status = "VOIDED"
    world.session.flush()
    row = world.page("pinned").rows[0]
    assert (row.number, row.status, row.xero_status) == ("A", "voided", "VOIDED")


def test_pinned_voided_later_leaves_other_views(world: World) -> None:
    a = add(world, "A")
    pin(world, a)
    a.status = "VOIDED"
    world.session.flush()
    assert world.numbers("all") == []


def test_pinned_deleted_status_stays_marked(world: World) -> None:
    a = add(world, "A")
    pin(world, a)
    a.status = "DELETED"
    world.session.flush()
    assert world.page("pinned").rows[0].status == "voided"


def test_pinned_removed_from_cache_stays_as_missing_row(world: World) -> None:
    a = add(world, "A")
    pin(world, a)
    world.session.delete(a)
    world.session.flush()
    (row,) = world.page("pinned").rows
    assert (row.missing, row.status, row.invoice_id) == (True, "voided", a.xero_id)


def test_pinned_narrowed_by_search(world: World) -> None:
    a, b = add(world, "INV-A"), add(world, "INV-B")
    pin(world, a)
    pin(world, b)
    assert world.numbers("pinned", q="b") == ["INV-B"]


def test_pinned_count_and_paging(world: World) -> None:
    for n in range(3):
        pin(world, add(world, f"P{n}", date=dt.date(2026, 1, n + 1)))
    page = world.page("pinned", page_size=2, page=2)
    assert ([r.number for r in page.rows], page.count) == (["P0"], 3)


def test_pins_isolated_between_crm_accounts(world: World) -> None:
    a = add(world, "A")
    pin(world, a, RecordRef("globex", "contact", "1"))
    assert world.numbers("pinned") == []


def test_pins_isolated_between_records(world: World) -> None:
    a = add(world, "A")
    pin(world, a, RecordRef("acme", "account", "1"))
    assert world.numbers("pinned") == []


def test_pins_of_unselected_organisation_not_listed(world: World) -> None:
    a = add(world, "A")
    pin(world, a)
    other = world.cache.organisation(world.org.connection, "Other")
    page = panel_page(world.session, [other], [], record=RECORD, view="pinned", now=NOW)
    assert page.rows == ()


def test_record_invoice_row_own_invoice(world: World) -> None:
    a = add(world, "A")
    row = own_row(world, a.xero_id)
    assert row is not None and row.number == "A"


def test_record_invoice_row_other_contacts_invoice_is_none(world: World) -> None:
    other = world.cache.contact(world.org, "Else")
    b = world.cache.invoice(world.org, other)
    row = own_row(world, b.xero_id)
    assert row is None


def test_record_invoice_row_draft_is_none(world: World) -> None:
    a = add(world, "A", status="DRAFT")
    row = own_row(world, a.xero_id)
    assert row is None


def test_record_invoice_row_pinned_voided_still_found(world: World) -> None:
    a = add(world, "A")
    pin(world, a)
    a.status = "VOIDED"
    row = own_row(world, a.xero_id, keys=[])
    assert row is not None and row.status == "voided" and row.pinned


def test_record_invoice_row_unselected_organisation_is_none(world: World) -> None:
    a = add(world, "A")
    row = own_row(world, a.xero_id, orgs=[])
    assert row is None


# -- organisations ------------------------------------------------------------------------------


def test_two_organisations_rows_carry_their_names(world: World) -> None:
    other_org = world.cache.organisation(
        world.org.connection, "Kiwi AU", timezone="Australia/Sydney"
    )
    other = world.cache.contact(other_org, "Totara AU")
    add(world, "NZ-1", date=dt.date(2026, 10, 2))
    world.cache.invoice(other_org, other, number="AU-1", currency="AUD", date=dt.date(2026, 10, 1))
    keys = [*world.keys, (other_org.id, other.contact_id)]
    page = panel_page(
        world.session, [world.org, other_org], keys, record=RECORD, view="all", now=NOW
    )
    assert [(r.number, r.organisation_name) for r in page.rows] == [
        ("NZ-1", "Kiwi Garden Supplies Ltd"),
        ("AU-1", "Kiwi AU"),
    ]
    assert [t.currency for t in page.totals] == ["AUD", "NZD"]


def test_due_today_per_organisation_timezone(world: World) -> None:
    # 11:30 UTC on 21 Nov is the 22nd in Auckland (UTC+13) but 22:30 on the 21st in Sydney
    # (UTC+11): an invoice due on the 21st is overdue in NZ and due today in AU.
    au = world.cache.organisation(world.org.connection, "AU", timezone="Australia/Sydney")
    au_contact = world.cache.contact(au, "AU customer")
    add(world, "NZ", due=dt.date(2026, 11, 21))
    world.cache.invoice(au, au_contact, number="AU", due=dt.date(2026, 11, 21))
    keys = [*world.keys, (au.id, au_contact.contact_id)]

    def numbers(view: str) -> list[str]:
        page = panel_page(world.session, [world.org, au], keys, record=RECORD, view=view, now=NOW)  # type: ignore[arg-type]
        return [r.number for r in page.rows]

    assert (numbers("overdue"), numbers("open")) == (["NZ"], ["AU"])


# -- deep links ---------------------------------------------------------------------------------


def test_deep_link_invoice_with_short_code() -> None:
    assert deep_link("https://go.xero.com", "!kGs7Q", "invoice", "abc-1") == (
        "https://go.xero.com/organisationlogin/default.aspx?shortcode=!kGs7Q"
        "&redirecturl=/AccountsReceivable/View.aspx?InvoiceID=abc-1"
    )


def test_deep_link_credit_note_with_short_code() -> None:
    assert deep_link("https://go.xero.com/", "!x", "credit_note", "cn-1") == (
        "https://go.xero.com/organisationlogin/default.aspx?shortcode=!x"
        "&redirecturl=/AccountsReceivable/ViewCreditNote.aspx?creditNoteID=cn-1"
    )


def test_deep_link_keeps_its_parameters_apart_whatever_the_ids() -> None:
    """``/``, ``?`` and ``=`` stand as they are, but an ``&`` or ``#`` in a short code or id
    never splits Xero's parameters: each value reads back as it was."""
    url = deep_link("https://go.xero.com", "!a&b=c", "invoice", "id&x=1#y")
    query = parse_qs(urlsplit(url).query)
    assert query["shortcode"] == ["!a&b=c"]
    (redirect,) = query["redirecturl"]
    assert parse_qs(urlsplit(redirect).query) == {"InvoiceID": ["id&x=1#y"]}


def test_deep_link_without_short_code() -> None:
    assert deep_link("https://go.xero.com", None, "invoice", "abc-1") == (
        "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID=abc-1"
    )


# -- cost ---------------------------------------------------------------------------------------


def count_queries(world: World, view: str) -> int:
    statements: list[str] = []
    engine = world.session.get_bind()

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        page = world.page(view)
        assert page.rows
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return len(statements)


def fill(world: World, n: int) -> None:
    for i in range(n):
        invoice = add(
            world,
            f"INV-{i:05d}",
            date=dt.date(2026, 1, 1) + dt.timedelta(days=i % 300),
            payments=[(dt.date(2026, 2, 1), "10.00"), (dt.date(2026, 2, 2), "10.00")],
        )
        if i % 7 == 0:
            pin(world, invoice)
    world.session.commit()


@pytest.mark.parametrize("view", ["unpaid", "all", "pinned"])
def test_query_count_same_for_5_and_500_invoices(session: Session, view: str) -> None:
    counts = []
    for n in (5, 500):
        cache = Cache(session)
        connection = cache.connection(f"acct-{n}")
        org = cache.organisation(connection)
        customer = cache.contact(org, f"Customer {n}")
        w = World(session, cache, org, customer)
        fill(w, n)
        session.expire_all()
        session.refresh(org)  # loaded, as the view has them
        session.refresh(customer)
        counts.append(count_queries(w, view))
    # the summary (totals, ageing, fingerprint) and the page (rows, count, pins, payments)
    assert counts[0] == counts[1] == 2


def set_pin_of(world: World, invoice_id: str, *, pinned: bool) -> Any:
    return set_pin(
        world.session,
        [world.org],
        world.keys,
        record=RECORD,
        organisation_id=world.org.id,
        invoice_id=invoice_id,
        pinned=pinned,
        pinned_by="rep@acme.test",
    )


def test_set_pin_pins_and_unpins_the_records_own_row(world: World) -> None:
    a = add(world, "A")
    assert set_pin_of(world, a.xero_id, pinned=True).pinned is True
    assert [r.number for r in world.page("pinned").rows] == ["A"]
    assert set_pin_of(world, a.xero_id, pinned=False).pinned is False
    assert world.page("pinned").rows == ()


def test_set_pin_refuses_another_contacts_invoice(world: World) -> None:
    other = world.cache.invoice(world.org, world.cache.contact(world.org, "Else"))
    assert set_pin_of(world, other.xero_id, pinned=True) is None
    assert world.session.scalars(select(Pin)).all() == []


def test_unpinning_a_deleted_invoice_answers_with_its_last_row(world: World) -> None:
    a = add(world, "A")
    pin(world, a)
    world.session.delete(a)
    world.session.flush()
    row = set_pin_of(world, a.xero_id, pinned=False)
    assert (row.missing, row.pinned) == (True, True)
    assert world.page("pinned").rows == ()


# -- issue 13: sorting, ageing, age filter, credits and the totals' explanation ----------------

D = dt.timedelta(days=1)


def aged(world: World) -> None:
    """Unpaid invoices at every bucket edge (in NZD and AUD) and one paid."""
    for number, days, currency in (
        ("INV-T0", 0, "NZD"),  # due today: current
        ("INV-F3", -3, "NZD"),  # due in 3 days: current
        ("INV-30", 30, "NZD"),
        ("INV-31", 31, "NZD"),
        ("INV-90", 90, "AUD"),
        ("INV-91", 91, "AUD"),
        ("INV-A1", 1, "AUD"),
    ):
        add(world, number, due=TODAY_NZ - days * D, total="100.00", paid="10.00", currency=currency)
    add(world, "INV-PD", due=TODAY_NZ - 200 * D, total="100.00", paid="100.00")


def test_aging_buckets_per_currency_at_the_edges(world: World) -> None:
    aged(world)
    strip = {(a.bucket, a.currency): (a.amount, a.count) for a in world.page().aging}
    ninety = Decimal("90.00")
    assert strip == {
        ("current", "AUD"): (ZERO, 0),
        ("1-30", "AUD"): (ninety, 1),
        ("31-60", "AUD"): (ZERO, 0),
        ("61-90", "AUD"): (ninety, 1),
        ("90+", "AUD"): (ninety, 1),
        ("current", "NZD"): (2 * ninety, 2),
        ("1-30", "NZD"): (ninety, 1),
        ("31-60", "NZD"): (ninety, 1),
        ("61-90", "NZD"): (ZERO, 0),
        ("90+", "NZD"): (ZERO, 0),
    }
    # In order: currency by currency, buckets from current to 90+.
    assert [(a.currency, a.bucket) for a in world.page().aging][:5] == [
        ("AUD", b) for b in ("current", "1-30", "31-60", "61-90", "90+")
    ]


def test_aging_uses_the_organisations_today(world: World) -> None:
    # Due 21 Nov: in Auckland (22 Nov) one day overdue; in UTC (21 Nov) due today.
    add(world, "INV-E", due=dt.date(2026, 11, 21))
    assert {a.bucket for a in world.page().aging if a.count} == {"1-30"}
    world.org.timezone = "UTC"
    assert {a.bucket for a in world.page().aging if a.count} == {"current"}


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        ("current", ["INV-T0", "INV-F3"]),
        ("1-30", ["INV-30", "INV-A1"]),
        ("31-60", ["INV-31"]),
        ("61-90", ["INV-90"]),
        ("90+", ["INV-91"]),
    ],
)
def test_age_filter(world: World, age: str, expected: list[str]) -> None:
    aged(world)
    assert sorted(world.numbers(age=age)) == sorted(expected)


def test_age_filter_combines_with_view_search_and_dates(world: World) -> None:
    aged(world)
    assert sorted(world.numbers("overdue", age="current")) == []
    assert sorted(world.numbers("open", age="current")) == ["INV-F3", "INV-T0"]
    assert world.numbers("all", age="1-30", q="A1") == ["INV-A1"]
    assert world.numbers("paid", age="90+") == []
    add(world, "INV-OLD", date=dt.date(2025, 1, 1), due=TODAY_NZ - 40 * D)
    assert world.numbers(age="31-60", date_to=dt.date(2025, 12, 31)) == ["INV-OLD"]
    assert sorted(world.numbers(age="31-60", date_from=dt.date(2026, 1, 1))) == ["INV-31"]


def test_sorts(world: World) -> None:
    add(world, "INV-1", date=dt.date(2026, 9, 1), due=dt.date(2026, 12, 20), total="50.00")
    add(world, "INV-2", date=dt.date(2026, 10, 1), due=dt.date(2026, 11, 1), total="500.00")
    add(world, "INV-3", date=dt.date(2026, 11, 1), due=None, total="5.00")
    add(world, "INV-4", date=dt.date(2026, 8, 1), due=dt.date(2026, 11, 10), total="90.00")
    assert world.numbers(sort="date") == ["INV-3", "INV-2", "INV-1", "INV-4"]
    assert world.numbers(sort="due") == ["INV-2", "INV-4", "INV-1", "INV-3"]
    assert world.numbers(sort="balance") == ["INV-2", "INV-4", "INV-1", "INV-3"]
    pin(world, world.cache.session.scalars(select(Invoice).where(Invoice.number == "INV-3")).one())
    pin(world, world.cache.session.scalars(select(Invoice).where(Invoice.number == "INV-1")).one())
    assert world.numbers("pinned", sort="balance") == ["INV-1", "INV-3"]
    assert world.numbers("pinned", sort="date") == ["INV-3", "INV-1"]


def test_totals_say_what_they_include_and_unused_credit(world: World) -> None:
    add(world, "INV-P", total="200.00", paid="50.00")  # part-paid, unpaid
    add(world, "INV-F", total="100.00", paid="100.00")
    credited = add(world, "INV-C", total="190.32", paid="0.00")
    credited.amount_credited = Decimal("50.00")
    credited.balance = Decimal("140.32")
    world.cache.credit_note(world.org, world.customer, total="300.00", remaining="197.00")
    world.cache.credit_note(
        world.org, world.customer, total="20.00", remaining="0.00", status="PAID"
    )
    world.cache.credit_note(
        world.org, world.customer, total="9.00", remaining="9.00", currency="AUD"
    )
    world.session.flush()
    totals = {t.currency: t for t in world.page().totals}
    nzd = totals["NZD"]
    assert (nzd.paid, nzd.unpaid, nzd.part_paid, nzd.credited, nzd.credit) == (
        Decimal("150.00"),
        Decimal("290.32"),
        Decimal("50.00"),
        Decimal("50.00"),
        Decimal("197.00"),
    )
    assert nzd.has_invoices
    aud = totals["AUD"]
    assert (aud.credit, aud.has_invoices) == (Decimal("9.00"), False)
    row = next(r for r in world.page().rows if r.number == "INV-C")
    assert row.amount_credited == Decimal("50.00")


def test_credit_note_rows_never_paid(world: World) -> None:
    world.cache.credit_note(world.org, world.customer, number="CN-U", remaining="20.00")
    world.cache.credit_note(
        world.org, world.customer, number="CN-P", total="20.00", remaining="0.00", status="PAID"
    )
    rows = {r.number: r for r in world.page("all").rows}
    assert (rows["CN-U"].status, rows["CN-P"].status) == ("open", "open")
    assert rows["CN-U"].due is None and rows["CN-P"].due is None

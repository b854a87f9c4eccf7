"""The rep's receivables view over HTTP (issue 13): due text on every row, sorting, the
ageing strip and its ``age=`` filter, credits, what the totals include, the locale, and the
live update's cheap version check."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.clock import TODAY, Clock
from tests.panel_app import (
    PANEL,
    Seeded,
    by_testid,
    error_text,
    numbers,
    rows,
    token_of,
)
from tests.panel_fixtures import Cache
from xero_panel.models import Invoice, Organisation, Pin
from xero_panel.state import get_state
from xero_panel.sync.scheduling import CacheOnlyScheduler
from xero_panel.sync.state import read_cache_status, record_success

D = dt.timedelta(days=1)


@pytest.fixture
def seeded(seeded: Seeded) -> Seeded:
    """The panel tests' seed plus invoices in each ageing bucket, a credited one and a paid
    date (the clock stopped on ``TODAY`` by the outer fixture)."""
    host = seeded.host
    with host.app.app_context():
        session = host.db.session
        cache = Cache(session, today=TODAY)
        org = session.get(Organisation, seeded.org_id)
        assert org is not None
        for number, days, currency in (
            ("AGE-030", 30, "NZD"),
            ("AGE-031", 31, "NZD"),
            ("AGE-090", 90, "USD"),
            ("AGE-091", 91, "USD"),
        ):
            cache.invoice(
                org,
                seeded.contact_id,
                number=number,
                date=TODAY - 120 * D,
                due=TODAY - days * D,
                total="10.00",
                currency=currency,
            )
        credited = cache.invoice(
            org, seeded.contact_id, number="INV-0167", date=TODAY - 2 * D, total="190.32"
        )
        paid = session.query(Invoice).filter_by(number="INV-0001").one()
        paid.fully_paid_on = TODAY - 9 * D
        credited.amount_credited = credited.total - credited.balance + 50
        credited.balance = credited.total - 50
        session.commit()
    return seeded


def texts(page: str, testid: str) -> dict[str, str]:
    """Each row's number and the text of its element ``testid``."""
    out = {}
    for block in re.findall(r'<tr class="xp-row".*?</tr>', page, re.S):
        number = re.search(r'data-invoice-number="([^"]*)"', block)
        found = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', block)
        if number and found:
            out[html.unescape(number.group(1))] = html.unescape(found.group(1)).strip()
    return out


def attrs(tag: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in re.findall(r'(data-[\w-]+)="([^"]*)"', tag)}


# -- due text -----------------------------------------------------------------------------------


def test_due_text_on_every_row(seeded: Seeded) -> None:
    due = texts(seeded.html("/contact/1?view=all"), "due")
    assert due["INV-0003"] == "5 days overdue"
    assert due["INV-0004"] == "Due today"
    assert due["INV-<b>5"] == "Due in 30 days"
    assert due["AGE-091"] == "91 days overdue"
    paid_on = TODAY - 9 * D  # the host gives no locale and the organisation no country: en
    # A paid date in an earlier year says its year (in the first days of January).
    year = f", {paid_on.year}" if paid_on.year != TODAY.year else ""
    assert due["INV-0001"] == f"Paid {paid_on.strftime('%b')} {paid_on.day}{year}"
    assert due["CN-0001"] == "NZ$50.00 credit left"
    assert set(due) == set(numbers(seeded.html("/contact/1?view=all")))


# -- sorting -------------------------------------------------------------------------------------


def test_sorts_and_the_sort_control(seeded: Seeded) -> None:
    by_due = numbers(seeded.html("/contact/1?sort=due"))
    assert by_due[:3] == ["AGE-091", "AGE-090", "AGE-031"]
    by_balance = numbers(seeded.html("/contact/1?sort=balance"))
    assert by_balance[0] == "INV-0167"
    page = seeded.html("/contact/1?sort=balance")
    current = [t for t in by_testid_attr(page, "data-sort") if "aria-current" in t]
    assert len(current) == 1 and 'data-sort="balance"' in current[0]
    assert {attrs(t)["data-sort"] for t in by_testid_attr(page, "data-sort")} == {
        "date",
        "due",
        "balance",
    }


def by_testid_attr(page: str, name: str) -> list[str]:
    return re.findall(rf"<a[^>]*{name}=[^>]*>", page)


def test_sort_kept_in_host_url_and_view_links(seeded: Seeded) -> None:
    response = seeded.get(
        "/contact/1?sort=due&age=31-60", **{"HX-Current-URL": "http://crm.test/contacts/1"}
    )
    assert response.headers["HX-Replace-Url"] == "/contacts/1?xp_sort=due&xp_age=31-60"
    page = response.get_data(as_text=True)
    overdue = re.search(r'<a class="xp-view" data-view="overdue"[^>]*>', page)
    assert overdue and "sort=due" in overdue.group(0) and "age=31-60" in overdue.group(0)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sort=newest", "sort must be one of date, due, balance"),
        ("age=30", "age must be one of current, 1-30, 31-60, 61-90, 90+"),
        ("age=%00", "The parameter age has a control character; send plain text."),
    ],
)
def test_bad_sort_and_age_400(seeded: Seeded, query: str, message: str) -> None:
    response = seeded.host.client("rep-acme").get(f"{PANEL}/contact/1?{query}", headers=HX_)
    assert (response.status_code, error_text(response)) == (400, message)


HX_ = {"HX-Request": "true"}


# -- ageing ----------------------------------------------------------------------------------------


def strip(page: str) -> dict[tuple[str, str], tuple[str, str]]:
    out = {}
    for tag in re.findall(r"<a class=\"xp-age\"[^>]*>", page):
        a = attrs(tag)
        out[(a["data-bucket"], a["data-currency"])] = (a["data-amount"], a["data-count"])
    return out


def test_aging_strip_buckets_per_currency(seeded: Seeded) -> None:
    page = seeded.html()
    assert by_testid(page, "aging")
    got = strip(page)
    # NZD: INV-0002 (100 left, due in ~1 month), INV-<b>5 and INV-0167: current; INV-0003 (5
    # days) and AGE-030: 1-30; AGE-031: 31-60. USD: INV-0004 due today: current; 90 and 91.
    assert got[("current", "NZD")] == ("250.32", "3")
    assert got[("1-30", "NZD")] == ("60.00", "2")
    assert got[("31-60", "NZD")] == ("10.00", "1")
    assert got[("current", "USD")] == ("75.25", "1")
    assert got[("61-90", "USD")] == ("10.00", "1")
    assert got[("90+", "USD")] == ("10.00", "1")
    assert len(got) == 10


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("age=1-30", ["INV-0003", "AGE-030"]),
        ("age=31-60", ["AGE-031"]),
        ("age=61-90", ["AGE-090"]),
        ("age=90%2B", ["AGE-091"]),
        ("age=current&view=open", ["INV-0167", "INV-0002", "INV-0004", "INV-<b>5"]),
        ("age=1-30&view=overdue&q=AGE", ["AGE-030"]),
        ("age=1-30&view=paid", []),
        (f"age=1-30&from={(TODAY - 60 * D).isoformat()}", ["INV-0003"]),
        (f"age=1-30&to={(TODAY - 60 * D).isoformat()}", ["AGE-030"]),
    ],
)
def test_age_filter_with_views_search_and_dates(
    seeded: Seeded, query: str, expected: list[str]
) -> None:
    assert sorted(numbers(seeded.html(f"/contact/1?{query}"))) == sorted(expected)


def test_current_bucket_link_clears_the_age(seeded: Seeded) -> None:
    page = seeded.html("/contact/1?age=31-60")
    tag = re.search(r'<a class="xp-age" data-bucket="31-60" data-currency="NZD"[^>]*>', page)
    assert tag and 'aria-current="true"' in tag.group(0) and "age=" not in tag.group(0)
    other = re.search(r'<a class="xp-age" data-bucket="1-30" data-currency="NZD"[^>]*>', page)
    assert other and "age=1-30" in other.group(0)


# -- credits and totals ---------------------------------------------------------------------------


def test_credited_invoice_says_how_much(seeded: Seeded) -> None:
    page = seeded.html()
    (row,) = [r for r in rows(page) if r["data-invoice-number"] == "INV-0167"]
    assert (row["data-credited"], row["data-balance"], row["data-total"]) == (
        "50.00",
        "140.32",
        "190.32",
    )
    assert texts(page, "credited") == {"INV-0167": "NZ$50.00 credited"}
    assert all(
        "data-credited" not in r for r in rows(page) if r["data-invoice-number"] != "INV-0167"
    )


def test_credit_note_row_typed_credit_note_never_paid(seeded: Seeded) -> None:
    page = seeded.html("/contact/1?view=all")
    (row,) = [r for r in rows(page) if r["data-type"] == "credit_note"]
    assert row["data-status"] != "paid"
    assert texts(page, "status")["CN-0001"] == "Credit available"
    block = re.search(r'<tr class="xp-row"[^>]*data-invoice-number="CN-0001".*?</tr>', page, re.S)
    assert block and ">Credit note<" in block.group(0)


def test_unused_credit_and_totals_explanation(seeded: Seeded) -> None:
    page = seeded.html()
    (credit,) = by_testid(page, "total-credit")
    assert (attrs(credit)["data-currency"], attrs(credit)["data-amount"]) == ("NZD", "50.00")
    notes = texts_by_testid(page)
    assert notes["total-note-paid"] == "includes NZ$200.00 part-paid on unpaid invoices"
    assert notes["total-note-unpaid"] == "after NZ$50.00 of credit applied"


def texts_by_testid(page: str) -> dict[str, str]:
    return {
        k: html.unescape(v).strip()
        for k, v in re.findall(r'data-testid="(total-note-\w+)"[^>]*>([^<]*)<', page)
    }


# -- locale ---------------------------------------------------------------------------------


def set_country(seeded: Seeded, country_code: str) -> None:
    """The organisation's country as Xero reports it (the panel's default locale)."""
    with seeded.host.app.app_context():
        org = seeded.host.db.session.get(Organisation, seeded.org_id)
        assert org is not None
        org.country_code = country_code
        seeded.host.db.session.commit()


def test_the_viewers_locale_not_the_organisations_country(seeded: Seeded) -> None:
    set_country(seeded, "NZ")
    page = seeded.html()  # no locale selector: XERO_PANEL_DEFAULT_LOCALE, "en"
    day = TODAY - 30 * D
    assert re.search(rf"<time[^>]*>\w{{3}} {day.day}, {day.year}</time>", page)
    assert ">NZ$320.32</a>" in page and ">US$95.25</a>" in page  # every $ says which


def test_host_locale_wins_over_the_country(seeded: Seeded) -> None:
    set_country(seeded, "NZ")
    seeded.host.panel.locale_selector(lambda: "en_US")
    page = seeded.html()
    day = TODAY - 30 * D
    assert re.search(rf"<time[^>]*>\w{{3}} {day.day}, {day.year}</time>", page)


# -- live update: the version check ---------------------------------------------------------


def version_of(page: str) -> str:
    found = re.search(r'data-version="([0-9a-f]+)"', page)
    assert found
    return found.group(1)


def test_version_check_204_until_the_cache_changes(seeded: Seeded) -> None:
    client = seeded.host.client("rep-acme")
    version = version_of(seeded.html())
    same = client.get(f"{PANEL}/contact/1/version?v={version}", headers=HX_)
    assert (same.status_code, same.get_data()) == (204, b"")
    with seeded.host.app.app_context():
        session = seeded.host.db.session
        invoice = session.query(Invoice).filter_by(number="INV-0003").one()
        invoice.balance = invoice.balance - 10
        invoice.amount_paid = invoice.amount_paid + 10
        session.commit()
    changed = client.get(f"{PANEL}/contact/1/version?v={version}", headers=HX_)
    assert changed.status_code == 200
    assert len(changed.get_data()) < 40 and changed.get_data(as_text=True) != version
    assert version_of(seeded.html()) == changed.get_data(as_text=True)


def test_version_changes_with_pins(seeded: Seeded) -> None:
    client = seeded.host.client("rep-acme")
    version = version_of(seeded.html())
    token = token_of(client)
    pin = client.post(
        f"{PANEL}/contact/1/pins/{seeded.org_id}/{seeded.ids['INV-0003']}",
        headers={**HX_, "X-CSRFToken": token},
    )
    assert pin.status_code == 200
    assert client.get(f"{PANEL}/contact/1/version?v={version}").status_code == 200


def test_version_changes_when_a_pin_moves_to_another_invoice(seeded: Seeded, clock: Clock) -> None:
    """Unpinning the newest pin and pinning another invoice keeps the pins' count and, on
    SQLite (which reuses the highest id), their highest id: the version still changes."""
    client = seeded.host.client("rep-acme")
    token = token_of(client)
    headers = {**HX_, "X-CSRFToken": token}
    pins = f"{PANEL}/contact/1/pins/{seeded.org_id}"
    assert client.post(f"{pins}/{seeded.ids['INV-0003']}", headers=headers).status_code == 200
    version = version_of(seeded.html())
    clock.advance(seconds=1)
    assert client.delete(f"{pins}/{seeded.ids['INV-0003']}", headers=headers).status_code == 200
    assert client.post(f"{pins}/{seeded.ids['INV-0001']}", headers=headers).status_code == 200
    with seeded.host.app.app_context():
        ids = seeded.host.db.session.scalars(select(Pin.id)).all()
    moved = client.get(f"{PANEL}/contact/1/version?v={version}", headers=HX_)
    assert moved.status_code == 200, ids
    assert version_of(seeded.html()) == moved.get_data(as_text=True)


def test_version_check_needs_login(seeded: Seeded) -> None:
    response = seeded.host.app.test_client().get(f"{PANEL}/contact/1/version?v=x")
    assert response.status_code in (302, 401, 403)


class Counting:
    """A scheduler that counts what it is asked (each could call Xero)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.asked = 0

    def ensure_fresh(self, *args: Any, **kw: Any) -> Any:
        self.asked += 1
        return self.inner.ensure_fresh(*args, **kw)

    def refresh_record(self, *args: Any, **kw: Any) -> Any:
        self.asked += 1
        return self.inner.refresh_record(*args, **kw)


def test_live_reload_and_version_check_never_ask_the_sync(seeded: Seeded) -> None:
    state = get_state(seeded.host.app)
    counting = Counting(state.scheduler)
    state.scheduler = counting  # type: ignore[assignment]
    client = seeded.host.client("rep-acme")
    live = client.get(f"{PANEL}/contact/1", headers={**HX_, "X-Xero-Panel-Live": "1"})
    assert live.status_code == 200 and 'data-testid="last-updated"' in live.get_data(as_text=True)
    client.get(f"{PANEL}/contact/1/version?v=x", headers=HX_)
    assert counting.asked == 0
    client.get(f"{PANEL}/contact/1", headers=HX_)
    assert counting.asked == 1


class CallsXeroOnRefresh(CacheOnlyScheduler):
    """A scheduler whose *Refresh* makes one call that succeeds (recorded as any is)."""

    def refresh_record(self, session: Any, organisations: Any, *, contact_ids: Any) -> Any:
        for organisation in organisations:
            record_success(session, organisation.id, seconds=0.2)
        session.commit()
        return read_cache_status(session, [o.id for o in organisations])


def test_refresh_says_updated_just_now_only_after_a_call_completed(
    seeded: Seeded, clock: Clock
) -> None:
    client = seeded.host.client("rep-acme")
    token = token_of(client)
    refresh = f"{PANEL}/contact/1/refresh"
    # No call made (this scheduler never calls Xero): nothing was updated.
    response = client.post(refresh, headers={**HX_, "X-CSRFToken": token})
    assert response.status_code == 200 and "Updated just now" not in response.text
    get_state(seeded.host.app).scheduler = CallsXeroOnRefresh()
    clock.advance(seconds=30)  # past the record's Refresh cooldown
    response = client.post(refresh, headers={**HX_, "X-CSRFToken": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-updated="just-now">Updated just now<' in page
    assert "Updated just now" not in seeded.html()


def test_pin_is_the_first_cell_of_every_row(seeded: Seeded) -> None:
    page = seeded.html("/contact/1?view=all")
    blocks = re.findall(r'<tr class="xp-row".*?</tr>', page, re.S)
    assert blocks
    for block in blocks:
        first_cell = re.search(r"<td[^>]*>", block)
        assert first_cell and 'class="xp-cell-pin"' in first_cell.group(0)


def test_load_more_count_is_not_muted_grey_on_blue(seeded: Seeded) -> None:
    with seeded.host.app.app_context():
        session = seeded.host.db.session
        cache = Cache(session, today=TODAY)
        org = session.get(Organisation, seeded.org_id)
        assert org is not None
        for n in range(30):
            cache.invoice(org, seeded.contact_id, number=f"MORE-{n:02d}", date=TODAY - 200 * D)
        session.commit()
    page = seeded.html()
    more = re.search(r'data-testid="load-more".*?</a>', page, re.S)
    assert more and 'class="xp-more-count"' in more.group(0) and "xp-muted" not in more.group(0)

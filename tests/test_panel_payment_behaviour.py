"""The panel's payment-behaviour line and expected payment dates over HTTP (issue 24): the
HTML contract on contact, account and deal panels, the setting that turns the line off, and
the statement limit. The rules themselves are tested in tests/test_payment_rules.py."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from decimal import Decimal

import pytest

from tests.clock import TODAY
from tests.conftest import HostApp
from tests.panel_app import Seeded, by_testid, rows
from tests.panel_fixtures import Cache
from tests.test_panel_views import count_statements
from xero_panel.models import Invoice, Organisation

DAY = dt.timedelta(days=1)


def line(page: str) -> dict[str, str]:
    (tag,) = by_testid(page, "payment-behaviour")
    return dict(re.findall(r'(data-[\w-]+)="([^"]*)"', tag))


def line_text(page: str) -> str:
    found = re.search(r'data-testid="payment-behaviour".*?</p>', page, re.S)
    assert found
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(0).split(">", 1)[1])).split())


def add_paid(seeded: Seeded, history: list[tuple[int, int, int]]) -> None:
    """Paid invoices of the seeded customer: (days ago it was dated, days to pay, days it
    was due after its date)."""
    with seeded.host.app.app_context():
        session = seeded.host.db.session
        cache = Cache(session, today=TODAY)
        organisation = session.get_one(Organisation, seeded.org_id)
        for n, (dated, days, terms) in enumerate(history):
            date = TODAY - dated * DAY
            invoice = cache.invoice(
                organisation,
                seeded.contact_id,
                number=f"PAID-{n}",
                date=date,
                due=date + terms * DAY,
                payments=[(date + days * DAY, "100.00")],
            )
            invoice.fully_paid_on = date + days * DAY
        session.commit()


@pytest.fixture
def paying(seeded: Seeded) -> Seeded:
    # Last 12 months: 10 (on time), 20 (on time), 40 (10 late), 25 (5 late): 95 / 4 = 23.75,
    # so 24 days; late ones 15 / 2 = 7.5, so 8. The year before: 15, 16, 17: 16 days, so
    # 8 days slower.
    add_paid(seeded, [(100, 10, 30), (80, 20, 30), (60, 40, 30), (50, 25, 20)])
    add_paid(seeded, [(500, 15, 30), (480, 16, 30), (460, 17, 30)])
    return seeded


@pytest.mark.parametrize("path", ["/contact/1", "/account/1", "/deal/1"])
def test_line_on_every_record_type(paying: Seeded, path: str) -> None:
    page = paying.html(path)
    assert line(page) == {
        "data-testid": "payment-behaviour",
        "data-paid-count": "4",
        "data-avg-days-to-pay": "24",
        "data-on-time-count": "2",
        "data-avg-days-late": "8",
        "data-trend": "slower",
    }
    assert line_text(page) == (
        "Last 12 months: Pays in 24 days on average (2 of 4 on time; late ones 8 days late)"
        " · , slower than the year before"
    )


def test_line_sits_under_the_totals_before_the_views(paying: Seeded) -> None:
    page = paying.html()
    assert page.index('data-testid="total-unpaid"') < page.index('data-testid="payment-behaviour"')
    assert page.index('data-testid="payment-behaviour"') < page.index('data-view="unpaid"')


def test_not_enough_history(seeded: Seeded) -> None:
    # INV-0001 is paid, but Xero gave no FullyPaidOnDate for it: it is not counted.
    add_paid(seeded, [(40, 10, 30), (60, 45, 30)])
    page = seeded.html()
    assert line(page)["data-paid-count"] == "2"
    assert (line(page)["data-trend"], line(page)["data-avg-days-to-pay"]) == ("none", "28")
    assert line_text(page) == "Last 12 months: Not enough payment history yet (2 invoices paid)"


def test_setting_turns_the_line_off(make_host: Callable[..., HostApp], tmp_path: object) -> None:
    host = make_host(f"sqlite:///{tmp_path}/off.db", XERO_PANEL_PAYMENT_BEHAVIOUR="off")
    seeded = Seeded(host)
    add_paid(seeded, [(100, 10, 30), (80, 20, 30), (60, 40, 30)])
    page = seeded.html()
    assert by_testid(page, "payment-behaviour") == []
    assert by_testid(page, "total-paid")  # the rest of the panel is there


def test_line_keeps_the_request_within_six_statements(paying: Seeded) -> None:
    assert by_testid(paying.html(), "payment-behaviour")
    assert count_statements(paying, "/contact/1") <= 6


def test_unpaid_row_shows_the_expected_payment_date(seeded: Seeded) -> None:
    expected = TODAY + 12 * DAY
    with seeded.host.app.app_context():
        session = seeded.host.db.session
        for number in ("INV-0003", "INV-0001"):  # overdue, and paid (which shows none)
            invoice = session.query(Invoice).filter_by(number=number).one()
            invoice.expected_payment_on = expected
        session.commit()
    page = seeded.html("/contact/1?view=all")
    by_number = {r["data-invoice-number"]: r for r in rows(page)}
    assert by_number["INV-0003"]["data-expected-payment"] == expected.isoformat()
    assert "data-expected-payment" not in by_number["INV-0001"]
    assert "data-expected-payment" not in by_number["INV-0004"]
    day_month = f"{expected.strftime('%b')} {expected.day}"  # the host's locale: en
    assert f'<span class="xp-status-note">Expected {day_month}</span>' in page
    assert page.count('xp-status-note">Expected') == 1
    assert Decimal(by_number["INV-0003"]["data-balance"]) > 0

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from typing import Any

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from tests.clock import RUN_START, TODAY
from tests.conftest import HostApp
from tests.panel_app import (
    HX,
    PANEL,
    Seeded,
    by_testid,
    error_text,
    numbers,
    rows,
    token_of,
)
from tests.panel_fixtures import Cache
from xero_panel import CRMRecord
from xero_panel.models import Organisation, Pin, RecordLink, SyncState
from xero_panel.panel.formatting import Formatter
from xero_panel.state import get_state
from xero_panel.sync.scheduling import CacheOnlyScheduler as CacheOnly
from xero_panel.sync.state import CacheStatus

# -- the HTML contract --------------------------------------------------------------------------


def test_root_carries_record_type_and_id(seeded: Seeded) -> None:
    assert (
        '<section class="xp-panel" id="xp-contact-1" data-xero-panel'
        ' data-record-type="contact" data-record-id="1"' in seeded.html()
    )


def test_default_view_is_unpaid_with_aria_current(seeded: Seeded) -> None:
    page = seeded.html()
    current = [t for t in view_links(page) if "aria-current" in t]
    assert len(current) == 1 and 'data-view="unpaid"' in current[0]


def view_links(page: str) -> list[str]:
    return re.findall(r'<a class="xp-view"[^>]*>', page)


def test_bad_view_marks_no_view_current(seeded: Seeded) -> None:
    response = seeded.get("/contact/1?view=nope")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert [t for t in view_links(page) if "aria-current" in t] == []


def test_bad_date_keeps_the_view_current_and_the_text_as_sent(seeded: Seeded) -> None:
    response = seeded.get("/contact/1?view=paid&q=INV&from=soon")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    current = [t for t in view_links(page) if "aria-current" in t]
    assert len(current) == 1 and 'data-view="paid"' in current[0]
    assert 'name="q" value="INV"' in page and 'name="from" value="soon"' in page


def test_view_selector_lists_six_views(seeded: Seeded) -> None:
    views = re.findall(r'data-view="(\w+)"', seeded.html())
    assert views == ["unpaid", "open", "overdue", "paid", "pinned", "all"]


def test_unpaid_rows_newest_first_then_number_desc(seeded: Seeded) -> None:
    assert numbers(seeded.html()) == ["INV-<b>5", "INV-0004", "INV-0003", "INV-0002"]


def test_row_attributes(seeded: Seeded) -> None:
    (row,) = [
        r
        for r in rows(seeded.html("/contact/1?view=all"))
        if r["data-invoice-number"] == "INV-0003"
    ]
    assert row == {
        "data-testid": "invoice-row",
        "data-invoice-id": seeded.ids["INV-0003"],
        "data-invoice-number": "INV-0003",
        "data-status": "overdue",
        "data-date": (TODAY - dt.timedelta(days=30)).isoformat(),
        "data-due-date": (TODAY - dt.timedelta(days=5)).isoformat(),
        "data-balance": "50.00",
        "data-total": "50.00",
        "data-currency": "NZD",
        "data-type": "invoice",
        "data-organisation-id": str(seeded.org_id),
        "data-pinned": "false",
        "data-days-overdue": "5",
        "data-row-version": row["data-row-version"],
    }
    assert re.fullmatch(r"[0-9a-f]{10}", row["data-row-version"])


def test_row_statuses(seeded: Seeded) -> None:
    statuses = {
        r["data-invoice-number"]: r["data-status"] for r in rows(seeded.html("/contact/1?view=all"))
    }
    assert statuses == {
        "INV-0001": "paid",
        "INV-0002": "partially-paid",
        "INV-0003": "overdue",
        "INV-0004": "open",
        "INV-<b>5": "open",
        "CN-0001": "open",
    }


def test_overdue_row_says_days_overdue(seeded: Seeded) -> None:
    assert "5 days overdue" in seeded.html("/contact/1?view=overdue")


def test_xero_text_is_escaped(seeded: Seeded) -> None:
    page = seeded.html()
    assert "INV-&lt;b&gt;5" in page and "INV-<b>5" not in page


def test_credit_note_type_in_all(seeded: Seeded) -> None:
    page = seeded.html("/contact/1?view=all")
    (row,) = [r for r in rows(page) if r["data-type"] == "credit_note"]
    assert row["data-invoice-number"] == "CN-0001"
    assert ">Credit note</td>" in page


def test_drafts_and_bills_never_shown(seeded: Seeded) -> None:
    page = seeded.html("/contact/1?view=all")
    assert "DRAFT-1" not in page and "BILL-1" not in page


NEW_TAB = "xp-contact-1-newtab"


def test_deep_link_uses_short_code_and_opens_new_tab(seeded: Seeded) -> None:
    page = seeded.html()
    invoice_id = seeded.ids["INV-0003"]
    expected = (
        "https://go.xero.com/organisationlogin/default.aspx?shortcode=!kGs7Q&amp;redirecturl="
        f"/AccountsReceivable/View.aspx?InvoiceID={invoice_id}"
    )
    assert f'<a href="{expected}" target="_blank" rel="noopener noreferrer">INV-0003' in page
    # The table says once, in words a screen reader reads with it, where its links open.
    assert f'aria-describedby="xp-contact-1-count {NEW_TAB}"' in page
    assert f'<span id="{NEW_TAB}" hidden>Invoice numbers open in Xero, in a new tab.</span>' in page


def test_deep_link_credit_note(seeded: Seeded) -> None:
    page = seeded.html("/contact/1?view=all")
    assert f"ViewCreditNote.aspx?creditNoteID={seeded.ids['CN-0001']}" in page


def test_deep_link_without_short_code(seeded: Seeded) -> None:
    with seeded.host.app.app_context():
        seeded.host.db.session.get_one(Organisation, seeded.org_id).short_code = None
        seeded.host.db.session.commit()
    page = seeded.html()
    assert (
        f'href="https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={seeded.ids["INV-0003"]}"'
        in page
    )


def test_totals_per_currency(seeded: Seeded) -> None:
    page = seeded.html()
    paid = by_testid(page, "total-paid")
    unpaid = by_testid(page, "total-unpaid")
    amounts = [
        (
            re.search(r'data-currency="(\w+)"', t).group(1),
            re.search(r'data-amount="([\d.]+)"', t).group(1),
        )
        for t in paid + unpaid
    ]  # type: ignore[union-attr]
    assert amounts == [("NZD", "300.00"), ("USD", "0.00"), ("NZD", "160.00"), ("USD", "75.25")]


def test_totals_formatted_with_babel(seeded: Seeded) -> None:
    page = seeded.html()
    # Two currencies on screen: each says which dollar it is.
    assert ">NZ$160.00</a>" in page and ">US$75.25</a>" in page


def test_totals_use_host_locale(seeded: Seeded) -> None:
    seeded.host.panel.locale_selector(lambda: "de_DE")
    assert ">160,00\xa0NZ$</a>" in seeded.html()


def test_total_paid_links_to_paid_view(seeded: Seeded) -> None:
    (first, *_) = by_testid(seeded.html(), "total-paid")
    assert f'hx-get="{PANEL}/contact/1?view=paid"' in first


def test_payments_tooltip_in_row(seeded: Seeded) -> None:
    page = seeded.html()
    trigger = by_testid(page, "payments-trigger")
    assert len(trigger) == 1
    tip_id = re.search(r'aria-describedby="([^"]+)"', trigger[0]).group(1)  # type: ignore[union-attr]
    assert f'role="tooltip" id="{tip_id}" data-testid="payments"' in page
    items = re.findall(
        r'<li data-payment-number="(\d)" data-date="([\d-]+)" data-amount="([\d.]+)">', page
    )
    assert items == [
        ("1", (TODAY - dt.timedelta(days=20)).isoformat(), "100.00"),
        ("2", (TODAY - dt.timedelta(days=10)).isoformat(), "100.00"),
    ]
    assert "2 payments so far" in page


def test_trigger_is_a_button(seeded: Seeded) -> None:
    (trigger,) = by_testid(seeded.html(), "payments-trigger")
    assert trigger.startswith('<button type="button"')


def test_pin_toggle_not_pressed(seeded: Seeded) -> None:
    toggles = by_testid(seeded.html(), "pin-toggle")
    assert toggles and all('aria-pressed="false"' in t for t in toggles)


def test_last_updated_is_absolute_until_panel_js_writes_it_relative(seeded: Seeded) -> None:
    """The kept HTML says when, in UTC; panel.js writes "2 minutes ago" from ``datetime``."""
    fresh = RUN_START - dt.timedelta(minutes=2)
    found = re.search(
        r'Last updated <time datetime="([^"]+)" data-ago data-locale="en">([^<]+)</time>',
        seeded.html(),
    )
    assert found, seeded.html()
    assert dt.datetime.fromisoformat(found.group(1)) == fresh
    assert found.group(2) == Formatter("en").moment(fresh)
    assert found.group(2).startswith(f"{fresh:%b} {fresh.day}, {fresh.year}, ")
    assert found.group(2).endswith(" UTC")


def test_vary_hx_request(seeded: Seeded) -> None:
    assert "HX-Request" in seeded.get().headers["Vary"]


def test_whole_page_without_htmx(seeded: Seeded) -> None:
    response = seeded.host.client("rep-acme").get(PANEL + "/contact/1?view=all")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in page and 'data-testid="invoice-row"' in page
    assert "HX-Replace-Url" not in response.headers


# -- URL state ----------------------------------------------------------------------------------


def test_replace_url_puts_state_in_xp_params(seeded: Seeded) -> None:
    response = seeded.get(
        "/contact/1?view=paid&q=inv&from=2026-01-01",
        **{"HX-Current-URL": "http://crm.test/contacts/1?tab=x&xp_view=overdue&xp_to=2026-02-02"},
    )
    assert response.headers["HX-Replace-Url"] == (
        "/contacts/1?tab=x&xp_view=paid&xp_q=inv&xp_from=2026-01-01"
    )


def test_replace_url_drops_defaults(seeded: Seeded) -> None:
    response = seeded.get(
        "/contact/1?view=unpaid", **{"HX-Current-URL": "http://crm.test/contacts/1?xp_view=paid"}
    )
    assert response.headers["HX-Replace-Url"] == "/contacts/1?"[:-1]


def test_replace_url_on_panel_full_page_uses_own_params(seeded: Seeded) -> None:
    response = seeded.get(
        "/contact/1?view=all",
        **{"HX-Current-URL": f"http://crm.test{PANEL}/contact/1?view=paid&page=2"},
    )
    assert response.headers["HX-Replace-Url"] == f"{PANEL}/contact/1?view=all"


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("http://crm.test//evil.test/x", "/evil.test/x?xp_view=paid"),
        ("http://crm.test/\\evil.test/x", "/evil.test/x?xp_view=paid"),
        ("http://crm.test///evil.test", "/evil.test?xp_view=paid"),
        ("https://evil.test/contacts/1", "/contacts/1?xp_view=paid"),
    ],
)
def test_replace_url_is_always_a_path_of_this_site(
    seeded: Seeded, current: str, expected: str
) -> None:
    response = seeded.get("/contact/1?view=paid", **{"HX-Current-URL": current})
    assert response.headers["HX-Replace-Url"] == expected


@pytest.mark.parametrize(
    "url", ["//evil.test/x", "/\\evil.test", "https://evil.test/", "contacts", "/a b", ""]
)
def test_same_origin_path_refuses_what_leaves_the_site(url: str) -> None:
    from xero_panel.web.htmx import same_origin_path

    assert same_origin_path(url) is None
    assert same_origin_path("/contacts/1?xp_view=paid#x") == "/contacts/1?xp_view=paid#x"


@pytest.mark.parametrize(
    ("header", "tag", "hidden"),
    [("", "h2", False), ("3", "h3", False), ("2 hidden", "h2", True), ("9", "h2", False)],
)
def test_panel_heading_follows_the_widgets_choice(
    seeded: Seeded, header: str, tag: str, hidden: bool
) -> None:
    page = seeded.get("/contact/1", **{"X-Xero-Panel-Heading": header}).get_data(as_text=True)
    title = re.search(r'<(h\d) class="(xp-title[^"]*)" id="[^"]+">Xero invoices</\1>', page)
    assert title is not None
    assert title.group(1) == tag
    assert ("xp-visually-hidden" in title.group(2)) == hidden
    # The choice rides on the panel's own requests (view switches, refresh, live updates).
    assert ("X-Xero-Panel-Heading" in page) == (header in ("3", "2 hidden"))


def test_no_replace_url_without_current_url(seeded: Seeded) -> None:
    assert "HX-Replace-Url" not in seeded.get().headers


def widget_html(seeded: Seeded, query: str) -> str:
    app = seeded.host.app
    with app.test_request_context("/contacts/1" + query):
        return render_template_string('{{ xero_panel_widget("contact", 1) }}')


def test_widget_passes_xp_params_to_panel(seeded: Seeded) -> None:
    page = widget_html(seeded, "?xp_view=paid&xp_q=INV&tab=2")
    assert f'hx-get="{PANEL}/contact/1?view=paid&amp;q=INV"' in page


def test_widget_without_xp_params(seeded: Seeded) -> None:
    assert f'hx-get="{PANEL}/contact/1"' in widget_html(seeded, "?tab=2")


def test_shared_link_with_bad_view_gives_error_partial(seeded: Seeded) -> None:
    page = widget_html(seeded, "?xp_view=nope")
    src = html.unescape(re.search(r'hx-get="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    response = seeded.host.client("rep-acme").get(src, headers=HX)
    assert response.status_code == 400
    assert error_text(response) == "view must be one of unpaid, open, overdue, paid, pinned, all"


# -- views, search, dates, paging ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("open", ["INV-<b>5", "INV-0004", "INV-0002"]),
        ("overdue", ["INV-0003"]),
        ("paid", ["INV-0001"]),
        ("all", ["INV-<b>5", "INV-0004", "INV-0003", "INV-0002", "INV-0001", "CN-0001"]),
    ],
)
def test_views(seeded: Seeded, view: str, expected: list[str]) -> None:
    assert numbers(seeded.html(f"/contact/1?view={view}")) == expected


def test_search_narrows(seeded: Seeded) -> None:
    assert numbers(seeded.html("/contact/1?view=all&q=inv-000")) == [
        "INV-0004",
        "INV-0003",
        "INV-0002",
        "INV-0001",
    ]


def test_dates_narrow(seeded: Seeded) -> None:
    day = (TODAY - dt.timedelta(days=40)).isoformat()
    assert numbers(seeded.html(f"/contact/1?view=all&from={day}&to={day}")) == ["CN-0001"]


def test_empty_view_message_names_view(seeded: Seeded) -> None:
    page = seeded.html("/contact/1?view=pinned")
    assert by_testid(page, "panel-empty")
    assert "No pinned invoices." in page


def test_empty_search_message(seeded: Seeded) -> None:
    assert "No paid invoices match this search or date range." in seeded.html(
        "/contact/1?view=paid&q=zzz"
    )


def test_load_more_and_next_page_rows_only(seeded: Seeded) -> None:
    seeded.host.app.extensions["xero_panel"].settings = type(get_state(seeded.host.app).settings)(
        **{**get_state(seeded.host.app).settings.__dict__, "page_size": 2}
    )
    first = seeded.html("/contact/1?view=all")
    (more,) = by_testid(first, "load-more")
    assert f'hx-get="{PANEL}/contact/1?view=all&amp;page=2"' in more
    second = seeded.get("/contact/1?view=all&page=2").get_data(as_text=True)
    assert second.lstrip().startswith("<tr") and "<section" not in second
    assert numbers(second) == ["INV-0003", "INV-0002"]
    assert by_testid(second, "load-more")


# -- 400s ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-02-30", "from must be a date like 2026-11-21"),
        ("to=21/11/2026", "to must be a date like 2026-11-21"),
        ("from=2026-03-02&to=2026-03-01", "The start date must not be after the end date."),
        ("view=late", "view must be one of unpaid, open, overdue, paid, pinned, all"),
        ("page=0", "page must be a whole number of 1 or more"),
        ("page=abc", "page must be a whole number of 1 or more"),
        ("page=2", "page 2 is past the last page: this list has 1 page"),
        ("q=" + "x" * 101, "q must be at most 100 characters"),
    ],
)
def test_bad_parameters_400(seeded: Seeded, query: str, message: str) -> None:
    response = seeded.host.client("rep-acme").get(f"{PANEL}/contact/1?{query}", headers=HX)
    assert (response.status_code, error_text(response)) == (400, message)


def test_bad_parameter_keeps_controls_with_raw_value(seeded: Seeded) -> None:
    response = seeded.get("/contact/1?from=2026-02-30")
    page = response.get_data(as_text=True)
    assert 'name="from" value="2026-02-30"' in page
    assert 'data-view="unpaid"' in page


def test_bad_parameter_whole_page(seeded: Seeded) -> None:
    response = seeded.host.client("rep-acme").get(f"{PANEL}/contact/1?view=late")
    assert response.status_code == 400 and "<html" in response.get_data(as_text=True)


def test_bad_parameter_replace_url_holds_what_was_sent(seeded: Seeded) -> None:
    response = seeded.get(
        "/contact/1?from=2026-03-02&to=2026-03-01",
        **{"HX-Current-URL": "http://crm.test/contacts/1?xp_from=2026-01-01&xp_to=2026-01-31"},
    )
    assert response.status_code == 400
    assert response.headers["HX-Replace-Url"] == "/contacts/1?xp_from=2026-03-02&xp_to=2026-03-01"


# -- states -------------------------------------------------------------------------------------


def set_sync(seeded: Seeded, **fields: Any) -> None:
    with seeded.host.app.app_context():
        state = seeded.host.db.session.get_one(SyncState, seeded.org_id)
        for key, value in fields.items():
            setattr(state, key, value)
        seeded.host.db.session.commit()


def test_first_sync_shows_progress_and_polls(seeded: Seeded) -> None:
    set_sync(seeded, status="running", fresh_at=None, progress_done=120, progress_total=480)
    page = seeded.html()
    assert "120 of 480" in page
    assert 'hx-trigger="every 2s"' in page
    assert f'hx-get="{PANEL}/contact/1"' in page
    assert not rows(page)


def test_first_sync_done_stops_polling(seeded: Seeded) -> None:
    set_sync(seeded, status="running", fresh_at=None, progress_done=1, progress_total=2)
    seeded.html()
    set_sync(
        seeded,
        status="idle",
        full_sync_completed_at=dt.datetime.now(dt.UTC),
        fresh_at=dt.datetime.now(dt.UTC),
    )
    page = seeded.html()
    assert "every 2s" not in page and rows(page)


def test_never_synced_notice(host: HostApp) -> None:
    get_state(host.app).scheduler = CacheOnly()
    with host.app.app_context():
        cache = Cache(host.db.session, today=TODAY)
        cache.organisation(cache.connection("acme"))
        host.db.session.commit()
    page = host.client("rep-acme").get(f"{PANEL}/contact/1", headers=HX).get_data(as_text=True)
    assert "Invoices appear here once the first sync with Xero has finished." in page


def test_stale_data_notice_with_age(seeded: Seeded) -> None:
    set_sync(
        seeded,
        fresh_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
        last_error="Xero could not be reached.",
        trouble="unreachable",
    )
    page = seeded.html()
    (notice,) = re.findall(r'data-reason="unreachable">([^<]*)<', page)
    assert notice == "Xero cannot be reached right now; showing invoices as of 2 hours ago."
    assert page.count('data-testid="panel-notice"') == 1
    assert rows(page)


def test_needs_reconnect_still_shows_cache(seeded: Seeded) -> None:
    with seeded.host.app.app_context():
        from xero_panel.models import Connection

        seeded.host.db.session.get_one(Connection, seeded.connection_id).status = "needs_reconnect"
        seeded.host.db.session.commit()
    page = seeded.html()
    assert "until an admin reconnects Xero" in page and rows(page)
    assert page.count('data-testid="panel-notice"') == 1


def nobody(seeded: Seeded) -> None:
    seeded.host.panel.record_loader(lambda t, i: CRMRecord("Nobody", emails=["nobody@x.test"]))


def test_no_match_empty_state_for_rep(seeded: Seeded) -> None:
    nobody(seeded)
    page = seeded.html("/contact/9")
    assert by_testid(page, "panel-empty")
    assert "No Xero customer has this contact&#39;s email address." in page
    assert not by_testid(page, "link-contact")


def test_no_match_admin_gets_link_control(seeded: Seeded) -> None:
    nobody(seeded)
    page = seeded.html("/contact/9", user="admin-acme")
    assert by_testid(page, "panel-empty") and by_testid(page, "link-contact")


def test_account_and_deal_match(seeded: Seeded) -> None:
    assert numbers(seeded.html("/account/1")) == numbers(seeded.html("/deal/1")) != []


# -- pins ---------------------------------------------------------------------------------------


def pin_path(seeded: Seeded, number: str, record: str = "/contact/1") -> str:
    return f"{PANEL}{record}/pins/{seeded.org_id}/{seeded.ids[number]}"


def pin_count(seeded: Seeded) -> int:
    with seeded.host.app.app_context():
        return int(seeded.host.db.session.scalar(select(func.count(Pin.id))) or 0)


def test_pin_needs_csrf(seeded: Seeded) -> None:
    response = seeded.host.client("rep-acme").post(pin_path(seeded, "INV-0003"), headers=HX)
    assert response.status_code == 400
    assert (
        error_text(response)
        == "This request has no valid security token. Reload the page and try again."
    )
    assert pin_count(seeded) == 0


def test_pin_bad_csrf(seeded: Seeded) -> None:
    response = seeded.host.client("rep-acme").post(
        pin_path(seeded, "INV-0003"), headers={**HX, "X-CSRFToken": "forged"}
    )
    assert response.status_code == 400 and pin_count(seeded) == 0


def test_pin_error_goes_to_panel_alerts(seeded: Seeded) -> None:
    response = seeded.host.client("rep-acme").post(pin_path(seeded, "INV-0003"), headers=HX)
    assert response.headers["HX-Retarget"] == "#xp-contact-1-alerts"


def test_pin_swaps_row_pressed(seeded: Seeded) -> None:
    client = seeded.host.client("rep-acme")
    token = token_of(client)
    response = client.post(pin_path(seeded, "INV-0003"), headers={**HX, "X-CSRFToken": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.lstrip().startswith("<tr")
    (toggle,) = by_testid(page, "pin-toggle")
    assert 'aria-pressed="true"' in toggle and "hx-delete=" in toggle


def test_pin_with_form_field_token(seeded: Seeded) -> None:
    client = seeded.host.client("rep-acme")
    token = token_of(client)
    response = client.post(pin_path(seeded, "INV-0003"), data={"csrf_token": token}, headers=HX)
    assert response.status_code == 200 and pin_count(seeded) == 1


def test_pin_idempotent(seeded: Seeded) -> None:
    client = seeded.host.client("rep-acme")
    headers = {**HX, "X-CSRFToken": token_of(client)}
    for _ in range(2):
        assert client.post(pin_path(seeded, "INV-0003"), headers=headers).status_code == 200
    assert pin_count(seeded) == 1


def test_pin_visible_to_other_user_of_crm_account(seeded: Seeded) -> None:
    client = seeded.host.client("rep-acme")
    client.post(pin_path(seeded, "INV-0003"), headers={**HX, "X-CSRFToken": token_of(client)})
    page = seeded.html("/contact/1?view=pinned", user="admin-acme")
    assert numbers(page) == ["INV-0003"]
    assert rows(page)[0]["data-pinned"] == "true"


def test_unpin(seeded: Seeded) -> None:
    client = seeded.host.client("rep-acme")
    headers = {**HX, "X-CSRFToken": token_of(client)}
    client.post(pin_path(seeded, "INV-0003"), headers=headers)
    response = client.delete(pin_path(seeded, "INV-0003"), headers=headers)
    assert 'aria-pressed="false"' in response.get_data(as_text=True)
    assert pin_count(seeded) == 0


def test_pin_other_records_invoice_is_404(seeded: Seeded) -> None:
    with seeded.host.app.app_context():
        cache = Cache(seeded.host.db.session, today=TODAY)
        org = seeded.host.db.session.get_one(Organisation, seeded.org_id)
        other = cache.contact(org, "Someone else", email="else@x.test")
        seeded.ids["OTHER"] = cache.invoice(org, other, number="OTHER").xero_id
        seeded.host.db.session.commit()
    client = seeded.host.client("rep-acme")
    response = client.post(
        pin_path(seeded, "OTHER"), headers={**HX, "X-CSRFToken": token_of(client)}
    )
    assert response.status_code == 404
    assert error_text(response) == "This invoice is not one of this record's Xero invoices."


def test_pin_from_other_crm_account_is_404(seeded: Seeded) -> None:
    client = seeded.host.client("admin-globex")
    token = token_of(client, "/contact/2")
    response = client.post(
        pin_path(seeded, "INV-0003", record="/contact/2"), headers={**HX, "X-CSRFToken": token}
    )
    assert response.status_code == 404 and pin_count(seeded) == 0


def test_pin_on_other_crm_accounts_record_is_404(seeded: Seeded) -> None:
    client = seeded.host.client("admin-globex")
    response = client.post(
        pin_path(seeded, "INV-0003"), headers={**HX, "X-CSRFToken": token_of(client, "/contact/2")}
    )
    assert response.status_code == 404


def test_pinned_then_voided_stays_marked(seeded: Seeded) -> None:
    client = seeded.host.client("rep-acme")
    client.post(pin_path(seeded, "INV-0003"), headers={**HX, "X-CSRFToken": token_of(client)})
    with seeded.host.app.app_context():
        from xero_panel.models import Invoice

        invoice = seeded.host.db.session.scalars(
            select(Invoice).where(Invoice.xero_id == seeded.ids["INV-0003"])
        ).one()
        invoice.status = "VOIDED"
        seeded.host.db.session.commit()
    page = seeded.html("/contact/1?view=pinned")
    assert [r["data-status"] for r in rows(page)] == ["voided"]
    assert "Voided in Xero" in page


# -- links --------------------------------------------------------------------------------------


def add_contact(seeded: Seeded, name: str, contact_id: str) -> None:
    with seeded.host.app.app_context():
        cache = Cache(seeded.host.db.session, today=TODAY)
        org = seeded.host.db.session.get_one(Organisation, seeded.org_id)
        contact = cache.contact(org, name, contact_id=contact_id)
        cache.invoice(org, contact, number=f"{contact_id}-INV")
        seeded.host.db.session.commit()


def test_link_search_lists_contacts(seeded: Seeded) -> None:
    add_contact(seeded, "Kauri Cafe", "k-1")
    page = seeded.html("/contact/1/links/search?contact_q=kauri", user="admin-acme")
    assert 'data-testid="link-choice" data-contact-id="k-1"' in page


def test_link_search_rep_forbidden(seeded: Seeded) -> None:
    response = seeded.get("/contact/1/links/search?contact_q=kauri")
    assert response.status_code == 403
    assert error_text(response) == "Only an admin of your CRM account can link Xero contacts."


def test_link_search_allowed_by_link_permission_hook(seeded: Seeded) -> None:
    seeded.host.panel.link_permission(lambda: True)
    assert seeded.get("/contact/1/links/search?contact_q=k").status_code == 200


def link(seeded: Seeded, contact_id: str, user: str = "admin-acme") -> Any:
    client = seeded.host.client(user)
    return client.post(
        f"{PANEL}/contact/1/links",
        data={"organisation_id": str(seeded.org_id), "contact_id": contact_id},
        headers={**HX, "X-CSRFToken": token_of(client)},
    )


def test_link_replaces_matching(seeded: Seeded) -> None:
    add_contact(seeded, "Kauri Cafe", "k-1")
    response = link(seeded, "k-1")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert numbers(page) == ["k-1-INV"]
    assert 'data-testid="matched-contacts" data-linked="true"' in page


def test_link_visible_to_rep(seeded: Seeded) -> None:
    add_contact(seeded, "Kauri Cafe", "k-1")
    link(seeded, "k-1")
    assert numbers(seeded.html()) == ["k-1-INV"]


def test_link_unknown_contact_404(seeded: Seeded) -> None:
    response = link(seeded, "nope")
    assert response.status_code == 404
    assert error_text(response) == "That Xero contact is not in this CRM account's Xero data."


def test_link_rep_forbidden(seeded: Seeded) -> None:
    add_contact(seeded, "Kauri Cafe", "k-1")
    assert link(seeded, "k-1", user="rep-acme").status_code == 403


def test_unlink_restores_matching(seeded: Seeded) -> None:
    add_contact(seeded, "Kauri Cafe", "k-1")
    link(seeded, "k-1")
    client = seeded.host.client("admin-acme")
    response = client.delete(
        f"{PANEL}/contact/1/links/{seeded.org_id}/k-1",
        headers={**HX, "X-CSRFToken": token_of(client)},
    )
    assert "INV-0003" in response.get_data(as_text=True)
    with seeded.host.app.app_context():
        assert seeded.host.db.session.scalar(select(func.count(RecordLink.id))) == 0


# -- refresh ------------------------------------------------------------------------------------


class RecordingScheduler:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Sequence[tuple[int, str]]]] = []

    def ensure_fresh(
        self, session: Any, organisations: Any, *, contact_ids: Any = (), snapshots: Any = None
    ) -> CacheStatus:
        self.calls.append(("ensure", list(contact_ids)))
        return CacheStatus(fresh_at=dt.datetime.now(dt.UTC))

    def refresh_record(self, session: Any, organisations: Any, *, contact_ids: Any) -> CacheStatus:
        self.calls.append(("refresh", list(contact_ids)))
        return CacheStatus(fresh_at=dt.datetime.now(dt.UTC))


def test_panel_asks_freshness_with_matched_contacts(seeded: Seeded) -> None:
    scheduler = RecordingScheduler()
    get_state(seeded.host.app).scheduler = scheduler
    seeded.html()
    assert scheduler.calls == [("ensure", [(seeded.org_id, "c-1")])]


def test_refresh_runs_targeted_sync_and_swaps_panel(seeded: Seeded) -> None:
    scheduler = RecordingScheduler()
    get_state(seeded.host.app).scheduler = scheduler
    client = seeded.host.client("rep-acme")
    token = token_of(client)
    response = client.post(
        f"{PANEL}/contact/1/refresh?view=all", headers={**HX, "X-CSRFToken": token}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and page.lstrip().startswith("<section")
    assert scheduler.calls[-1] == ("refresh", [(seeded.org_id, "c-1")])
    assert len(rows(page)) == 6


def test_refresh_needs_csrf(seeded: Seeded) -> None:
    response = seeded.host.client("rep-acme").post(f"{PANEL}/contact/1/refresh", headers=HX)
    assert response.status_code == 400


def count_statements(seeded: Seeded, path: str) -> int:
    """The plugin's own SQL statements (on its ``xero_panel_`` tables) for one request."""
    from sqlalchemy import event

    statements: list[str] = []
    with seeded.host.app.app_context():
        engine = seeded.host.db.engine

    def record(*args: Any) -> None:
        if "xero_panel_" in args[2]:
            statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = seeded.get(path, **{"HX-Request": "true"})
        assert response.status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements)


@pytest.mark.parametrize(
    "query",
    [
        "view=unpaid",
        "view=open",
        "view=overdue",
        "view=all",
        "view=paid",
        "view=pinned",
        "view=all&q=BULK&sort=due",
        "view=unpaid&age=90%2B&from=2020-01-01",
        "view=pinned&q=INV&sort=balance",
    ],
)
def test_panel_request_sql_statements_do_not_grow_with_invoices(seeded: Seeded, query: str) -> None:
    """A whole panel request runs a fixed number of the plugin's SQL statements, as many for
    a handful of invoices as for 300 more with payments. The first view of a record runs
    six: the account's state (connection, organisations, sync snapshots), the record's
    links and its contacts (matching), the content version (the fragment cache's key), the
    record's summary (totals, ageing, fingerprint) and the page. A view of a record whose
    match is known runs four (no matching), and a view served from the fragment cache two
    (the account's state and the content version)."""
    first = count_statements(seeded, "/contact/1?view=paid&q=warm-up")
    assert first <= 6
    few = count_statements(seeded, f"/contact/1?{query}")
    assert few == 4  # the match is known
    assert count_statements(seeded, f"/contact/1?{query}") == 2  # served from the cache
    with seeded.host.app.app_context():
        session = seeded.host.db.session
        cache = Cache(session, today=TODAY)
        organisation = session.get(Organisation, seeded.org_id)
        day = dt.timedelta(days=1)
        for n in range(300):
            cache.invoice(
                organisation,
                seeded.contact_id,
                number=f"BULK-{n:04d}",
                date=TODAY - n * day,
                total="90.00",
                payments=[(TODAY - n * day, "30.00"), (TODAY - n * day, "30.00")],
            )
        session.commit()
    many = count_statements(seeded, f"/contact/1?{query}")
    assert many == few


@pytest.mark.parametrize("q", ["INV 1", "90+", "a&b=c", "é ü", "x/y?z#w", "'!*()", "%20", "+"])
def test_panel_links_are_the_urls_flask_would_build(seeded: Seeded, q: str) -> None:
    """The panel builds its path once and adds each link's query itself: the same URL as
    ``url_for`` gives, whatever the search holds."""
    from flask import url_for

    from xero_panel.panel.params import PanelParams
    from xero_panel.panel.rows import RecordRef
    from xero_panel.web.panel_context import panel_urls

    with seeded.host.app.test_request_context():
        urls = panel_urls(RecordRef("acme", "contact", "1"), PanelParams())
        built = urls.panel(PanelParams(view="all", q=q, sort="due", age="90+"), page=2)
        expected = url_for(
            "xero_panel.panel",
            record_type="contact",
            record_id="1",
            **{"view": "all", "q": q, "sort": "due", "age": "90+", "page": 2},
        )
        assert built == expected
        assert urls.panel(PanelParams()) == url_for(
            "xero_panel.panel", record_type="contact", record_id="1"
        )


def test_old_view_model_names_still_work_for_host_templates() -> None:
    # vm.raw (with its "view_invalid" key) and vm.state were renamed vm.form, vm.view_invalid
    # and vm.mode; a host's overridden template may still read the old names.
    from types import SimpleNamespace

    from xero_panel.panel.view_model import PanelView

    raw, state = PanelView.raw.fget, PanelView.state.fget
    assert raw is not None and state is not None
    bad_view = SimpleNamespace(form={"q": "x", "from": "", "to": ""}, view_invalid=True)
    assert raw(bad_view) == {"q": "x", "from": "", "to": "", "view_invalid": "true"}
    good = SimpleNamespace(form={"q": "x", "from": "", "to": ""}, view_invalid=False)
    assert raw(good) == {"q": "x", "from": "", "to": ""}
    assert state(SimpleNamespace(mode="no_match")) == "no_match"

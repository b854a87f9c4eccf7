"""What only a browser shows of the rep's receivables view (issue 13): focus after each kind
of swap, the live update, *Updated just now*, 0 accessibility violations (axe-core from npm,
served to the page from node_modules), no broken numbers at 320 px, and two lines per
invoice in a 600 px panel."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from tests.browser.conftest import LiveDemo, Page, log_in
from tests.browser.pages import ROW, Demo, axe_violations, open_account, sync_acme

PANEL = "[data-xero-panel]"


def focused(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const e = document.activeElement; const row = e.closest('tr');
            return {tag: e.tagName, testid: e.getAttribute('data-testid'),
                    view: e.getAttribute('data-view'), sort: e.getAttribute('data-sort'),
                    bucket: e.getAttribute('data-bucket'),
                    pressed: e.getAttribute('aria-pressed'),
                    row: row ? row.getAttribute('data-invoice-number') : null}; }"""
        )
    )


def wait_settled(page: Any) -> None:
    page.wait_for_function("!document.querySelector('.htmx-request')")
    page.wait_for_timeout(150)


def test_focus_returns_to_the_control_after_each_swap(page: Page, demo: Demo) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    open_account(p, demo)
    # A view switch, by keyboard.
    p.focus(f"{PANEL} [data-view=overdue]")
    p.keyboard.press("Enter")
    p.wait_for_selector(f"{PANEL} [data-view=overdue][aria-current]")
    wait_settled(p)
    assert focused(p)["view"] == "overdue"
    # A sort.
    p.focus(f"{PANEL} [data-sort=due]")
    p.keyboard.press("Enter")
    p.wait_for_selector(f"{PANEL} [data-sort=due][aria-current]")
    wait_settled(p)
    assert focused(p)["sort"] == "due"
    # An ageing bucket.
    bucket = p.locator(f"{PANEL} [data-testid=aging] a[data-count]:not([data-count='0'])").first
    name = bucket.get_attribute("data-bucket")
    bucket.focus()
    p.keyboard.press("Enter")
    p.wait_for_selector(f"{PANEL} a[data-bucket='{name}'][aria-current]")
    wait_settled(p)
    assert focused(p)["bucket"] == name
    # Pin and unpin with Space, twice: the second Space works too.
    p.goto(f"{demo.url}/accounts/{demo.big_account}")
    p.wait_for_selector(ROW)
    first = p.locator(f"{ROW} [data-testid=pin-toggle]").first
    number = p.locator(ROW).first.get_attribute("data-invoice-number")
    first.focus()
    p.keyboard.press("Space")
    p.wait_for_selector(f"{ROW}[data-invoice-number='{number}'][data-pinned=true]")
    wait_settled(p)
    assert focused(p)["testid"] == "pin-toggle"
    assert (focused(p)["row"], focused(p)["pressed"]) == (number, "true")
    p.keyboard.press("Space")
    p.wait_for_selector(f"{ROW}[data-invoice-number='{number}'][data-pinned=false]")
    wait_settled(p)
    assert (focused(p)["testid"], focused(p)["pressed"]) == ("pin-toggle", "false")
    # Load more: the first new row.
    open_account(p, demo, "?xp_view=all")
    before = p.locator(ROW).count()
    p.focus(f"{PANEL} [data-testid=load-more]")
    p.keyboard.press("Enter")
    p.wait_for_function(f"document.querySelectorAll('{ROW}').length > {before}")
    wait_settled(p)
    new_first = p.locator(ROW).nth(before).get_attribute("data-invoice-number")
    assert focused(p)["row"] == new_first
    # Refresh: focus back on Refresh, and "Updated just now" said in the live region.
    p.focus(f"{PANEL} [data-testid=refresh]")
    p.keyboard.press("Enter")
    p.wait_for_selector(f"{PANEL} [data-updated=just-now]")
    wait_settled(p)
    assert focused(p)["testid"] == "refresh"
    p.wait_for_function(
        "document.querySelector('[data-xero-panel] .xp-announce').textContent"
        " === 'Updated just now'"
    )
    region = p.locator(f"{PANEL} .xp-announce")
    assert region.get_attribute("aria-live") == "polite"
    assert (
        p.locator(f"{PANEL} [data-testid=last-updated]").inner_text().startswith("Updated just now")
    )
    # Said once on screen: the announcement is heard, not shown a second time.
    assert p.locator(f"{PANEL} .xp-alerts").inner_text() == ""
    assert region.evaluate("e => e.getBoundingClientRect().height") <= 1
    assert page.errors == []


def test_no_accessibility_violations_in_the_panel(page: Page, demo: Demo) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    for query in ("", "?xp_view=all", "?xp_view=overdue&xp_sort=balance"):
        open_account(p, demo, query)
        assert axe_violations(p, [PANEL]) == [], query
    p.hover(f"{PANEL} [data-testid=payments-trigger] >> nth=0") if p.locator(
        f"{PANEL} [data-testid=payments-trigger]"
    ).count() else None
    assert axe_violations(p, [PANEL]) == []
    p.set_viewport_size({"width": 320, "height": 900})
    assert axe_violations(p, [PANEL]) == []


def test_no_accessibility_violations_on_the_admin_pages(page: Page, demo: Demo) -> None:
    p = page.page
    log_in(p, demo.url, "admin@acme.test")
    p.goto(f"{demo.url}/integrations/xero/settings")
    assert axe_violations(p, [".xp-settings"]) == []
    p.goto(f"{demo.url}/settings/marketplace?q=xero")
    assert axe_violations(p, ['[data-testid="xero-card"]']) == []
    p.goto(f"{demo.url}/integrations/xero/remove")
    assert axe_violations(p, [".xp-settings"]) == []


NUMBERS = ".xp-total-amount, .xp-cell-balance, .xp-age-amount, .xp-credited, .xp-cell-total"


def broken_numbers(p: Any) -> list[str]:
    """Money whose own text runs over more than one line."""
    return list(
        p.evaluate(
            """(selector) => {
            const out = [];
            for (const el of document.querySelectorAll(selector)) {
              const text = [...el.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
              if (!text || !el.offsetParent) continue;
              const range = document.createRange(); range.selectNodeContents(text);
              const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
              if (tops.size > 1) out.push(el.className + ': ' + text.textContent.trim());
            }
            return out; }""",
            NUMBERS,
        )
    )


@pytest.mark.parametrize("width", [320, 375])
def test_no_overflow_or_broken_numbers_when_narrow(browser: Any, demo: Demo, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    p = context.new_page()
    try:
        log_in(p, demo.url, "rep@acme.test")
        for query in ("", "?xp_view=all"):
            open_account(p, demo, query)
            assert p.evaluate("document.documentElement.scrollWidth") <= width
            assert p.locator(f"{PANEL} [data-testid=total-paid]").count() >= 1
            assert broken_numbers(p) == [], query
    finally:
        context.close()


def test_two_lines_per_invoice_in_a_600px_panel(page: Page, demo: Demo) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    open_account(p, demo, "?xp_view=all")
    p.add_style_tag(content="section[data-xero-panel] { width: 600px !important; }")
    p.wait_for_timeout(200)
    lines = p.evaluate(
        """() => [...document.querySelectorAll('[data-testid=invoice-row]')].map(row => {
            const boxes = [...row.querySelectorAll('td > *, td')]
              .filter(e => getComputedStyle(e).display !== 'contents'
                           && getComputedStyle(e).position !== 'absolute'
                           && !e.closest('.xp-cell-pin') && !e.closest('[role=tooltip]')
                           && e.getClientRects().length)
              .map(e => e.getClientRects()[0]);
            const tops = [...new Set(boxes.map(b => Math.round(b.top)))].sort((a, b) => a - b);
            const lines = [];
            for (const t of tops) {
              if (!lines.length || t - lines[lines.length - 1] > 8) lines.push(t);
            }
            return {n: row.getAttribute('data-invoice-number'), lines: lines.length,
                    height: row.getBoundingClientRect().height}; })"""
    )
    assert len(lines) >= 10
    assert [r for r in lines if r["lines"] > 2] == []
    assert sum(r["height"] for r in lines[:10]) <= 900
    # Nothing lost: every row still shows its number, date, due text, balance, total; the
    # type is said for what is not an invoice (every amount now names its currency, NZ$).
    for cell in ("number", "date", "due", "balance", "total", "status"):
        visible = p.locator(f"{ROW} .xp-cell-{cell}").evaluate_all(
            "cs => cs.filter(c => c.getClientRects().length || "
            "getComputedStyle(c).display === 'contents').length"
        )
        assert visible == len(lines), cell
    others = p.locator(f"{ROW}:not([data-type=invoice]) .xp-cell-type")
    assert others.evaluate_all("cs => cs.filter(c => !c.getClientRects().length).length") == 0
    assert p.locator(f"{ROW} [data-testid=payments-trigger]").count() >= 1
    # "Voided in Xero" is a label, never struck through.
    decoration = p.evaluate(
        """() => { const row = document.querySelector('[data-testid=invoice-row]');
        const was = row.getAttribute('data-status'); row.setAttribute('data-status', 'voided');
        const line = getComputedStyle(row.querySelector('.xp-status')).textDecorationLine;
        row.setAttribute('data-status', was); return line; }"""
    )
    assert decoration == "none"
    # The viewer's locale (the demo gives none: XERO_PANEL_DEFAULT_LOCALE, "en"), not the
    # organisation's country (NZ), formats dates and money.
    date = p.locator(f"{ROW} .xp-cell-date time").first.inner_text()
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}", date), date
    assert p.locator(f"{ROW} .xp-cell-balance").first.inner_text().startswith("NZ$")


def is_version_check(request: Any) -> bool:
    return "/version?" in str(request.url)


#: panel.js: a version check every LIVE_EVERY ms while the tab is visible; a changed row
#: keeps data-changed for CHANGED_FOR ms.
LIVE_EVERY, CHANGED_FOR = 15_000, 6_000


def test_a_payment_appears_in_an_open_panel_without_reload(
    browser: Any, own_demo: LiveDemo
) -> None:
    from sqlalchemy import select

    import demo_app
    from xero_panel.connections import selected_organisations
    from xero_panel.models import Invoice, XeroContact
    from xero_panel.state import get_state

    sync_acme(own_demo)
    app = own_demo.app
    with app.app_context():
        (organisation,) = selected_organisations(demo_app.db.session, "acme")
        org_id, tenant_id = organisation.id, organisation.tenant_id
        invoice = demo_app.db.session.scalars(
            select(Invoice).where(
                Invoice.organisation_id == org_id,
                Invoice.xero_type == "ACCREC",
                Invoice.status == "AUTHORISED",
                Invoice.balance > 20,
            )
        ).first()
        assert invoice is not None
        invoice_id, number, contact_id = invoice.xero_id, invoice.number, invoice.contact_id
        balance = invoice.balance
        name = demo_app.db.session.scalars(
            select(XeroContact.name).where(XeroContact.contact_id == contact_id)
        ).first()
        account = demo_app.db.session.scalars(
            select(demo_app.Account).where(demo_app.Account.name == name)
        ).first()
        assert account is not None
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    p = context.new_page()
    try:
        # The page's timers run on Playwright's clock: the next check comes when the test
        # moves that clock 15 s on, not after 15 s of waiting.
        p.clock.install()
        log_in(p, own_demo.url, "rep@acme.test")
        p.goto(f"{own_demo.url}/accounts/{account.id}?xp_view=all")
        row = f"{ROW}[data-invoice-number='{number}']"
        p.wait_for_selector(row)
        assert p.locator(row).get_attribute("data-balance") == f"{balance:.2f}"
        p.evaluate("window.__xpNoReload = true")
        requests: list[str] = []
        p.on("request", lambda r: requests.append(r.url) if is_version_check(r) else None)
        today = dt.date.today().isoformat()
        own_demo.emulator.add_payment(tenant_id, invoice_id, {"Amount": 10, "Date": today})
        # The change reaches the cache as a webhook's fetch would bring it.
        with app.app_context():
            get_state(app).scheduler.run_refresh(org_id)
        own_demo.emulator.reset_stats()
        expected = f"{balance - 10:.2f}"
        assert p.locator(row).get_attribute("data-balance") == f"{balance:.2f}"
        requests.clear()
        with p.expect_response(is_version_check, timeout=10_000):
            p.clock.run_for(LIVE_EVERY)
        p.wait_for_selector(f"{row}[data-balance='{expected}'][data-changed]", timeout=10_000)
        assert p.evaluate("window.__xpNoReload") is True
        stats = own_demo.emulator.stats()
        assert sum(t["calls"] for t in stats["tenants"].values()) == 0
        # One small check per 15 s.
        assert len(requests) == 1
        # The mark goes after CHANGED_FOR, on the same clock.
        p.clock.run_for(CHANGED_FOR)
        p.wait_for_function(
            f"!document.querySelector(\"{row}\").hasAttribute('data-changed')", timeout=10_000
        )
    finally:
        context.close()


def set_hidden(p: Any, hidden: bool) -> None:
    p.evaluate(
        """(hidden) => { Object.defineProperty(document, 'hidden',
                                                {get: () => hidden, configurable: true});
        document.dispatchEvent(new Event('visibilitychange')); }""",
        hidden,
    )


def test_no_version_check_while_the_tab_is_hidden(page: Page, demo: Demo) -> None:
    """The page's timers run on Playwright's clock: 15 s pass at once, no waiting."""
    p = page.page
    p.clock.install()
    log_in(p, demo.url, "rep@acme.test")
    open_account(p, demo)
    requests: list[str] = []
    p.on("request", lambda r: requests.append(r.url) if is_version_check(r) else None)
    # Visible: one check when 15 s have passed (so the clock does drive the checks).
    with p.expect_response(is_version_check, timeout=10_000):
        p.clock.run_for(LIVE_EVERY)
    p.wait_for_selector(f"{PANEL}:not([data-live-busy])")
    assert len(requests) == 1
    # Hidden for more than 15 s: the timer fires and checks nothing. Requests are reported
    # in the order they are made, so once a marker request made afterwards is seen, a check
    # made while hidden would have been listed.
    set_hidden(p, True)
    p.clock.run_for(LIVE_EVERY + 1_000)
    with p.expect_request(lambda r: "xp-marker" in r.url, timeout=10_000):
        p.evaluate("fetch(location.pathname + '?xp-marker=1')")
    assert len(requests) == 1
    # Back in view after more than 15 s: one check at once.
    with p.expect_response(is_version_check, timeout=10_000):
        set_hidden(p, False)
    assert len(requests) == 2


def seed_expectations(customer: str) -> tuple[list[dict[str, Any]], dt.date]:
    """The customer's listed sales invoices in the emulator's built-in sample (the demo's
    Xero), read from Xero's own JSON, and today in Auckland (the organisation's zone)."""
    import zoneinfo

    from xero_emulator import sample_seed

    tenant = sample_seed()["tenants"][0]
    (contact_id,) = [c["ContactID"] for c in tenant["Contacts"] if c["Name"] == customer]
    today = dt.datetime.now(zoneinfo.ZoneInfo("Pacific/Auckland")).date()

    def day(value: str) -> dt.date:
        ms = int(re.search(r"-?\d+", value).group(0))  # type: ignore[union-attr]
        return (dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms)).date()

    invoices = [
        {
            "number": i["InvoiceNumber"],
            "due": day(i["DueDate"]),
            "amount_due": i["AmountDue"],
            "currency": i["CurrencyCode"],
            "credited": i.get("AmountCredited") or 0,
        }
        for i in tenant["Invoices"]
        if i["Contact"]["ContactID"] == contact_id
        and i["Type"] == "ACCREC"
        and i["Status"] in ("AUTHORISED", "PAID")
    ]
    return invoices, today


def unused_credit(customer: str) -> Decimal:
    """The customer's unused credit in the emulator's built-in sample: the remaining credit
    of its authorised sales credit notes."""
    from xero_emulator import sample_seed

    tenant = sample_seed()["tenants"][0]
    (contact_id,) = [c["ContactID"] for c in tenant["Contacts"] if c["Name"] == customer]
    return sum(
        (
            Decimal(str(n["RemainingCredit"]))
            for n in tenant["CreditNotes"]
            if n["Contact"]["ContactID"] == contact_id
            and n["Type"] == "ACCRECCREDIT"
            and n["Status"] == "AUTHORISED"
        ),
        Decimal(0),
    )


def bucket_of(days_past_due: int) -> str:
    for name, low, high in (("current", None, 0), ("1-30", 1, 30), ("31-60", 31, 60)):
        if (low is None or days_past_due >= low) and days_past_due <= high:
            return name
    return "61-90" if days_past_due <= 90 else "90+"


def test_due_text_ageing_sorts_and_credits_over_the_demo(page: Page, demo: Demo) -> None:
    """The demo's panel against the emulator's own data for a customer with credit applied,
    credit notes, overdue and not-yet-due invoices."""
    customer = "Coastal Studios Pty Ltd"
    invoices, today = seed_expectations(customer)
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    p.goto(f"{demo.url}/accounts")
    p.click(f'[data-testid=record-link][data-name="{customer}"]')
    p.wait_for_selector(ROW)
    account_url = p.url.split("?")[0]
    # Ageing: every bucket per currency with the emulator's unpaid amounts.
    expected: dict[tuple[str, str], list[float]] = {}
    for i in invoices:
        if i["amount_due"] > 0:
            key = (bucket_of((today - i["due"]).days), i["currency"])
            expected.setdefault(key, []).append(i["amount_due"])
    strip = {
        (a.get_attribute("data-bucket"), a.get_attribute("data-currency")): (
            a.get_attribute("data-amount"),
            a.get_attribute("data-count"),
        )
        for a in p.locator(f"{PANEL} [data-testid=aging] [data-bucket]").all()
    }
    assert expected and len(strip) == 5 * len({c for _, c in expected})
    for key, amounts in expected.items():
        assert strip[key] == (f"{sum(amounts):.2f}", str(len(amounts))), key
    # Due text on every invoice row, as the emulator's due dates say.
    p.goto(f"{account_url}?xp_view=all")
    p.wait_for_selector(ROW)
    by_number = {i["number"]: i for i in invoices}
    for row in p.locator(f"{ROW}[data-type=invoice]").all():
        invoice = by_number[row.get_attribute("data-invoice-number")]
        text = row.locator("[data-testid=due]").inner_text()
        days = (invoice["due"] - today).days
        if invoice["amount_due"] == 0:
            assert text.startswith("Paid"), text
        elif days == 0:
            assert text == "Due today"
        elif days == 1:
            assert text == "Due tomorrow"
        elif days > 1:
            assert text == f"Due in {days} days"
        else:
            assert text == f"{-days} day{'s' if days != -1 else ''} overdue"
        credited = row.get_attribute("data-credited")
        assert credited == (f"{invoice['credited']:.2f}" if invoice["credited"] else None)
        if credited:
            assert row.locator("[data-testid=credited]").inner_text().endswith(" credited")
    # Credit note rows: typed Credit note, never Paid.
    notes = p.locator(f"{ROW}[data-type=credit_note]")
    assert notes.count() >= 1
    for row in notes.all():
        assert row.locator(".xp-cell-type").inner_text() == "Credit note"
        assert "Paid" not in row.locator("[data-testid=status]").inner_text()
    # Each sort, by clicking it.
    for sort, key, reverse in (("due", "data-due-date", False), ("balance", "data-balance", True)):
        p.click(f"{PANEL} [data-sort={sort}]")
        p.wait_for_selector(f"{PANEL} [data-sort={sort}][aria-current]")
        values = [row.get_attribute(key) for row in p.locator(f"{ROW}[data-type=invoice]").all()]
        values = [v for v in values if v]
        typed = [float(v) for v in values] if key == "data-balance" else values
        assert typed == sorted(typed, reverse=reverse), sort  # type: ignore[type-var]
        assert f"xp_sort={sort}" in p.url
    # Unused credit over the demo: Kauri's, as the emulator's credit notes have it (the
    # sample's amounts depend on the day it is made).
    p.goto(f"{demo.url}/accounts")
    p.click('[data-testid=record-link][data-name="Kauri Events Inc"]')
    credit = p.locator(f"{PANEL} [data-testid=total-credit]")
    credit.wait_for()
    assert (credit.get_attribute("data-currency"), credit.get_attribute("data-amount")) == (
        "NZD",
        f"{unused_credit('Kauri Events Inc'):.2f}",
    )
    assert page.errors == []

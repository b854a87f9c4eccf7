"""What only a browser shows of the invoice panel: htmx swaps, search as you type, the date
range, the instalment tooltip on hover and on keyboard focus, pins across users, URL state
kept on reload, no console errors and no sideways scrolling at 320 px.

The demo's cache is filled once by the plugin's own sync against the emulator (the same
code a first panel view starts in the background), so the tests need not wait for it.
"""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import Page, log_in
from tests.browser.pages import ROW, Demo, open_account


def row_attr(page: Any, name: str) -> list[str]:
    return [
        str(v)
        for v in page.locator(ROW).evaluate_all(f"rs => rs.map(r => r.getAttribute('{name}'))")
    ]


def current_view(page: Any) -> str:
    return str(
        page.locator("[data-xero-panel] [data-view][aria-current]").get_attribute("data-view")
    )


def test_view_change_swaps_panel_without_reload(page: Page, demo: Demo) -> None:
    log_in(page.page, demo.url, "rep@acme.test")
    open_account(page.page, demo)
    page.page.evaluate("window.__xpNoReload = true")
    page.page.click("[data-xero-panel] [data-view=paid]")
    page.page.wait_for_selector("[data-xero-panel] [data-view=paid][aria-current]")
    assert set(row_attr(page.page, "data-status")) == {"paid"}
    assert page.page.evaluate("window.__xpNoReload") is True
    assert "xp_view=paid" in page.page.url
    assert page.errors == []


def test_total_unpaid_switches_to_unpaid(page: Page, demo: Demo) -> None:
    log_in(page.page, demo.url, "rep@acme.test")
    open_account(page.page, demo, "?xp_view=paid")
    page.page.click("[data-xero-panel] [data-testid=total-unpaid] >> nth=0")
    page.page.wait_for_selector("[data-xero-panel] [data-view=unpaid][aria-current]")
    assert "xp_view" not in page.page.url
    assert page.errors == []


def test_search_as_you_type(page: Page, demo: Demo) -> None:
    log_in(page.page, demo.url, "rep@acme.test")
    open_account(page.page, demo, "?xp_view=all")
    number = row_attr(page.page, "data-invoice-number")[-1]
    fragment = number[-3:].lower()
    page.page.locator("[data-xero-panel] [data-testid=search]").press_sequentially(
        fragment, delay=60
    )
    page.page.wait_for_url(re.compile(rf"xp_q={re.escape(fragment)}"))
    page.page.wait_for_function(
        "f => [...document.querySelectorAll('[data-testid=invoice-row]')]"
        ".every(r => r.dataset.invoiceNumber.toLowerCase().includes(f))",
        arg=fragment,
    )
    assert number in row_attr(page.page, "data-invoice-number")
    # The search box kept focus: only the list was swapped.
    assert page.page.evaluate("document.activeElement.dataset.testid") == "search"
    assert page.errors == []


def test_date_range_apply_and_clear(page: Page, demo: Demo) -> None:
    log_in(page.page, demo.url, "rep@acme.test")
    open_account(page.page, demo, "?xp_view=all")
    total = int(page.page.locator("[data-xero-panel] .xp-results").get_attribute("data-count"))
    dates = sorted(row_attr(page.page, "data-date"))
    start, end = dates[len(dates) // 3], dates[-1]
    page.page.fill("[data-xero-panel] [data-testid=date-from]", start)
    page.page.fill("[data-xero-panel] [data-testid=date-to]", end)
    page.page.click("[data-xero-panel] [data-testid=date-apply]")
    page.page.wait_for_url(re.compile(f"xp_from={start}"))
    page.page.wait_for_function(
        "n => Number(document.querySelector('[data-xero-panel] .xp-results')?.dataset.count) < n",
        arg=total,
    )
    assert all(start <= d <= end for d in row_attr(page.page, "data-date"))
    page.page.click("[data-xero-panel] [data-testid=date-clear]")
    page.page.wait_for_function(
        "n => Number(document.querySelector('[data-xero-panel] .xp-results')?.dataset.count) === n",
        arg=total,
    )
    assert page.page.input_value("[data-xero-panel] [data-testid=date-from]") == ""
    assert "xp_from" not in page.page.url
    assert page.errors == []


def test_bad_date_range_shows_error_in_panel(page: Page, demo: Demo) -> None:
    log_in(page.page, demo.url, "rep@acme.test")
    open_account(page.page, demo)
    page.page.fill("[data-xero-panel] [data-testid=date-from]", "2026-03-02")
    page.page.fill("[data-xero-panel] [data-testid=date-to]", "2026-03-01")
    page.page.click("[data-xero-panel] [data-testid=date-apply]")
    error = page.page.locator("[data-xero-panel] [data-testid=panel-error]")
    error.wait_for()
    assert error.inner_text() == "The start date must not be after the end date."
    assert page.page.locator("[data-xero-panel] [data-testid=date-apply]").is_visible()


def test_payments_tooltip_on_hover_and_keyboard_focus(page: Page, demo: Demo) -> None:
    log_in(page.page, demo.url, "rep@acme.test")
    open_account(page.page, demo, "?xp_view=all")
    row = page.page.locator(ROW, has=page.page.locator("[data-testid=payments-trigger]")).first
    trigger = row.locator("[data-testid=payments-trigger]")
    tooltip = row.locator("[data-testid=payments]")
    assert tooltip.get_attribute("role") == "tooltip"
    assert trigger.get_attribute("aria-describedby") == tooltip.get_attribute("id")
    assert not tooltip.is_visible()

    trigger.hover()
    tooltip.wait_for(state="visible")
    items = tooltip.locator("li")
    assert items.count() >= 1
    assert items.first.get_attribute("data-payment-number") == "1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", items.first.get_attribute("data-date") or "")
    assert re.fullmatch(r"\d+\.\d\d", items.first.get_attribute("data-amount") or "")
    page.page.mouse.move(0, 0)
    tooltip.wait_for(state="hidden")

    row.locator(".xp-cell-number a").focus()
    page.page.keyboard.press("Tab")
    assert page.page.evaluate("document.activeElement.dataset.testid") == "payments-trigger"
    tooltip.wait_for(state="visible")
    page.page.keyboard.press("Escape")
    tooltip.wait_for(state="hidden")
    page.page.keyboard.press("Tab")
    tooltip.wait_for(state="hidden")
    assert page.errors == []


def test_load_more_appends_rows(page: Page, demo: Demo) -> None:
    log_in(page.page, demo.url, "rep@acme.test")
    open_account(page.page, demo, "?xp_view=all")
    assert page.page.locator(ROW).count() == 25
    page.page.click("[data-xero-panel] [data-testid=load-more]")
    page.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=invoice-row]').length > 25"
    )
    dates = row_attr(page.page, "data-date")
    assert dates == sorted(dates, reverse=True)
    assert page.errors == []


def test_pin_shows_in_pinned_view_for_other_user(browser: Any, page: Page, demo: Demo) -> None:
    log_in(page.page, demo.url, "rep@acme.test")
    open_account(page.page, demo)
    row = page.page.locator(ROW).first
    invoice_id = row.get_attribute("data-invoice-id")
    toggle = row.locator("[data-testid=pin-toggle]")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    pinned = page.page.locator(f'{ROW}[data-invoice-id="{invoice_id}"] [data-testid=pin-toggle]')
    pinned.and_(page.page.locator('[aria-pressed="true"]')).wait_for()
    page.page.click("[data-xero-panel] [data-view=pinned]")
    page.page.wait_for_selector("[data-xero-panel] [data-view=pinned][aria-current]")
    assert invoice_id in row_attr(page.page, "data-invoice-id")

    context = browser.new_context()
    try:
        other = context.new_page()
        log_in(other, demo.url, "admin@acme.test")
        open_account(other, demo, "?xp_view=pinned")
        assert invoice_id in row_attr(other, "data-invoice-id")
    finally:
        context.close()

    # Unpin, so the shared demo is as it was.
    page.page.locator(f'{ROW}[data-invoice-id="{invoice_id}"] [data-testid=pin-toggle]').click()
    page.page.locator(
        f'{ROW}[data-invoice-id="{invoice_id}"] [data-testid=pin-toggle][aria-pressed="false"]'
    ).wait_for()
    assert page.errors == []


def test_url_state_kept_on_reload(page: Page, demo: Demo) -> None:
    log_in(page.page, demo.url, "rep@acme.test")
    open_account(page.page, demo)
    page.page.click("[data-xero-panel] [data-view=all]")
    page.page.wait_for_selector("[data-xero-panel] [data-view=all][aria-current]")
    before = row_attr(page.page, "data-invoice-id")
    page.page.reload()
    page.page.wait_for_selector(ROW)
    assert current_view(page.page) == "all"
    assert row_attr(page.page, "data-invoice-id") == before
    assert page.errors == []


def test_no_sideways_scroll_at_320px_with_rows(browser: Any, demo: Demo) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        log_in(page, demo.url, "rep@acme.test")
        open_account(page, demo, "?xp_view=all")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the account page scrolls sideways by {overflow}px"
        # Stacked: each row is two wrapped lines (a flex box), not a table row.
        assert page.locator(ROW).first.evaluate("r => getComputedStyle(r).display") == "flex"
        assert errors == []
    finally:
        context.close()


def test_panel_works_under_a_strict_content_security_policy(page: Page, demo: Demo) -> None:
    # script-src 'self' without 'unsafe-inline' or 'unsafe-eval': no inline script, no
    # inline handler, no hx-on (htmx compiles those with eval).
    def add_policy(route: Any) -> None:
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": "script-src 'self'"}
        route.fulfill(response=response, headers=headers)

    page.page.add_init_script(
        "window.xpViolations = [];"
        " document.addEventListener('securitypolicyviolation',"
        " e => window.xpViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    log_in(page.page, demo.url, "rep@acme.test")
    page.page.route(re.compile(r".*/accounts/\d+.*"), add_policy)
    open_account(page.page, demo)
    page.page.fill("[data-xero-panel] [data-testid=date-from]", "2026-03-02")
    page.page.fill("[data-xero-panel] [data-testid=date-to]", "2026-03-01")
    page.page.click("[data-xero-panel] [data-testid=date-apply]")
    error = page.page.locator("[data-xero-panel] [data-testid=panel-error]")
    error.wait_for()  # the 400 answer was swapped in, by panel.js
    assert error.inner_text() == "The start date must not be after the end date."
    assert page.page.evaluate("window.xpViolations") == []
    assert [e for e in page.errors if "status of 400" not in e] == []

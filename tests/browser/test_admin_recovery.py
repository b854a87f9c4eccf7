"""What reps and admins see, in Chromium, when Xero fails and comes back: a revoked grant
reconnected, Xero too slow for a *Refresh*, and the integration page following a sync.

Each test failed before the organisation's state was decided in one place: after *Reconnect*
and *Save* the page still said "an admin must reconnect"; a *Refresh* Xero was too slow for
said "Updated just now"; the integration page's figures stayed at "0 invoices ... never" until
a reload, and "Saved" claimed the panel showed invoices while the cache was still empty.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import LiveDemo, Page, log_in

SETTINGS = "/integrations/xero/settings"
ACME_TENANT = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7a9c0d11"
PANEL_READY = (
    "[data-xero-panel]:not([aria-busy]) :is([data-testid=panel-notice],"
    " [data-testid=panel-empty], [data-testid=invoice-row])"
)


def open_first_account(p: object, demo: LiveDemo) -> None:
    p.goto(f"{demo.url}/accounts")  # type: ignore[attr-defined]
    p.click('[data-testid="record-link"][data-record-type="account"] >> nth=0')  # type: ignore[attr-defined]
    p.wait_for_selector(PANEL_READY)  # type: ignore[attr-defined]


def test_reconnect_and_save_clear_must_reconnect_for_admin_and_rep(
    page: Page, browser: object, own_demo: LiveDemo
) -> None:
    p = page.page
    own_demo.emulator.add_fault({"revoke_tenant": ACME_TENANT})
    log_in(p, own_demo.url, "admin@acme.test")
    p.goto(f"{own_demo.url}{SETTINGS}")
    p.click("[data-testid=test-connection]")  # Xero refuses the grant
    expect(p.locator("[data-testid=reconnect-banner]")).to_contain_text("Reconnect")
    expect(p.locator("[data-testid=org-health]")).to_have_attribute("data-state", "needs-reconnect")
    own_demo.emulator.clear_faults()  # the user grants access again on Xero's page

    p.click("[data-testid=reconnect-xero]")
    p.fill("input[name=email]", "owner@kiwi-garden.test")
    p.fill("input[name=password]", "kiwi-demo")
    p.click("[data-testid=login-submit]")
    p.check("text=Kiwi Garden Supplies Ltd")
    p.click("[data-testid=allow-access]")
    p.click("[data-testid=save-xero]")

    expect(p.locator("[data-testid=connection-status]")).to_have_attribute("data-status", "active")
    expect(p.locator("[data-testid=org-health]")).to_have_attribute(
        "data-state", "ok", timeout=20000
    )
    expect(p.locator("[data-testid=reconnect-banner]")).to_have_count(0)
    expect(p.locator("body")).not_to_contain_text("must reconnect")

    rep = browser.new_page()  # type: ignore[attr-defined]
    try:
        log_in(rep, own_demo.url, "rep@acme.test")
        open_first_account(rep, own_demo)
        expect(rep.locator("[data-testid=panel-notice]")).to_have_count(0)
    finally:
        rep.close()
    assert page.errors == []


def test_a_refresh_xero_is_too_slow_for_says_so_not_updated(page: Page, own_demo: LiveDemo) -> None:
    p = page.page
    log_in(p, own_demo.url, "rep@acme.test")
    open_first_account(p, own_demo)
    own_demo.emulator.add_fault({"endpoint": "Contacts", "delay_ms": 8000})
    own_demo.emulator.add_fault({"endpoint": "Invoices", "delay_ms": 8000})
    try:
        p.click("[data-testid=refresh]")
        notice = p.locator("[data-testid=panel-notice]")
        expect(notice).to_have_attribute("data-reason", "slow", timeout=20000)
        expect(notice).to_contain_text("slow")
        expect(p.locator("[data-xero-panel]")).not_to_contain_text("Updated just now")
    finally:
        own_demo.emulator.clear_faults()
    assert page.errors == []


def test_the_integration_page_follows_the_first_sync_and_refresh_now(
    page: Page, own_demo: LiveDemo
) -> None:
    p = page.page
    log_in(p, own_demo.url, "admin@globex.test")
    p.goto(f"{own_demo.url}{SETTINGS}")
    p.click("[data-testid=connect-xero]")
    p.fill("input[name=email]", "books@harbour-audio.test")
    p.fill("input[name=password]", "harbour-demo")
    p.click("[data-testid=login-submit]")
    p.click("[data-testid=allow-access]")
    p.click("[data-testid=save-xero]")

    message = p.locator("[data-testid=settings-message]")
    expect(message).to_contain_text("first sync")
    expect(message).not_to_contain_text("now shows invoices")
    # Without a reload, the figures follow the sync to its end.
    invoices = p.locator("[data-testid=cached-invoices]")
    expect(invoices).not_to_have_text(re.compile(r"^\s*0\b"), timeout=20000)
    expect(p.locator("[data-testid=last-full-sync]")).not_to_contain_text("never", timeout=20000)
    expect(p.locator("[data-testid=org-health]")).to_have_attribute("data-state", "ok")

    last_sync = p.locator("[data-testid=last-incremental-sync] time")
    before = last_sync.get_attribute("datetime")
    p.click("[data-testid=refresh-now]")
    expect(p.locator("[data-testid=org-health-rows]")).to_have_attribute("data-watching", "true")
    # *Refresh now* promises that the page follows it: the time of the last sync moves on
    # without a reload.
    expect(last_sync).not_to_have_attribute("datetime", before or "", timeout=20000)
    assert page.errors == []

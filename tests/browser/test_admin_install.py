"""The admin installs Xero from the marketplace and removes it, clicking as a person does."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import LiveDemo, Page, log_in

# After a click that posts a form, the next page may still be loading: the checks below use
# expect(), which waits for the page to get there, instead of reading the page once.


def test_admin_installs_xero_from_marketplace_then_removes_it(
    page: Page, own_demo: LiveDemo
) -> None:
    p = page.page
    log_in(p, own_demo.url, "admin@globex.test")
    p.goto(f"{own_demo.url}/settings/marketplace")
    p.fill("[data-testid=marketplace-search]", "xero")
    p.keyboard.press("Enter")
    p.click("[data-testid=xero-card] >> text=Install")
    p.click("[data-testid=connect-xero]")
    assert p.url.startswith(own_demo.emulator_url)
    p.fill("input[name=email]", "books@harbour-audio.test")
    p.fill("input[name=password]", "harbour-demo")
    p.click("[data-testid=login-submit]")
    p.click("[data-testid=allow-access]")
    assert (
        p.locator("[data-testid=connected-by]").inner_text().endswith("<books@harbour-audio.test>")
    )
    assert p.locator("[data-testid=organisation-name]").all_inner_texts() == ["Harbour Audio Inc"]
    p.click("[data-testid=save-xero]")
    expect(p.locator("[data-testid=connection-status]")).to_have_attribute("data-status", "active")
    # The first sync's progress updates in place until it is done, without a reload.
    p.wait_for_selector("[data-testid=sync-status][data-sync-status=idle]", timeout=20000)
    assert "Last sync" in p.inner_text("[data-testid=sync-status]")
    p.click("[data-testid=test-connection]")
    expect(p.locator("body")).to_contain_text(
        "Connection works: Xero answered for Harbour Audio Inc"
    )
    p.click("[data-testid=remove-xero]")
    p.click("[data-testid=confirm-remove]")
    expect(p.locator("[data-testid=connection-status]")).to_have_attribute(
        "data-status", "not_connected"
    )
    assert page.errors == []


def test_admin_cancels_on_xero_consent_page(page: Page, own_demo: LiveDemo) -> None:
    p = page.page
    log_in(p, own_demo.url, "admin@globex.test")
    p.goto(f"{own_demo.url}/integrations/xero/settings")
    p.click("[data-testid=connect-xero]")
    p.fill("input[name=email]", "books@harbour-audio.test")
    p.fill("input[name=password]", "harbour-demo")
    p.click("[data-testid=login-submit]")
    p.click("[data-testid=cancel]")
    expect(p.locator("body")).to_contain_text("cancelled on Xero's page; nothing was changed")
    expect(p.locator("[data-testid=connection-status]")).to_have_attribute(
        "data-status", "not_connected"
    )

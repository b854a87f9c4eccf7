"""Two admins, one Xero login: Acme is connected as owner@kiwi-garden.test (Kiwi Garden
Supplies); Globex's admin connects with the same login, grants only Kiwi Garden Australia,
saves, and removes Xero again; Acme keeps working, and Acme's Remove then revokes."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import LiveDemo, Page, log_in

SUPPLIES = "Kiwi Garden Supplies Ltd"
AUSTRALIA = "Kiwi Garden Australia Pty Ltd"


def test_two_admins_share_one_xero_login_safely(
    page: Page, own_demo: LiveDemo, browser: Any
) -> None:
    globex = page.page
    log_in(globex, own_demo.url, "admin@globex.test")
    globex.goto(f"{own_demo.url}/settings/marketplace?q=xero")
    expect(globex.locator("[data-testid=xero-card]")).to_have_attribute("data-installed", "false")
    globex.click("[data-testid=xero-card-install]")
    globex.click("[data-testid=connect-xero]")
    globex.fill("input[name=email]", "owner@kiwi-garden.test")
    globex.fill("input[name=password]", "kiwi-demo")
    globex.click("[data-testid=login-submit]")
    globex.check(f"[data-testid=tenant-checkbox][data-tenant-name='{AUSTRALIA}']")
    globex.uncheck(f"[data-testid=tenant-checkbox][data-tenant-name='{SUPPLIES}']")
    globex.click("[data-testid=allow-access]")
    # Only what this sign-in granted is offered, ticked; Acme's organisation is not.
    expect(globex.locator("[data-testid=organisation-name]")).to_have_text([AUSTRALIA])
    expect(globex.locator("input[name=tenant]")).to_be_checked()
    globex.click("[data-testid=save-xero]")
    expect(globex.locator("[data-testid=connection-status]")).to_have_attribute(
        "data-status", "active"
    )
    globex.wait_for_selector("[data-testid=sync-status][data-sync-status=idle]", timeout=20000)
    globex.click("[data-testid=remove-xero]")
    expect(globex.locator("[data-testid=remove-at-xero]")).to_have_attribute(
        "data-revokes", "false"
    )
    expect(globex.locator("[data-testid=remove-at-xero]")).to_contain_text("nothing changes")
    globex.click("[data-testid=confirm-remove]")
    expect(globex.locator("body")).to_contain_text("Nothing was disconnected or revoked in Xero")

    own_demo.emulator.reset_stats()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    acme = context.new_page()
    try:
        log_in(acme, own_demo.url, "admin@acme.test")
        acme.goto(f"{own_demo.url}/settings/marketplace?q=xero")
        expect(acme.locator("[data-testid=xero-card]")).to_have_attribute("data-installed", "true")
        acme.click("[data-testid=xero-card-manage]")
        acme.click("[data-testid=test-connection]")
        expect(acme.locator("body")).to_contain_text(
            f"Connection works: Xero answered for {SUPPLIES}"
        )
        acme.click("[data-testid=health-link]")
        health = acme.locator("[data-testid=org-health]")
        expect(health).to_have_count(1)
        expect(acme.locator("[data-testid=unmatched-records]")).to_be_visible()
        tenant = health.get_attribute("data-tenant-id")
        stats = own_demo.emulator.stats()["tenants"][tenant]
        assert stats["errors"] == 0 and stats["calls"] >= 1, stats
        acme.goto(f"{own_demo.url}/integrations/xero/remove")
        expect(acme.locator("[data-testid=remove-at-xero]")).to_have_attribute(
            "data-revokes", "true"
        )
        acme.click("[data-testid=confirm-remove]")
        expect(acme.locator("body")).to_contain_text("the grant is revoked at Xero")
    finally:
        context.close()
    assert own_demo.emulator.identity.connections == {}
    assert page.errors == []

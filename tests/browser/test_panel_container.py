"""What a person sees of the panel container: htmx loads it, and it fits a phone."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveDemo, Page, log_in
from tests.browser.pages import open_first


def test_panel_loaded_by_htmx_on_contact_page(page: Page, live_demo: LiveDemo) -> None:
    log_in(page.page, live_demo.url, "rep@acme.test")
    open_first(page.page, live_demo, "contact")
    panel = page.page.locator("section[data-xero-panel]")
    assert panel.count() == 1
    assert panel.get_attribute("data-record-type") == "contact"
    assert page.page.locator(".xp-loading").count() == 0  # the container was swapped
    assert page.errors == []


def test_panel_fits_320px_without_horizontal_scroll(browser: Any, live_demo: LiveDemo) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        log_in(page, live_demo.url, "admin@acme.test")
        for record_type in ("contact", "account", "deal"):
            open_first(page, live_demo, record_type)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{record_type} page scrolls sideways by {overflow}px"
    finally:
        context.close()


def test_globex_admin_sees_connect_link_in_panel(page: Page, live_demo: LiveDemo) -> None:
    log_in(page.page, live_demo.url, "admin@globex.test")
    open_first(page.page, live_demo, "account")
    link = page.page.locator("[data-xero-panel] a", has_text="Connect Xero")
    assert link.get_attribute("href").endswith("/integrations/xero/settings")
    assert page.errors == []

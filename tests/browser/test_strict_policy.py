"""The demo's pages as a rep and an admin see them, every response served under a strict
Content Security Policy (no inline script or style, no framing by other sites): the panel on
each record type, the integration page, the health page with its Link flow, the marketplace
and Remove. Each page: no console error (a refused inline style or script is one) and no
axe-core violation on the whole page."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveDemo, Page, log_in
from tests.browser.pages import axe_violations, open_first, sync_acme

POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'self'"
PANEL = "[data-xero-panel]"
LOADED = f"{PANEL}:not([aria-busy])"


def serve_under_policy(page: Any, base_url: str) -> None:
    """Every response of the demo carries the policy (the plugin's own framing policy too:
    a browser enforces each policy it is sent)."""

    def handle(route: Any) -> None:
        response = route.fetch(max_redirects=0)
        headers = {**response.headers, "content-security-policy": POLICY}
        route.fulfill(response=response, headers=headers)

    page.route(f"{base_url}/**", handle)


def settled(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def check(page: Page, where: str) -> None:
    settled(page.page)
    assert page.errors == [], where
    assert axe_violations(page.page) == [], where
    # htmx was told to leave out its inline indicator style (panel.css carries it).
    assert (
        page.page.evaluate(
            "[...document.querySelectorAll('style')]"
            ".filter(s => s.textContent.includes('htmx-indicator')).length"
        )
        == 0
    ), where


def test_every_demo_page_under_a_strict_policy(page: Page, own_demo: LiveDemo) -> None:
    sync_acme(own_demo)
    p = page.page
    serve_under_policy(p, own_demo.url)
    log_in(p, own_demo.url, "rep@acme.test")
    for record_type in ("contact", "account", "deal"):
        open_first(p, own_demo, record_type)
        check(page, record_type)
    p.goto(f"{own_demo.url}/accounts")
    check(page, "accounts list")

    p.context.clear_cookies()
    log_in(p, own_demo.url, "admin@acme.test")
    p.goto(f"{own_demo.url}/integrations/xero/settings")
    check(page, "integration")
    p.click("[data-testid=health-link]")
    p.wait_for_selector("[data-testid=match-coverage]")
    check(page, "health")
    coverage = p.locator("[data-testid=match-coverage]")
    matched = int(coverage.get_attribute("data-contacts-matched") or "0")
    item = p.locator("[data-testid=unmatched-record][data-record-type=contact]").first
    item.locator("[data-testid=link-record]").click()
    p.wait_for_selector(f"[data-testid=unmatched-record] {LOADED} [data-testid=link-search]")
    check(page, "health, Link opened")
    # The panel in the health page looks like the panel: its stylesheet is there.
    styles = p.evaluate(
        """() => { const panel = document.querySelector(
            '[data-testid=unmatched-record] [data-xero-panel]');
        return {border: getComputedStyle(panel).borderTopStyle,
                link: getComputedStyle(panel.querySelector('.xp-link-results')).listStyleType}; }"""
    )
    assert styles == {"border": "solid", "link": "none"}
    search = p.locator("[data-testid=unmatched-record] [data-testid=link-search]").first
    search.fill("a")
    search.press("Enter")
    p.wait_for_selector("[data-testid=unmatched-record] [data-testid=link-submit]")
    p.locator("[data-testid=unmatched-record] [data-testid=link-submit]").first.click()
    p.wait_for_selector(f"[data-testid=unmatched-record] {LOADED} [data-testid=matched-contacts]")
    settled(p)
    # The linked record's panel is styled (views are pills, the tooltip hidden), the count
    # of matched contacts went up, and focus is in the panel, not on the page's body.
    panel = p.locator("[data-testid=unmatched-record] [data-xero-panel]").first
    if panel.locator(".xp-views").count():
        assert (
            panel.locator(".xp-views ul").evaluate("e => getComputedStyle(e).listStyleType")
            == "none"
        )
    if panel.locator("[data-testid=payments]").count():
        assert panel.locator("[data-testid=payments]").first.is_hidden()
    p.wait_for_function(
        "(n) => Number(document.querySelector('[data-testid=match-coverage]')"
        ".dataset.contactsMatched) === n",
        arg=matched + 1,
    )
    assert p.evaluate("document.activeElement.closest('[data-xero-panel]') !== null")
    check(page, "health, linked")

    p.goto(f"{own_demo.url}/settings/marketplace?q=xero")
    check(page, "marketplace")
    p.goto(f"{own_demo.url}/integrations/xero/remove")
    check(page, "remove")
    p.click("[data-testid=confirm-remove]")
    p.wait_for_selector("[data-testid=connection-status][data-status=not_connected]")
    check(page, "removed")
    open_first(p, own_demo, "contact")
    check(page, "panel after removal")
    notice = p.locator(f"{PANEL} [data-testid=panel-notice]").inner_text()
    assert notice.startswith("Xero is not connected to this CRM account."), notice

"""The panel served from the fragment cache (issue 25), in a real browser: panel.js writes
"Last updated ... ago" from the kept HTML's datetime, and a panel served again still pins
(the session's CSRF token is in the answer)."""

from __future__ import annotations

import os
import re

from tests.browser.conftest import Page, log_in
from tests.browser.pages import ROW, Demo, open_account

UPDATED = "[data-xero-panel] [data-testid=last-updated] time[data-ago]"


def test_last_updated_is_written_relative_and_a_kept_panel_pins(page: Page, demo: Demo) -> None:
    log_in(page.page, demo.url, "rep@acme.test")
    open_account(page.page, demo)
    page.page.reload()  # the second view of the same panel is the kept one
    page.page.wait_for_selector(ROW)
    text = page.page.locator(UPDATED).inner_text()
    assert re.fullmatch(r"\d+ (second|minute|hour|day)s? ago", text), text
    pin = page.page.locator(f"{ROW} >> nth=0").locator("[data-testid=pin-toggle]")
    pin.click()
    page.page.wait_for_selector(f"{ROW} >> nth=0 >> [data-testid=pin-toggle][aria-pressed=true]")
    if os.environ.get("XP_SCREENSHOT"):
        page.page.locator("[data-xero-panel]").screenshot(path=os.environ["XP_SCREENSHOT"])
    # Unpin, so the shared demo is as it was for the tests after this one.
    pin.click()
    page.page.wait_for_selector(f"{ROW} >> nth=0 >> [data-testid=pin-toggle][aria-pressed=false]")
    assert page.errors == []

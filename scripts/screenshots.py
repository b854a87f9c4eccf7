"""Take the README's screenshots: the demo and the emulator in threads, Debian's Chromium.

Run from the repository root after ``make bootstrap``:
``.venv/bin/python scripts/screenshots.py`` (writes docs/images/*.png).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo.live import launch_chromium, log_in, running_demo  # noqa: E402

IMAGES = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"


def panel_screenshots(browser: object, url: str) -> None:
    """A rep on a customer's account page: the panel in the demo's side column (due text,
    ageing, credits applied and credit notes), and an instalment tooltip."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})  # type: ignore[attr-defined]
    log_in(page, url, "rep@acme.test")
    page.goto(f"{url}/accounts")
    page.click('[data-testid=record-link][data-name="Coastal Studios Pty Ltd"]')
    page.wait_for_selector("[data-testid=invoice-row]", timeout=30000)
    page.click("[data-view=all]")
    page.wait_for_selector("[data-xero-panel][data-current-view=all] [data-testid=invoice-row]")
    page.mouse.move(0, 0)
    panel = page.locator("section[data-xero-panel]")
    panel.screenshot(path=str(IMAGES / "panel.png"))
    trigger = page.locator("[data-testid=payments-trigger]").first
    trigger.scroll_into_view_if_needed()
    trigger.hover()
    page.wait_for_timeout(300)
    row = trigger.locator("xpath=ancestor::tr[1]").bounding_box()
    box = panel.bounding_box()
    page.screenshot(
        path=str(IMAGES / "panel-instalments.png"),
        clip={"x": box["x"], "y": max(0, row["y"] - 10), "width": box["width"], "height": 200},
    )
    page.close()


def main() -> int:
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    with running_demo(Path(tempfile.mkdtemp())) as demo, sync_playwright() as playwright:
        url = demo.url
        browser = launch_chromium(playwright, CHROMIUM)
        panel_screenshots(browser, url)
        page = browser.new_page(viewport={"width": 1100, "height": 760})
        log_in(page, url, "admin@globex.test")
        page.goto(f"{url}/settings/marketplace?q=xero")
        page.screenshot(path=str(IMAGES / "admin-1-marketplace.png"))
        page.click("[data-testid=xero-card-install]")
        page.screenshot(path=str(IMAGES / "admin-2-connect.png"))
        page.click("[data-testid=connect-xero]")
        # Globex connects with the Xero login Acme already uses, and grants only the seed's
        # second organisation: the CRM then offers only what this sign-in granted.
        page.fill("input[name=email]", "owner@kiwi-garden.test")
        page.fill("input[name=password]", "kiwi-demo")
        page.click("[data-testid=login-submit]")
        page.check(
            "[data-testid=tenant-checkbox][data-tenant-name='Kiwi Garden Australia Pty Ltd']"
        )
        page.uncheck("[data-testid=tenant-checkbox][data-tenant-name='Kiwi Garden Supplies Ltd']")
        page.screenshot(path=str(IMAGES / "admin-3-xero-consent.png"))
        page.click("[data-testid=allow-access]")
        page.wait_for_selector("[data-testid=save-xero]")
        page.screenshot(path=str(IMAGES / "admin-4-choose-and-save.png"))
        page.click("[data-testid=save-xero]")
        page.wait_for_selector("[data-testid=connection-status][data-status=active]")
        page.wait_for_selector("[data-testid=sync-status][data-sync-status=idle]", timeout=30000)
        page.screenshot(path=str(IMAGES / "admin-5-active.png"))
        page.click("[data-testid=health-link]")
        page.wait_for_selector("[data-testid=org-health]")
        page.click("[data-testid=link-record] >> nth=0")
        page.wait_for_selector("[data-testid=unmatched-record] [data-testid=link-contact]")
        page.screenshot(path=str(IMAGES / "admin-7-health.png"), full_page=True)
        page.goto(f"{url}/integrations/xero/remove")
        page.screenshot(path=str(IMAGES / "admin-6-remove.png"))
        # The whole marketplace: the card says Installed and looks like its neighbours.
        page.goto(f"{url}/settings/marketplace")
        page.screenshot(path=str(IMAGES / "admin-8-installed.png"))
        browser.close()
    print(f"wrote {', '.join(sorted(p.name for p in IMAGES.glob('*.png')))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

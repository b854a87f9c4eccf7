"""How the customer pays, in the browser (issue 24): the demo's three sample customers show
each trend on their account, contact and deal panels; the line fits 320 px with nothing
overflowing and has 0 axe-core violations. Screenshots of the line at 320 px and at full
width go to test-artifacts/ (and to docs/images/ with XP_UPDATE_DOCS_IMAGES=1)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.conftest import ARTIFACTS, Page, log_in
from tests.browser.pages import ROW, Demo
from tests.browser.test_panel_receivables import axe_violations

PANEL = "[data-xero-panel]"
LINE = f"{PANEL} [data-testid=payment-behaviour]"
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
#: The sample seed's customers of each trend (xero_emulator.sample_seed.PAYMENT_HABITS).
TRENDS = {
    "faster": "Kowhai Bakery Ltd",
    "slower": "Rata Joinery Ltd",
    "steady": "Tawa Florists Ltd",
}


def record_of(demo: Demo, model: str, name: str) -> int:
    import demo_app

    with demo.live.app.app_context():
        cls = getattr(demo_app, model)
        column = cls.email if model == "Contact" else cls.name
        value = name if model != "Contact" else f"accounts@{slug(name)}.test"
        found = demo_app.db.session.scalars(select(cls).where(column == value)).first()
        assert found is not None, (model, name)
        return int(found.id)


def slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())[:24]


def open_record(p: Any, demo: Demo, path: str) -> Any:
    p.goto(f"{demo.url}{path}")
    p.wait_for_selector(ROW)
    return p.locator(LINE)


def screenshot(p: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    p.locator(PANEL).screenshot(path=str(ARTIFACTS / name))
    if os.environ.get("XP_UPDATE_DOCS_IMAGES"):
        p.locator(PANEL).screenshot(path=str(IMAGES / name))


@pytest.mark.parametrize("trend", list(TRENDS))
def test_each_trend_on_its_customers_account(page: Page, demo: Demo, trend: str) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    line = open_record(p, demo, f"/accounts/{record_of(demo, 'Account', TRENDS[trend])}")
    assert line.get_attribute("data-trend") == trend
    assert line.get_attribute("data-paid-count") == "5"
    assert line.inner_text().startswith("Last 12 months: Pays in ")
    assert line.inner_text().endswith("the year before")
    assert page.errors == []


@pytest.mark.parametrize("model", ["Contact", "Deal"])
def test_the_line_on_contact_and_deal_panels(page: Page, demo: Demo, model: str) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    name = TRENDS["slower"]
    if model == "Deal":
        path = f"/deals/{deal_of(demo, record_of(demo, 'Account', name))}"
    else:
        path = f"/contacts/{record_of(demo, 'Contact', name)}"
    assert open_record(p, demo, path).get_attribute("data-trend") == "slower"


def deal_of(demo: Demo, account_id: int) -> int:
    import demo_app

    with demo.live.app.app_context():
        deal = demo_app.db.session.scalars(
            select(demo_app.Deal).where(demo_app.Deal.account_id == account_id)
        ).first()
        assert deal is not None
        return int(deal.id)


def test_expected_payment_date_on_an_unpaid_row(page: Page, demo: Demo) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    p.goto(f"{demo.url}/accounts")
    p.click('[data-testid="record-link"][data-record-type="account"] >> nth=0')
    p.wait_for_selector(ROW)
    rows = p.locator(f"{ROW}[data-expected-payment]")
    assert rows.count() >= 1
    assert rows.first.locator(".xp-status-note", has_text="Expected ").count() == 1


@pytest.mark.parametrize("width", [320, 1280])
def test_the_line_fits_and_is_accessible(browser: Any, demo: Demo, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    p = context.new_page()
    try:
        log_in(p, demo.url, "rep@acme.test")
        line = open_record(p, demo, f"/accounts/{record_of(demo, 'Account', TRENDS['slower'])}")
        assert p.evaluate("document.documentElement.scrollWidth") <= width
        box = line.bounding_box()
        panel = p.locator(PANEL).bounding_box()
        assert box is not None and panel is not None
        assert box["x"] >= panel["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"]
        assert axe_violations(p, [PANEL]) == []
        screenshot(p, f"panel-payment-behaviour-{width}.png")
    finally:
        context.close()

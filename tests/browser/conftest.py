"""Browser tests: the demo CRM and the Xero emulator on ephemeral ports, in threads
(``demo.live``), and Debian's Chromium driven by Playwright (``playwright install`` cannot
download browsers here, so the tests launch ``/usr/bin/chromium``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from demo.live import LiveDemo, launch_chromium, log_in, running_demo
from tests.browser.pages import Demo, big_account, sync_acme
from tests.conftest import REQUIRE_SERVICES

__all__ = ["LiveDemo", "Page", "log_in"]

CHROMIUM = os.environ.get("XP_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    """One demo shared by the browser tests that only read."""
    with running_demo(tmp_path_factory.mktemp("demo")) as demo:
        yield demo


@pytest.fixture(scope="module")
def demo(live_demo: LiveDemo) -> Iterator[Demo]:
    """The shared demo with Acme's cache filled by a full sync (once per module)."""
    sync_acme(live_demo)
    yield Demo(url=live_demo.url, big_account=big_account(live_demo), live=live_demo)


@pytest.fixture
def own_demo(tmp_path: Path) -> Iterator[LiveDemo]:
    """A demo of its own, for a test that changes what others would see."""
    with running_demo(tmp_path) as demo:
        yield demo


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, CHROMIUM)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Page:
    """A Playwright page that records console errors and failed requests."""

    page: Any
    errors: list[str]


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(f"{m.text} [{m.location.get('url', '')}]") if m.type == "error" else None
        ),
    )
    page.on(
        "response",
        lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status == 404 else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield Page(page=page, errors=errors)
    finally:
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]

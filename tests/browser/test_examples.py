"""The example hosts in examples/, each installed from the BUILT WHEEL into its own
virtualenv (with the dependency set of this run: XP_TEST_CONSTRAINTS, constraints.txt or
constraints-min.txt), its CSS framework from npm (npm ci), run as its own process against
the Xero emulator, connected by its admin through the OAuth pages, and its panel rendered in
Chromium. Screenshots go to test-artifacts/ (and to docs/images/ with XP_UPDATE_DOCS_IMAGES=1).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from xero_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, sample_seed

from tests.browser.conftest import ARTIFACTS
from tests.clock_shift import xp_clock_shift
from tests.packaging_support import built

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / os.environ.get("XP_TEST_CONSTRAINTS", "constraints.txt")
KIWI_NZ = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7a9c0d11"  # the sample seed's first organisation
LOADED = "section[data-xero-panel]:not([aria-busy])"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` as a host's CI would run it (sdist, then the wheel from it)."""
    out = tmp_path_factory.mktemp("dist")
    built(ROOT, out)
    return next(out.glob("xero_panel-*.whl"))


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    server = Emulator(sample_seed()).serve(port=0)
    yield server.url
    server.shutdown()


@dataclass
class RunningExample:
    url: str
    venv: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run(*args: Any, **kwargs: Any) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def start_example(
    wheel: Path, emulator_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    processes: list[subprocess.Popen[str]] = []

    def start(name: str) -> RunningExample:
        home = tmp_path_factory.mktemp(name)
        app_dir = home / "app"
        shutil.copytree(
            ROOT / "examples" / name,
            app_dir,
            ignore=shutil.ignore_patterns("node_modules", "crm.db"),
        )
        run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", cwd=app_dir)
        if "build" in (app_dir / "package.json").read_text():
            run("npm", "run", "build", cwd=app_dir)
        venv = home / "venv"
        run(sys.executable, "-m", "venv", str(venv))
        pip = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet"]
        run(*pip, "--disable-pip-version-check", "-c", str(CONSTRAINTS), str(wheel))
        port = free_port()
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(home)),
            "FLASK_SECRET_KEY": "example-secret",
            "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{home / 'crm.db'}",
            "XERO_PANEL_CLIENT_ID": DEMO_CLIENT_ID,
            "XERO_PANEL_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "XERO_PANEL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "XERO_PANEL_LOGIN_URL": emulator_url,
            "XERO_PANEL_IDENTITY_URL": emulator_url,
            "XERO_PANEL_API_URL": emulator_url,
        }
        xp_clock_shift.carry_into(venv / "bin/python", env, CONSTRAINTS)
        log = home / "server.log"  # a file, not a pipe: nobody reads a pipe while it runs
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(venv / "bin/flask"), "--app", "app", "run", "--port", str(port)],
                cwd=app_dir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/login", timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.terminate()
                    pytest.fail(f"{name} did not start:\n{log.read_text()}")
                time.sleep(0.2)
        return RunningExample(url=url, venv=venv)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def sign_in(page: Any, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.select_option("#email", email)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)


def connect_xero(page: Any, url: str, xero_user: str, password: str, tenant: str) -> None:
    """The admin's path: settings, Xero's sign-in and consent, tick one organisation, save."""
    page.goto(f"{url}/integrations/xero/settings")
    page.click("[data-testid=connect-xero]")
    page.fill("input[name=email]", xero_user)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-submit]")
    for box in page.locator("[data-testid=tenant-checkbox]").all():  # Xero's consent page
        box.set_checked(box.get_attribute("value") == tenant)
    page.click("[data-testid=allow-access]")
    page.wait_for_url(lambda u: u.startswith(url))
    page.click("[data-testid=save-xero]")
    page.wait_for_selector("[data-testid=sync-status][data-sync-status=idle]", timeout=30000)


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    if os.environ.get("XP_UPDATE_DOCS_IMAGES"):
        page.screenshot(path=str(ROOT / "docs/images" / name), full_page=True)


def assert_installed_from_the_wheel(example: RunningExample) -> None:
    where = subprocess.run(
        [str(example.venv / "bin/python"), "-c", "import xero_panel; print(xero_panel.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=example.venv,
    ).stdout.strip()
    assert where.startswith(str(example.venv)), where


@contextmanager
def connected_example(
    browser: Any, start_example: Any, name: str, admin_email: str
) -> Iterator[tuple[RunningExample, Any, Any]]:
    """The example ``name`` started from the wheel (checked) and a page of a new browser
    context, signed in as ``admin_email`` with Kiwi Garden Supplies NZ connected."""
    example = start_example(name)
    assert_installed_from_the_wheel(example)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, example.url, admin_email)
        connect_xero(page, example.url, "owner@kiwi-garden.test", "kiwi-demo", KIWI_NZ)
        yield example, context, page
    finally:
        context.close()


def open_panel(page: Any, url: str, record_link: str, wait_for: str = "invoice-row") -> None:
    """From the example's home page, open a record by its link and wait for its panel."""
    page.goto(url)
    page.click(record_link)
    page.wait_for_selector(f"{LOADED} [data-testid={wait_for}]")


# Each builds, installs and starts a host: minutes under load, not the suite's 120 s.
@pytest.mark.timeout(600)
def test_single_tenant_bootstrap_example(browser: Any, start_example: Any) -> None:
    with connected_example(
        browser, start_example, "single_tenant_bootstrap", "manager@example.test"
    ) as (example, _, page):
        # The plugin's pages in the host's layout, with their own title.
        page.goto(f"{example.url}/integrations/xero/settings")
        assert page.title() == "Xero integration · Example CRM"
        # A light-only host on a dark system: the panel follows the page, not the system.
        page.emulate_media(color_scheme="dark")
        open_panel(page, example.url, "[data-testid=customer] >> text=Totara Events Group")
        label = page.locator(".xp-total-label").first
        assert label.evaluate("e => getComputedStyle(e).color") == "rgb(82, 96, 109)"
        # The host's card frames the panel: the panel draws no border of its own.
        panel = page.locator("section[data-xero-panel]")
        assert panel.evaluate("e => getComputedStyle(e).borderTopWidth") == "0px"
        current = page.locator("[data-view][aria-current]").first
        bootstrap_primary = "rgb(13, 110, 253)"
        assert current.evaluate("e => getComputedStyle(e).backgroundColor") == bootstrap_primary
        # htmx came from the wheel: the panel loaded, and the file is served.
        htmx = requests.get(f"{example.url}/integrations/xero/static/xero_panel/htmx.min.js")
        assert htmx.status_code == 200 and b"htmx" in htmx.content[:2000]
        screenshot(page, "example-single-tenant-bootstrap.png")

        # The role filter in the loader: the rep gets the panel of their own customer only.
        sign_in(page, example.url, "rep@example.test")
        own = page.request.get(f"{example.url}/integrations/xero/panel/contact/1")
        other = page.request.get(f"{example.url}/integrations/xero/panel/contact/2")
        assert (own.status, other.status) == (200, 404)
        assert 'data-testid="invoice-row"' in own.text()


@pytest.mark.timeout(600)
def test_multi_tenant_tailwind_dark_example(browser: Any, start_example: Any) -> None:
    with connected_example(browser, start_example, "multi_tenant_tailwind", "admin@kiwi.test") as (
        example,
        context,
        page,
    ):
        # Light (no theme cookie) on a dark system stays light: the host says nothing.
        page.emulate_media(color_scheme="dark")
        open_panel(page, example.url, "[data-testid=contact] >> text=Totara Events Group")
        panel = page.locator("section[data-xero-panel]")
        assert panel.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
        screenshot(page, "example-multi-tenant-tailwind-light-dark-system.png")
        context.add_cookies([{"name": "theme", "value": "dark", "url": example.url}])
        open_panel(page, example.url, "[data-testid=contact] >> text=Totara Events Group")
        assert panel.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(31, 41, 51)"
        current = page.locator("[data-view][aria-current]").first
        accent = current.evaluate("e => getComputedStyle(e).backgroundColor")
        assert accent != "rgb(98, 176, 255)"  # the host's violet, not the panel's own blue
        screenshot(page, "example-multi-tenant-tailwind-dark.png")

        # The other company has its own (unconnected) Xero, and never sees Kiwi's.
        sign_in(page, example.url, "admin@harbour.test")
        open_panel(page, example.url, "[data-testid=contact]", wait_for="panel-notice")
        assert page.locator("[data-testid=invoice-row]").count() == 0
        kiwi_contact = page.request.get(f"{example.url}/integrations/xero/panel/contact/1")
        assert kiwi_contact.status == 404

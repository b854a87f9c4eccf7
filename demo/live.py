"""The demo and the Xero emulator served in threads, and Chromium to drive them.

Shared by the browser tests (``tests/browser``) and ``scripts/screenshots.py``; not used by
``python demo_app.py``. Playwright is imported by the caller, never here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from .app import create_app
from .seeding import DEMO_PASSWORD, connect_acme, rebuild_database

__all__ = ["CHROMIUM_ARGS", "LiveDemo", "launch_chromium", "log_in", "running_demo"]

#: Debian's Chromium in a container: no sandbox, GPU, background traffic or QUIC.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


@dataclass
class LiveDemo:
    """A running demo: the CRM at ``url``, the emulator (control API on) at ``emulator_url``."""

    url: str
    emulator_url: str
    app: Flask
    emulator: Any
    servers: list[Any] = field(default_factory=list)


def _serve(app: Flask) -> tuple[Any, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@contextlib.contextmanager
def running_demo(directory: Path) -> Iterator[LiveDemo]:
    """The demo as ``python demo_app.py`` runs it, with the built-in sample seed, on free
    ports of 127.0.0.1 and a SQLite database in ``directory``."""
    from xero_emulator import Emulator, sample_seed

    seed = sample_seed()
    emulator = Emulator(seed, control_enabled=True)
    emulator_server = emulator.serve(host="127.0.0.1", port=0)
    # The emulator accepts loopback redirect URIs on any port; the CRM runs on one too.
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'demo.sqlite3'}"},
        seed=seed,
        emulator_url=emulator_server.url,
    )
    rebuild_database(app)
    connect_acme(app, emulator)
    server, url = _serve(app)
    try:
        yield LiveDemo(
            url=url,
            emulator_url=emulator_server.url,
            app=app,
            emulator=emulator,
            servers=[server, emulator_server],
        )
    finally:
        server.shutdown()
        emulator_server.shutdown()


def launch_chromium(playwright: Any, executable: str) -> Any:
    """A headless Chromium from ``executable`` (``playwright install`` cannot download one)."""
    return playwright.chromium.launch(
        executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
    )


def log_in(page: Any, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in on the demo's login page as a person does, and wait to leave it."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)

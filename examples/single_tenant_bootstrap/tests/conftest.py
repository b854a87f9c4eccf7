"""This CRM's test set-up: the app with TESTING on, and Xero from the emulator's fixture."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the example's app.py

# The emulator's pytest plugin: the `xero_emulator` fixture, an emulator served in-process.
pytest_plugins = ["xero_emulator.testing"]


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """This CRM's app, as its tests build it: TESTING on, a fresh database."""
    for key in [k for k in os.environ if k.startswith("XERO_PANEL_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("FLASK_TESTING", "true")
    monkeypatch.setenv("FLASK_SECRET_KEY", "tests")
    monkeypatch.setenv("FLASK_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'crm.db'}")

    def make(**settings):
        for key, value in settings.items():
            monkeypatch.setenv(key, value)
        from app import create_app

        return create_app()

    return make


def csrf_of(html: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1).decode()


def sign_in(client, email: str) -> None:
    token = csrf_of(client.get("/login").data)
    assert client.post("/login", data={"email": email, "csrf_token": token}).status_code == 302


def connect_xero(client, xero, tenant: str) -> None:
    """The admin's path: Connect to Xero, sign in and allow at Xero, save one organisation,
    and wait for its first sync (a background thread without Redis)."""
    token = csrf_of(client.get("/login").data)
    to_xero = client.post("/integrations/xero/connect", data={"csrf_token": token})
    assert to_xero.status_code == 302
    back = urlsplit(
        xero.consent(to_xero.headers["Location"], "owner@kiwi-garden.test", "kiwi-demo")
    )
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    saved = client.post("/integrations/xero/save", data={"csrf_token": token, "tenant": [tenant]})
    assert saved.status_code == 302
    deadline = time.monotonic() + 60
    while b'data-sync-status="idle"' not in client.get("/integrations/xero/settings").data:
        assert time.monotonic() < deadline, "the first sync did not finish"
        time.sleep(0.2)

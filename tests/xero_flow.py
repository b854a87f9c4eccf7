"""Plays the Xero user on the emulator's sign-in and consent pages, over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from xero_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator

_INPUT = re.compile(r"<input\b([^>]*)>", re.I)
_ATTR = re.compile(r"""(\w[\w-]*)=(?:'([^']*)'|"([^"]*)")""")


def hidden_fields(html: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for match in _INPUT.finditer(html):
        attrs = {m[0]: unescape(m[1] or m[2]) for m in _ATTR.findall(match.group(1))}
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def csrf_from(html: str) -> str:
    return hidden_fields(html)["csrf_token"]


def grant_at_xero(
    authorize_url: str,
    *,
    email: str = "owner@kiwi-garden.test",
    password: str,
    tenants: list[str] | None = None,
    action: str = "allow",
) -> str:
    """Sign in and answer the consent page; return where Xero redirects back to."""
    with requests.Session() as browser:
        login = browser.get(authorize_url, timeout=10)
        assert login.status_code == 200, login.text[:500]
        form = hidden_fields(login.text)
        form.update(email=email, password=password)
        consent = browser.post(
            urljoin(authorize_url, "/identity/connect/authorize"), data=form, timeout=10
        )
        assert consent.status_code == 200, consent.text[:500]
        answer: dict[str, Any] = hidden_fields(consent.text)
        answer["action"] = action
        if tenants is not None:
            answer["tenant"] = tenants
        else:
            answer["tenant"] = re.findall(r"name='tenant' value='([^']+)'", consent.text)
        back = browser.post(
            urljoin(authorize_url, "/identity/connect/authorize"),
            data=answer,
            allow_redirects=False,
            timeout=10,
        )
        assert back.status_code in (302, 303), back.text[:500]
        return str(back.headers["Location"])


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@contextmanager
def serving(seed: dict[str, Any]) -> Iterator[Emulator]:
    """An emulator with control endpoints, served over HTTP on a free port; its URL is
    ``emulator.url``."""
    emulator = Emulator(seed, control_enabled=True)
    server = emulator.serve(port=0)
    emulator.url = server.url  # type: ignore[attr-defined]
    try:
        yield emulator
    finally:
        server.shutdown()


def emulator_settings(emulator: Emulator) -> dict[str, Any]:
    """The host's plugin settings for connecting through ``serving``'s emulator: the
    emulator's demo app, its URLs for sign-in, identity and the API, and a server name
    for the redirect URI."""
    url = emulator.url  # type: ignore[attr-defined]
    return {
        "XERO_PANEL_CLIENT_ID": DEMO_CLIENT_ID,
        "XERO_PANEL_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "XERO_PANEL_LOGIN_URL": url,
        "XERO_PANEL_IDENTITY_URL": url,
        "XERO_PANEL_API_URL": url,
        "SERVER_NAME": "127.0.0.1:5000",
    }

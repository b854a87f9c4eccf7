"""The emulator in a host's own tests, in-process.

**A pytest fixture.** ``pytest_plugins = ["xero_emulator.testing"]`` in a host's
``conftest.py`` gives its tests ``xero_emulator``: an :class:`Emulator` seeded with
``xero_emulator_seed`` (the built-in sample unless the host overrides that fixture), served
over HTTP from a thread of the test process for the test's duration, with
:attr:`XeroForTests.config`, the ``XERO_PANEL_*`` settings that point xero-panel at it:

.. code-block:: python

    def test_admin_connects(xero_emulator, monkeypatch):
        for key, value in xero_emulator.config.items():
            monkeypatch.setenv(key, value)  # or app.config.update(xero_emulator.config)
        app = create_app()
        ...
        back = xero_emulator.consent(authorize_url, "owner@kiwi-garden.test", "kiwi-demo")

**Without a socket**, for host tests that mock ``requests`` with the ``responses`` library,
so the code under test keeps Xero's real URLs:

.. code-block:: python

    import responses
    from xero_emulator import Emulator, sample_seed
    from xero_emulator.testing import route_xero_to

    emu = Emulator(sample_seed())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        route_xero_to(emu, rsps)
        requests.get("https://api.xero.com/connections", headers=...)  # answered by emu
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import urljoin

from werkzeug.test import Client

from .emulator import Emulator
from .identity import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from .sample_seed import sample_seed
from .server import EmulatorServer

__all__ = ["XERO_HOSTS", "XeroForTests", "call", "consent", "route_xero_to", "running"]

#: The hosts real Xero uses; each request's path and query go to the emulator unchanged.
XERO_HOSTS = ("login.xero.com", "identity.xero.com", "api.xero.com")


def call(
    emulator: Emulator,
    method: str,
    path_and_query: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request through the emulator's WSGI app: ``(status, headers, body)``.

    :raises ConnectionAbortedError: when a ``drop`` fault closes the "connection".
    """
    client = Client(emulator.wsgi_app)
    response = client.open(
        path_and_query,
        method=method,
        headers=dict(headers or {}),
        data=body if body is not None else b"",
    )
    try:
        return response.status_code, dict(response.headers), response.get_data()
    finally:
        response.close()


def route_xero_to(emulator: Emulator, rsps: Any, hosts: tuple[str, ...] = XERO_HOSTS) -> None:
    """Register ``responses`` callbacks so calls to Xero's hosts reach ``emulator``.

    :param rsps: a ``responses.RequestsMock`` (or the ``responses`` module when activated).
    :param hosts: the hosts to route (default: Xero's three).
    """
    import requests

    def callback(request: Any) -> tuple[int, dict[str, str], bytes]:
        url = request.url
        path = re.sub(r"^https?://[^/]+", "", url) or "/"
        try:
            return call(emulator, request.method, path, request.headers, request.body)
        except ConnectionAbortedError as exc:
            raise requests.ConnectionError("Connection aborted by the Xero emulator") from exc

    for host in hosts:
        pattern = re.compile(rf"https?://{re.escape(host)}/.*")
        for method in ("GET", "POST", "DELETE", "PUT"):
            rsps.add_callback(method, pattern, callback=callback)


@dataclass
class XeroForTests:
    """A served emulator and the settings that point xero-panel at it.

    :ivar emulator: the :class:`Emulator` (its methods add invoices, faults, read stats).
    :ivar url: its base URL, ``http://127.0.0.1:<port>``.
    :ivar config: ``XERO_PANEL_CLIENT_ID``, ``..._CLIENT_SECRET`` (the emulator's built-in
        client, which accepts any loopback redirect URI), ``..._LOGIN_URL``,
        ``..._IDENTITY_URL`` and ``..._API_URL``, as strings (for ``app.config`` or the
        environment).

    .. versionadded:: 0.2
    """

    emulator: Emulator
    url: str
    config: dict[str, str] = field(default_factory=dict)

    def consent(
        self,
        authorize_url: str,
        email: str,
        password: str,
        tenants: list[str] | None = None,
    ) -> str:
        """:func:`consent` on this emulator's pages."""
        return consent(authorize_url, email, password, tenants)


def consent(
    authorize_url: str,
    email: str,
    password: str,
    tenants: list[str] | None = None,
) -> str:
    """Play the Xero user: sign in on the emulator's page for ``authorize_url`` (where the
    host's *Connect to Xero* redirected) and allow access to ``tenants`` (default: every
    organisation offered). Works with any emulator served over HTTP.

    :returns: the URL Xero sends the browser back to (the host's callback, with ``code`` and
        ``state``).
    """
    import requests

    endpoint = urljoin(authorize_url, "/identity/connect/authorize")
    with requests.Session() as browser:
        login = browser.get(authorize_url, timeout=10)
        login.raise_for_status()
        form = dict(_hidden_fields(login.text), email=email, password=password)
        page = browser.post(endpoint, data=form, timeout=10)
        page.raise_for_status()
        answer: dict[str, Any] = dict(_hidden_fields(page.text), action="allow")
        answer["tenant"] = (
            tenants
            if tenants is not None
            else re.findall(r"name='tenant' value='([^']+)'", page.text)
        )
        back = browser.post(endpoint, data=answer, allow_redirects=False, timeout=10)
        if back.status_code not in (302, 303):
            raise AssertionError(f"Xero's consent did not redirect: {back.text[:500]}")
        return str(back.headers["Location"])


def _hidden_fields(html: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input\b([^>]*)>", html, flags=re.I):
        attrs = {
            name: unescape(single or double)
            for name, single, double in re.findall(r"""(\w[\w-]*)=(?:'([^']*)'|"([^"]*)")""", tag)
        }
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def running(seed: dict[str, Any] | None = None, **options: Any) -> Iterator[XeroForTests]:
    """Serve an emulator from a thread until the generator is closed (the fixture's body).

    :param seed: the seed (default :func:`~xero_emulator.sample_seed`).
    :param options: passed to :class:`Emulator` (``webhook_url``, ``limits``, ...).
    """
    emulator = Emulator(seed if seed is not None else sample_seed(), **options)
    server: EmulatorServer = emulator.serve(port=0)
    try:
        yield XeroForTests(
            emulator=emulator,
            url=server.url,
            config={
                "XERO_PANEL_CLIENT_ID": DEMO_CLIENT_ID,
                "XERO_PANEL_CLIENT_SECRET": DEMO_CLIENT_SECRET,
                "XERO_PANEL_LOGIN_URL": server.url,
                "XERO_PANEL_IDENTITY_URL": server.url,
                "XERO_PANEL_API_URL": server.url,
            },
        )
    finally:
        server.shutdown()


try:
    import pytest
except ModuleNotFoundError:  # pragma: no cover - the helpers above need no pytest
    pass
else:

    @pytest.fixture
    def xero_emulator_seed() -> dict[str, Any]:
        """The seed ``xero_emulator`` starts from; override it in your ``conftest.py``."""
        return sample_seed()

    @pytest.fixture
    def xero_emulator(xero_emulator_seed: dict[str, Any]) -> Iterator[XeroForTests]:
        """An emulator served in-process for one test (see :class:`XeroForTests`)."""
        yield from running(xero_emulator_seed)

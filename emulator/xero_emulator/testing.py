"""Drive an emulator in-process, without a socket: for host tests that mock ``requests`` with
the ``responses`` library, so the code under test keeps Xero's real URLs.

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
from collections.abc import Mapping
from typing import Any

from werkzeug.test import Client

from .emulator import Emulator

__all__ = ["XERO_HOSTS", "call", "route_xero_to"]

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

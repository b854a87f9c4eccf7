"""The :class:`Emulator`: the public face of the emulator, a :class:`~.backend.XeroBackend`
that can also serve itself over HTTP or as a WSGI app.

It sits on top of the package: it imports :mod:`.server` (the HTTP server and the WSGI
entry point), which imports :mod:`.urls`, which imports :mod:`.views`, which call the
backend's operations; nothing below imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .backend import XeroBackend
from .server import EmulatorServer, handle

__all__ = ["Emulator"]


class Emulator(XeroBackend):
    """A local stand-in for Xero, seeded with users, clients and organisations.

    :param seed: a seed dictionary (see :func:`~xero_emulator.load_seed`).
    :param webhook_url: where to POST signed webhook events when data changes.
    :param webhook_key: the webhook signing key.
    :param control_enabled: serve the ``/_emulator/`` control endpoints (tests and demo only).
    :param control_token: the token control requests must carry in ``X-Emulator-Token``;
        default: ``XERO_EMULATOR_CONTROL_TOKEN`` when set, else a new random one
        (:attr:`control_token`).
    :param access_token_ttl: access token lifetime in seconds (Xero: 1800).
    :param clients: extra OAuth clients, in the seed's ``clients`` format.
    :param clock: returns the time in epoch seconds (default :func:`time.time`).
    :param limits: rate limit overrides: ``per_minute``, ``per_day``, ``concurrent``,
        ``app_per_minute``.
    :param webhook_retries: extra delivery attempts after a failure.
    :param webhook_retry_delay: seconds before the first retry (doubling).
    :param latency_ms: a delay before every Accounting API answer (see :class:`.FaultBook`).
    :raises SeedError: when the seed is not valid.

    .. versionadded:: 0.1
    """

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
        """Serve over HTTP from a daemon thread. ``port=0`` picks a free port.

        :returns: the running :class:`~xero_emulator.EmulatorServer`.
        """
        server = EmulatorServer(self, host, port)
        self.base_url = server.url
        return server

    def wsgi_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """The WSGI entry point: :func:`.urls.dispatch` picks the view."""
        return handle(self, environ, start_response)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.wsgi_app(environ, start_response)

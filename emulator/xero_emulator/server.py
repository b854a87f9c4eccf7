"""Serving an emulator: the WSGI entry point (:func:`handle`) and the HTTP server that runs
it from a daemon thread (:class:`EmulatorServer`). Above :mod:`.urls`, which picks the view."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .urls import dispatch

if TYPE_CHECKING:
    from .backend import XeroBackend

__all__ = ["EmulatorServer", "handle"]


def handle(
    backend: XeroBackend, environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """Answer one WSGI request from ``backend``: :func:`.urls.dispatch` picks the view."""
    return dispatch(backend, environ)(environ, start_response)


class _Handler(WSGIRequestHandler):
    """Quiet, and closes the socket at once when a ``drop`` fault aborts a request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class EmulatorServer:
    """A running emulator. Use :attr:`url` as the base of every Xero URL.

    :param emulator: the emulator (any :class:`~.backend.XeroBackend`) to serve.
    :param host: the address to bind (keep it on loopback).
    :param port: the port; ``0`` picks a free one.
    """

    def __init__(self, emulator: XeroBackend, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        # An Emulator's own wsgi_app (a subclass may wrap it), else the plain entry point.
        app = getattr(emulator, "wsgi_app", None) or self._app
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_Handler
        )
        self.host = host
        self.port: int = self._server.socket.getsockname()[1]
        url_host = f"[{host}]" if ":" in host else host
        self.url = f"http://{url_host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="xero-emulator",
            daemon=True,
        )
        self._thread.start()

    def shutdown(self) -> None:
        """Stop serving, close the socket and stop the webhook thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.emulator.stop_webhooks()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return handle(self.emulator, environ, start_response)

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

"""What every view needs: JSON, text and HTML answers, Xero's problem-details body, the bearer
token check and the injected faults of the identity endpoints."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from ..faults import Fault
from ..oauth import AccessInfo, OAuthError
from ..xero_json import dumps

if TYPE_CHECKING:
    from ..backend import XeroBackend

__all__ = [
    "DroppedConnection",
    "bearer",
    "html",
    "identity_fault",
    "issuer_of",
    "json",
    "pause_or_drop",
    "problem",
    "text",
]

_TITLES = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}


class DroppedConnection(ConnectionAbortedError):
    """Raised to make the server close the connection without answering (a ``drop`` fault)."""


def json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer, written by :func:`~xero_emulator.xero_json.dumps` (exact money)."""
    return Response(
        dumps(body),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json; charset=utf-8",
    )


def text(body: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """A plain-text answer (Xero's 404 and 5xx bodies are plain text)."""
    return Response(
        body, status=status, headers=dict(headers or {}), content_type="text/plain; charset=utf-8"
    )


def html(body: str, status: int = 200) -> Response:
    """An HTML page."""
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def problem(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    """Xero's problem-details JSON (its 401, 403 and our 429 bodies)."""
    body: dict[str, Any] = {
        "Type": None,
        "Title": _TITLES.get(status, "Error"),
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return json(body, status, headers)


def issuer_of(request: Request) -> str:
    """The base URL the request came to (the ``iss`` of tokens issued in answer to it)."""
    return request.host_url.rstrip("/")


def bearer(emu: XeroBackend, request: Request) -> AccessInfo | Response:
    """The grant behind the request's bearer token, or the 401 to answer."""
    try:
        return emu.authenticate(request.headers.get("Authorization"))
    except OAuthError as exc:
        return problem(401, exc.error, {"WWW-Authenticate": "Bearer"})


def pause_or_drop(fault: Fault) -> None:
    """Apply a fault's delay, then its ``drop``. :raises DroppedConnection: to drop."""
    if fault.delay_ms:
        time.sleep(fault.delay_ms / 1000)
    if fault.drop:
        raise DroppedConnection("drop fault")


def identity_fault(emu: XeroBackend, endpoint: str) -> Response | None:
    """Count a call to an identity endpoint and answer an injected fault, if one matches."""
    fault = emu.identity_call(endpoint)
    if fault is None:
        return None
    pause_or_drop(fault)
    if fault.status is None:
        return None
    if fault.status == 400:
        return json({"error": fault.detail or "invalid_grant"}, 400)
    return text(fault.detail or "An error occurred", fault.status)

"""Views of ``/connections``: the caller's connected organisations, and disconnecting one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from .http import bearer, identity_fault, json, text

if TYPE_CHECKING:
    from ..backend import XeroBackend

__all__ = ["delete_connection", "list_connections"]


def list_connections(emu: XeroBackend, request: Request) -> Response:
    """``GET /connections`` (optional ``?authEventId=``), most recently connected first."""
    faulted = identity_fault(emu, "connections")
    if faulted is not None:
        return faulted
    access = bearer(emu, request)
    if isinstance(access, Response):
        return access
    conns = emu.connections_of(access, request.args.get("authEventId", ""))
    return json([c.as_json() for c in conns])


def delete_connection(emu: XeroBackend, request: Request, cid: str) -> Response:
    """``DELETE /connections/{id}``: 204, or 404 when it is not one of the caller's."""
    emu.count_identity_call("connections")
    access = bearer(emu, request)
    if isinstance(access, Response):
        return access
    if not emu.delete_connection(access, cid):
        return text("", 404)
    return Response(status=204)

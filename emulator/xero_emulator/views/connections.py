"""Views of ``/connections``: the caller's connected organisations, and disconnecting one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from .http import bearer, identity_fault, json, text

if TYPE_CHECKING:
    from ..backend import Emulator

__all__ = ["delete_connection", "list_connections"]


def list_connections(emu: Emulator, request: Request) -> Response:
    """``GET /connections`` (optional ``?authEventId=``), most recently connected first."""
    faulted = identity_fault(emu, "connections")
    if faulted is not None:
        return faulted
    access = bearer(emu, request)
    if isinstance(access, Response):
        return access
    conns = emu.identity.book.of_user(
        access.client_id, access.user_email, request.args.get("authEventId", "")
    )
    return json([c.as_json() for c in conns])


def delete_connection(emu: Emulator, request: Request, cid: str) -> Response:
    """``DELETE /connections/{id}``: 204, or 404 when it is not one of the caller's."""
    emu.calls.count_identity("connections")
    access = bearer(emu, request)
    if isinstance(access, Response):
        return access
    if not emu.identity.book.delete(access.client_id, access.user_email, cid):
        return text("", 404)
    return Response(status=204)

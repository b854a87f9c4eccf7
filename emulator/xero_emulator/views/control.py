"""Views of the ``/_emulator/`` control endpoints (JSON in and out), served only when the
emulator was made with ``control_enabled=True``; :mod:`xero_emulator.urls` lists their URLs.

Every request is checked first (:func:`refusal`), and nothing changes when it is refused:
it must carry the emulator's control token in ``X-Emulator-Token`` (401 without it, 403
with another), must not come from another origin (an ``Origin`` header that is not the
emulator's own: 403), and a ``POST`` or ``DELETE`` must say ``Content-Type:
application/json`` (415), so a web page elsewhere cannot drive the emulator with a form or
a ``text/plain`` request.

Every view gets the request's JSON body (``{}`` unless POST). A :class:`ControlError`,
:class:`SeedError` or :class:`ValueError` answers 400 and a :class:`KeyError` 404, both as
``{"error": "..."}``.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from ..seed import SeedError
from ..store import ID_FIELD, ControlError, Kind
from ..xero_json import loads
from .http import json, text

if TYPE_CHECKING:
    from ..backend import XeroBackend

__all__ = ["control_view", "refusal"]

ControlView = Callable[..., Response]

_KINDS: dict[str, Kind] = {
    "invoices": "Invoices",
    "contacts": "Contacts",
    "credit-notes": "CreditNotes",
    "creditnotes": "CreditNotes",
}


def _read_json(request: Request) -> Any:
    data = request.get_data()
    if not data.strip():
        return {}
    try:
        return loads(data)
    except ValueError:
        raise ControlError("the body is not valid JSON") from None


def refusal(emu: XeroBackend, request: Request) -> Response | None:
    """The answer to a control request that may not run, or ``None`` when it may."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != request.host_url.rstrip("/"):
        return json({"error": "control requests from another origin are refused"}, 403)
    given = request.headers.get("X-Emulator-Token")
    if not given:
        return json({"error": "the X-Emulator-Token header is missing"}, 401)
    if not hmac.compare_digest(given.encode(), emu.control_token.encode()):
        return json({"error": "the X-Emulator-Token header is not this emulator's token"}, 403)
    if request.method in ("POST", "DELETE") and request.mimetype != "application/json":
        return json({"error": "control requests must say Content-Type: application/json"}, 415)
    return None


def control_view(view: ControlView) -> ControlView:
    """Serve ``view`` only with control enabled and to requests :func:`refusal` lets
    through, pass it the JSON body, answer its errors."""

    @functools.wraps(view)
    def guarded(emu: XeroBackend, request: Request, **values: str) -> Response:
        if not emu.control_enabled:
            return text("Not Found", 404)
        refused = refusal(emu, request)
        if refused is not None:
            return refused
        try:
            body = _read_json(request) if request.method == "POST" else {}
            return view(emu, request, body, **values)
        except (ControlError, SeedError, ValueError) as exc:
            return json({"error": str(exc)}, 400)
        except KeyError as exc:
            return json({"error": f"not found: {exc.args[0]}"}, 404)

    return guarded


def _object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ControlError(what)
    return body


def _no_such_endpoint() -> Response:
    return json({"error": "no such control endpoint"}, 404)


@control_view
def no_such_endpoint(emu: XeroBackend, request: Request, body: Any, rest: str) -> Response:
    """Any other ``/_emulator/`` URL or method."""
    return _no_such_endpoint()


@control_view
def stats(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``GET /_emulator/stats``."""
    return json(emu.stats())


@control_view
def reset_stats(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``POST /_emulator/stats/reset``."""
    emu.reset_stats()
    return json(emu.stats())


@control_view
def reset(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``POST /_emulator/reset``: the seed's data back."""
    emu.reset()
    return json({"reset": True})


@control_view
def tenants(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``GET /_emulator/tenants``."""
    listed = [{"tenantId": t, "tenantName": emu.tenant(t).tenant_name} for t in emu.tenant_ids]
    return json({"tenants": listed})


def _tenant_and_kind(emu: XeroBackend, tenant_id: str, kind: str) -> tuple[str, Kind | None]:
    tenant_id = tenant_id.lower()
    if tenant_id not in emu.tenant_ids:
        raise KeyError(f"tenant {tenant_id}")
    return tenant_id, _KINDS.get(kind.lower())


def _flag(request: Request, body: Mapping[str, Any], key: str) -> bool:
    if key in body:
        return bool(body[key])
    raw = request.args.get(key)
    return raw is None or raw.lower() not in {"0", "false", "no"}


def _objects(kind: Kind, body: Any) -> list[Mapping[str, Any]]:
    if isinstance(body, Mapping) and isinstance(body.get(kind), list):
        return list(body[kind])
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping):
        return [{k: v for k, v in body.items() if k not in {"bump_updated", "fire_webhook"}}]
    raise ControlError("the body must be an object in Xero's shape")


@control_view
def upsert_objects(
    emu: XeroBackend, request: Request, body: Any, tenant_id: str, kind: str
) -> Response:
    """``POST /_emulator/tenants/<id>/{invoices,contacts,credit-notes}``: create or update."""
    tenant_id, found = _tenant_and_kind(emu, tenant_id, kind)
    if found is None:
        return _no_such_endpoint()
    flags = body if isinstance(body, Mapping) else {}
    bump = _flag(request, flags, "bump_updated")
    fire = _flag(request, flags, "fire_webhook")
    stored = [
        emu.apply_change(found, tenant_id, obj, bump_updated=bump, fire_webhook=fire)
        for obj in _objects(found, body)
    ]
    return json({found: stored})


@control_view
def add_payment(
    emu: XeroBackend, request: Request, body: Any, tenant_id: str, kind: str, object_id: str
) -> Response:
    """``POST /_emulator/tenants/<id>/invoices/<InvoiceID>/payments``."""
    tenant_id, found = _tenant_and_kind(emu, tenant_id, kind)
    if found != "Invoices":
        return _no_such_endpoint()
    flags = body if isinstance(body, Mapping) else {}
    return json({"Invoices": [emu.add_payment(tenant_id, object_id, flags)]})


@control_view
def silent_change(
    emu: XeroBackend, request: Request, body: Any, tenant_id: str, kind: str, object_id: str
) -> Response:
    """``POST /_emulator/tenants/<id>/<kind>/<ID>/silent``: no UpdatedDateUTC bump, no
    webhook."""
    tenant_id, found = _tenant_and_kind(emu, tenant_id, kind)
    if found is None:
        return _no_such_endpoint()
    flags = body if isinstance(body, Mapping) else {}
    obj = {**flags, ID_FIELD[found]: object_id}
    one = emu.apply_change(found, tenant_id, obj, bump_updated=False, fire_webhook=False)
    return json({found: [one]})


@control_view
def faults(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``GET`` lists, ``POST`` adds, ``DELETE`` clears ``/_emulator/faults``."""
    if request.method == "DELETE":
        emu.clear_faults()
        return json({"faults": []})
    if request.method == "POST":
        return json(emu.add_fault(_object(body, "a fault is a JSON object")))
    return json({"faults": emu.list_faults()})


@control_view
def limits(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``GET`` reads, ``POST`` sets ``/_emulator/limits``."""
    if request.method == "POST":
        emu.configure_limits(_object(body, "limits are a JSON object"))
    return json({"limits": emu.rate_limits()})


@control_view
def clock(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``GET`` reads, ``POST {"advance_seconds": N}`` moves ``/_emulator/clock``."""
    if request.method == "POST":
        seconds = body.get("advance_seconds", 0) if isinstance(body, Mapping) else 0
        if isinstance(seconds, bool) or (
            not isinstance(seconds, int | float) and not hasattr(seconds, "as_integer_ratio")
        ):
            raise ControlError('"advance_seconds" must be a number')
        emu.advance_clock(float(seconds))
    return json({"now": emu.now(), "offset_seconds": emu.clock_offset})


@control_view
def webhooks(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``GET /_emulator/webhooks``: every payload and its delivery attempts."""
    return json({"deliveries": emu.webhook_deliveries})


@control_view
def intent_to_receive(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``POST /_emulator/webhooks/intent-to-receive``: run Xero's check now."""
    return json(emu.intent_to_receive())


@control_view
def flush_webhooks(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``POST /_emulator/webhooks/flush``: wait for queued deliveries."""
    return json({"flushed": emu.flush_webhooks()})


@control_view
def issue_tokens(emu: XeroBackend, request: Request, body: Any) -> Response:
    """``POST /_emulator/tokens``: connect and issue tokens without a browser."""
    fields = _object(body, "the body is a JSON object")
    wanted = ("client_id", "user_email", "tenant_ids", "scope")
    return json(emu.issue_tokens(**{k: fields[k] for k in wanted if k in fields}))

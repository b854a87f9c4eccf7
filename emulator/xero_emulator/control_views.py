"""The ``/_emulator/`` control endpoints (JSON in and out). Only served when the emulator was
made with ``control_enabled=True``.

=========================================================  =====================================
``GET  /_emulator/stats``                                   per-tenant and identity call counts
``POST /_emulator/stats/reset``                             zero the counts
``POST /_emulator/reset``                                   restore the seed's data
``GET  /_emulator/tenants``                                 tenant IDs and names
``POST /_emulator/tenants/<id>/invoices``                   create or update an invoice
``POST /_emulator/tenants/<id>/contacts``                   create or update a contact
``POST /_emulator/tenants/<id>/credit-notes``               create or update a credit note
``POST /_emulator/tenants/<id>/invoices/<iid>/payments``    add a payment
``POST /_emulator/tenants/<id>/invoices/<iid>/silent``      change fields without a bump/webhook
``GET|POST|DELETE /_emulator/faults``                       list, add, clear faults
``GET|POST /_emulator/limits``                              read or set rate limits
``GET|POST /_emulator/clock``                               read or advance the clock
``GET  /_emulator/webhooks``                                emitted payloads and attempts
``POST /_emulator/webhooks/intent-to-receive``              run Xero's check
``POST /_emulator/tokens``                                  connect and issue tokens, no browser
=========================================================  =====================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from .store import ControlError, Kind
from .xero_json import dumps

if TYPE_CHECKING:
    from .app import Emulator

__all__ = ["handle_control"]

_KINDS: dict[str, Kind] = {
    "invoices": "Invoices",
    "contacts": "Contacts",
    "credit-notes": "CreditNotes",
    "creditnotes": "CreditNotes",
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status=status, content_type="application/json; charset=utf-8")


def _not_found() -> Response:
    return _json({"error": "no such control endpoint"}, 404)


def _flag(request: Request, body: Mapping[str, Any], key: str, default: bool) -> bool:
    if key in body:
        return bool(body[key])
    raw = request.args.get(key)
    if raw is None:
        return default
    return raw.lower() not in {"0", "false", "no"}


def _objects(kind: Kind, body: Any) -> list[Mapping[str, Any]]:
    if isinstance(body, Mapping) and isinstance(body.get(kind), list):
        return list(body[kind])
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping):
        return [{k: v for k, v in body.items() if k not in {"bump_updated", "fire_webhook"}}]
    raise ControlError("the body must be an object in Xero's shape")


def _tenant_routes(emu: Emulator, request: Request, parts: list[str], body: Any) -> Response:
    tenant_id = parts[0].lower()
    if tenant_id not in emu.tenant_ids:
        raise KeyError(f"tenant {tenant_id}")
    kind = _KINDS.get(parts[1].lower()) if len(parts) > 1 else None
    if kind is None or request.method != "POST":
        return _not_found()
    flags = body if isinstance(body, Mapping) else {}
    if len(parts) == 2:
        bump = _flag(request, flags, "bump_updated", True)
        fire = _flag(request, flags, "fire_webhook", True)
        stored = [
            emu.apply_change(kind, tenant_id, obj, bump_updated=bump, fire_webhook=fire)
            for obj in _objects(kind, body)
        ]
        return _json({kind: stored})
    if kind == "Invoices" and len(parts) == 4 and parts[3] == "payments":
        return _json({"Invoices": [emu.add_payment(tenant_id, parts[2], flags)]})
    if len(parts) == 4 and parts[3] == "silent":
        obj = {
            **flags,
            {"Invoices": "InvoiceID", "Contacts": "ContactID"}.get(kind, "CreditNoteID"): parts[2],
        }
        one = emu.apply_change(kind, tenant_id, obj, bump_updated=False, fire_webhook=False)
        return _json({kind: [one]})
    return _not_found()


def handle_control(emu: Emulator, request: Request, parts: list[str]) -> Response:
    """Answer one control request. Raises :class:`ControlError`/`ValueError` (400) and
    :class:`KeyError` (404); the caller turns them into JSON errors."""
    if not parts:
        return _not_found()
    head, method = parts[0], request.method
    body = emu.read_json(request) if method == "POST" else {}
    if head == "stats":
        if len(parts) == 2 and parts[1] == "reset" and method == "POST":
            emu.reset_stats()
            return _json(emu.stats())
        if len(parts) == 1 and method == "GET":
            return _json(emu.stats())
    elif head == "reset" and method == "POST":
        emu.reset()
        return _json({"reset": True})
    elif head == "tenants":
        if len(parts) == 1 and method == "GET":
            return _json(
                {
                    "tenants": [
                        {"tenantId": t, "tenantName": emu.tenant(t).tenant_name}
                        for t in emu.tenant_ids
                    ]
                }
            )
        if len(parts) >= 2:
            return _tenant_routes(emu, request, parts[1:], body)
    elif head == "faults" and len(parts) == 1:
        if method == "DELETE":
            emu.faults.clear()
            return _json({"faults": []})
        if method == "POST":
            if not isinstance(body, Mapping):
                raise ControlError("a fault is a JSON object")
            return _json(emu.add_fault(body))
        return _json({"faults": emu.faults.list()})
    elif head == "limits" and len(parts) == 1:
        if method == "POST":
            if not isinstance(body, Mapping):
                raise ControlError("limits are a JSON object")
            emu.limiter.configure(body)
        return _json({"limits": dict(emu.limiter.limits)})
    elif head == "clock" and len(parts) == 1:
        if method == "POST":
            seconds = body.get("advance_seconds", 0) if isinstance(body, Mapping) else 0
            if isinstance(seconds, bool) or (
                not isinstance(seconds, int | float) and not hasattr(seconds, "as_integer_ratio")
            ):
                raise ControlError('"advance_seconds" must be a number')
            emu.advance_clock(float(seconds))
        return _json({"now": emu.now(), "offset_seconds": emu.now() - emu._clock()})
    elif head == "webhooks":
        if len(parts) == 1 and method == "GET":
            return _json({"deliveries": emu.webhook_deliveries})
        if len(parts) == 2 and parts[1] == "intent-to-receive" and method == "POST":
            return _json(emu.webhooks.intent_to_receive())
        if len(parts) == 2 and parts[1] == "flush" and method == "POST":
            return _json({"flushed": emu.flush_webhooks()})
    elif head == "tokens" and len(parts) == 1 and method == "POST":
        if not isinstance(body, Mapping):
            raise ControlError("the body is a JSON object")
        kwargs: dict[str, Any] = {
            k: body[k] for k in ("client_id", "user_email", "tenant_ids", "scope") if k in body
        }
        return _json(emu.issue_tokens(**kwargs))
    return _not_found()

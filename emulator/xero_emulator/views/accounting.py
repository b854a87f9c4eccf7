"""Views of the Accounting API (``/api.xro/2.0``) and of the online invoice page.

The backend counts each call and checks it in Xero's order (bearer token,
``xero-tenant-id``, scope, connection, rate limits: :meth:`.XeroBackend.open_api_call`),
then takes an injected fault; only then is it answered from the backend. These views turn
the backend's verdicts into Xero's answers.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from .. import queries
from ..backend_api import Refusal
from ..faults import Fault
from ..oauth import token_expired_detail
from ..queries import ApiError
from ..scopes import ENDPOINT_SCOPES
from ..store import Kind
from ..xero_json import format_envelope_time, parse_http_date
from . import pages
from .http import html, issuer_of, json, pause_or_drop, problem, text

if TYPE_CHECKING:
    from ..backend import XeroBackend

__all__ = ["api", "deep_link", "online_invoice"]

_RESOURCES = {name.lower(): name for name in ENDPOINT_SCOPES}
_PROVIDER_NAME = "Xero Emulator"
_NOT_FOUND = "The resource you're looking for cannot be found"


def api(emu: XeroBackend, request: Request, rest: str) -> Response:
    """``GET /api.xro/2.0/{Organisation | Contacts | Invoices | CreditNotes}[/{id}]`` and
    ``/Invoices/{id}/OnlineInvoice`` (resource names in any case). Error answers (4xx and
    5xx) are counted per tenant too."""
    response = _api(emu, request, rest)
    tenant_id = (request.headers.get("xero-tenant-id") or "").strip().lower()
    if response.status_code >= 400 and tenant_id in emu.tenant_ids:
        emu.count_api_error(tenant_id, response.status_code)
    return response


def _api(emu: XeroBackend, request: Request, rest: str) -> Response:
    parts = [p for p in rest.split("/") if p]
    endpoint = _RESOURCES.get(parts[0].lower()) if parts else None
    if endpoint is None:
        return text(_NOT_FOUND, 404)
    tenant_id = (request.headers.get("xero-tenant-id") or "").strip().lower()
    try:
        admission = emu.open_api_call(request.headers.get("Authorization"), tenant_id, endpoint)
    except Refusal as refused:
        return problem(refused.status, refused.detail, refused.headers)
    try:
        response = _with_faults(emu, request, endpoint, parts, tenant_id)
    finally:
        emu.close_api_call(tenant_id)
    response.headers.update(admission.headers())
    return response


def _with_faults(
    emu: XeroBackend, request: Request, endpoint: str, parts: list[str], tenant_id: str
) -> Response:
    fault = emu.api_fault(endpoint, tenant_id)
    if fault is not None:
        pause_or_drop(fault)
        if fault.status is not None:
            return _fault_response(emu, fault, tenant_id)
    try:
        return _answer(emu, request, endpoint, parts, tenant_id)
    except ApiError as exc:
        if isinstance(exc.body, dict):
            return json(exc.body, exc.status, exc.headers)
        return text(exc.body, exc.status, exc.headers)


def _fault_response(emu: XeroBackend, fault: Fault, tenant_id: str) -> Response:
    status = fault.status or 500
    if status == 503:
        return text(fault.detail or "Organisation offline", 503)
    if status in {401, 403}:
        detail = fault.detail or (
            "AuthenticationUnsuccessful" if status == 403 else "AuthorizationUnsuccessful"
        )
        if detail == "TokenExpired":
            detail = token_expired_detail(emu.now_ms())
        return problem(status, detail)
    if status == 429:
        emu.count_rate_limited(tenant_id)
        limit = fault.detail or "minute"
        headers = {"Retry-After": "60", "X-Rate-Limit-Problem": limit}
        return problem(429, f"Rate limit exceeded: {limit}", headers)
    if status == 400:
        error = queries.validation_error(fault.detail or "A validation exception occurred")
        return json(error.body, 400)
    if status == 404:
        return text(_NOT_FOUND, 404)
    return text(fault.detail or "An error occurred", status)


def _envelope(
    emu: XeroBackend, key: str, items: list[dict[str, Any]], pagination: Any = None
) -> Response:
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": _PROVIDER_NAME,
        "DateTimeUTC": format_envelope_time(emu.now_ms()),
    }
    if pagination is not None:
        body["pagination"] = pagination
    body[key] = items
    return json(body)


def _answer(
    emu: XeroBackend, request: Request, endpoint: str, parts: list[str], tenant_id: str
) -> Response:
    if endpoint == "Organisation":
        if len(parts) != 1:
            raise queries.not_found()
        return _envelope(emu, "Organisations", [emu.organisation(tenant_id)])
    kind: Kind = endpoint  # type: ignore[assignment]
    if len(parts) == 1:
        since_header = request.headers.get("If-Modified-Since")
        since = parse_http_date(since_header) if since_header else None
        result = emu.list_objects(kind, tenant_id, request.args, since)
        return _envelope(emu, kind, result.items, result.pagination)
    if kind == "Invoices" and len(parts) == 3 and parts[2].lower() == "onlineinvoice":
        token = emu.online_invoice_token(tenant_id, parts[1])
        url = f"{issuer_of(request)}/in/{token}"
        return _envelope(emu, "OnlineInvoices", [{"OnlineInvoiceUrl": url}])
    if len(parts) != 2:
        raise queries.not_found()
    return _envelope(emu, kind, [emu.get_object(kind, tenant_id, parts[1])])


def online_invoice(emu: XeroBackend, request: Request, token: str) -> Response:
    """``GET /in/{token}``: the small page an ``OnlineInvoiceUrl`` points at."""
    try:
        tenant, invoice = emu.online_invoice(token)
    except ApiError:
        return text(_NOT_FOUND, 404)
    return html(pages.online_invoice_page(tenant, invoice))


#: Xero's web app paths the panel's deep links open, and the query parameter naming the
#: document (``{base}/AccountsReceivable/View.aspx?InvoiceID=...``).
_DEEP_LINKS: dict[str, tuple[Kind, str]] = {
    "/accountsreceivable/view.aspx": ("Invoices", "invoiceid"),
    "/accountsreceivable/viewcreditnote.aspx": ("CreditNotes", "creditnoteid"),
}


def deep_link(emu: XeroBackend, request: Request) -> Response:
    """Xero's web app as the panel's invoice links open it, so a demo works offline:
    ``/AccountsReceivable/View.aspx?InvoiceID=``, ``/ViewCreditNote.aspx?creditNoteID=``,
    and ``/organisationlogin/default.aspx?shortcode=&redirecturl=`` (which switches to the
    organisation first, as Xero's does). Answers a page with the document, or 404."""
    path, args, short_code = request.path, request.args, None
    if path.lower() == "/organisationlogin/default.aspx":
        short_code = args.get("shortcode") or None
        target = urlsplit(args.get("redirecturl", ""))
        path, args = target.path, MultiDict(parse_qsl(target.query))
    found = _DEEP_LINKS.get(path.lower())
    lowered = {k.lower(): v for k, v in args.items()}
    if found is None or not lowered.get(found[1]):
        return text(_NOT_FOUND, 404)
    try:
        tenant, document = emu.find_document(found[0], lowered[found[1]], short_code)
    except ApiError:
        return text(_NOT_FOUND, 404)
    return html(pages.online_invoice_page(tenant, document))

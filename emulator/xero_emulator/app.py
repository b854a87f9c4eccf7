"""The :class:`Emulator`: a WSGI application that answers like Xero's identity server,
``/connections`` and the Accounting API, plus the ``/_emulator/`` control endpoints."""

from __future__ import annotations

import copy
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import accounting, consent
from .accounting import ApiError
from .control import Change, add_payment, upsert
from .faults import Fault, FaultBook
from .identity import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    AccessInfo,
    AuthorizeRequest,
    Identity,
    OAuthError,
    token_expired_detail,
)
from .limits import RateLimiter
from .seed import ClientSpec, Seed, SeedError, parse_seed
from .store import ControlError, Kind, TenantData
from .tokens import signing_key
from .webhooks import WebhookDispatcher
from .xero_json import dumps, format_envelope_time, format_event_time, loads, parse_http_date

if TYPE_CHECKING:
    from .server import EmulatorServer

__all__ = ["DEFAULT_SCOPE", "Emulator"]

#: The scope :meth:`Emulator.issue_tokens` grants unless told otherwise.
DEFAULT_SCOPE = (
    "openid profile email offline_access accounting.invoices.read accounting.payments.read "
    "accounting.contacts.read accounting.settings.read"
)

INVOICE_SCOPES = frozenset(
    {
        "accounting.invoices",
        "accounting.invoices.read",
        "accounting.transactions",
        "accounting.transactions.read",
    }
)
CONTACT_SCOPES = frozenset({"accounting.contacts", "accounting.contacts.read"})
SETTINGS_SCOPES = frozenset({"accounting.settings", "accounting.settings.read"})
_ENDPOINT_SCOPES: dict[str, frozenset[str]] = {
    "Invoices": INVOICE_SCOPES,
    "CreditNotes": INVOICE_SCOPES,
    "Contacts": CONTACT_SCOPES,
    "Organisation": SETTINGS_SCOPES,
}
_API_NAMES = {name.lower(): name for name in _ENDPOINT_SCOPES}
_PROVIDER_NAME = "Xero Emulator"


class DroppedConnection(ConnectionAbortedError):
    """Raised to make the server close the connection without answering (a ``drop`` fault)."""


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        dumps(body),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json; charset=utf-8",
    )


def _text(body: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        body, status=status, headers=dict(headers or {}), content_type="text/plain; charset=utf-8"
    )


def _problem(status: int, detail: str) -> dict[str, Any]:
    titles = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}
    return {
        "Type": None,
        "Title": titles.get(status, "Error"),
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }


class Emulator:
    """A local stand-in for Xero, seeded with users, clients and organisations.

    :param seed: a seed dictionary (see :func:`~xero_emulator.load_seed`).
    :param webhook_url: where to POST signed webhook events when data changes.
    :param webhook_key: the webhook signing key.
    :param control_enabled: serve the ``/_emulator/`` control endpoints (tests and demo only).
    :param access_token_ttl: access token lifetime in seconds (Xero: 1800).
    :param clients: extra OAuth clients, in the seed's ``clients`` format.
    :param clock: returns the time in epoch seconds (default :func:`time.time`).
    :param limits: rate limit overrides: ``per_minute``, ``per_day``, ``concurrent``,
        ``app_per_minute``.
    :param webhook_retries: extra delivery attempts after a failure.
    :param webhook_retry_delay: seconds before the first retry (doubling).
    :raises SeedError: when the seed is not valid.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        seed: Mapping[str, Any],
        *,
        webhook_url: str | None = None,
        webhook_key: str | None = None,
        control_enabled: bool = False,
        access_token_ttl: int = 1800,
        clients: Iterable[Mapping[str, Any]] | None = None,
        clock: Callable[[], float] | None = None,
        limits: Mapping[str, int] | None = None,
        webhook_retries: int = 3,
        webhook_retry_delay: float = 0.2,
    ) -> None:
        self._clock = clock or time.time
        self._offset = 0.0
        self.control_enabled = control_enabled
        self.base_url: str | None = None
        raw = dict(seed)
        if clients:
            raw["clients"] = [*raw.get("clients", []), *clients]
        self._seed: Seed = parse_seed(raw, self.now_ms())
        demo = ClientSpec(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, (), "xero-panel demo", loopback=True)
        all_clients = [demo, *(c for c in self._seed.clients if c.client_id != DEMO_CLIENT_ID)]
        self._lock = threading.RLock()
        self._tenants: dict[str, TenantData] = {t.tenant_id: t.copy() for t in self._seed.tenants}
        self.identity = Identity(
            all_clients,
            self._seed.users,
            {t.tenant_id: (t.tenant_name, t.tenant_type) for t in self._seed.tenants},
            self.now_ms,
            access_token_ttl,
        )
        self.limiter = RateLimiter(self.now, limits)
        self.faults = FaultBook()
        self.webhooks = WebhookDispatcher(
            webhook_url, webhook_key, retries=webhook_retries, retry_delay=webhook_retry_delay
        )
        self._stats_lock = threading.Lock()
        self._stats: dict[str, Any] = {}
        self.reset_stats()
        self._url_map = Map(
            [
                Rule("/", endpoint="index", methods=["GET"]),
                Rule("/identity/connect/authorize", endpoint="authorize", methods=["GET", "POST"]),
                Rule("/identity/connect/token", endpoint="token", methods=["POST"]),
                Rule("/connect/token", endpoint="token", methods=["POST"]),
                Rule("/identity/connect/revocation", endpoint="revocation", methods=["POST"]),
                Rule("/connect/revocation", endpoint="revocation", methods=["POST"]),
                Rule("/.well-known/openid-configuration", endpoint="discovery"),
                Rule("/identity/.well-known/openid-configuration", endpoint="discovery"),
                Rule("/.well-known/openid-configuration/jwks", endpoint="jwks"),
                Rule("/identity/.well-known/openid-configuration/jwks", endpoint="jwks"),
                Rule("/connections", endpoint="connections", methods=["GET"]),
                Rule("/Connections", endpoint="connections", methods=["GET"]),
                Rule("/connections/<cid>", endpoint="connection", methods=["DELETE"]),
                Rule("/Connections/<cid>", endpoint="connection", methods=["DELETE"]),
                Rule("/api.xro/2.0/<path:rest>", endpoint="api", methods=["GET"]),
                Rule("/in/<token>", endpoint="online_invoice", methods=["GET"]),
                Rule(
                    "/_emulator/<path:rest>", endpoint="control", methods=["GET", "POST", "DELETE"]
                ),
            ],
            strict_slashes=False,
        )

    # -- clock ------------------------------------------------------------------------------

    def now(self) -> float:
        """The emulator's time in epoch seconds (the clock plus any advance)."""
        return self._clock() + self._offset

    def now_ms(self) -> int:
        """The emulator's time in Unix milliseconds."""
        return int(self.now() * 1000)

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward (token expiry, refresh grace, rate windows)."""
        self._offset += seconds

    # -- public helpers ---------------------------------------------------------------------

    @property
    def tenant_ids(self) -> list[str]:
        """The tenant IDs, in seed order."""
        return [t.tenant_id for t in self._seed.tenants]

    @property
    def users(self) -> list[dict[str, Any]]:
        """The seed's Xero users: email, password, names and grantable tenants."""
        return [
            {
                "email": u.email,
                "password": u.password,
                "given_name": u.given_name,
                "family_name": u.family_name,
                "tenants": list(u.tenants),
                "xero_userid": u.xero_userid,
            }
            for u in self._seed.users
        ]

    def tenant(self, tenant_id: str) -> TenantData:
        """The live data of one tenant (for tests that inspect it directly)."""
        return self._tenants[tenant_id]

    @property
    def issuer(self) -> str:
        """The ``iss`` of tokens issued outside a request: the server URL once serving."""
        return self.base_url or "https://identity.xero.com"

    def issue_tokens(
        self,
        client_id: str = DEMO_CLIENT_ID,
        user_email: str | None = None,
        tenant_ids: Iterable[str] | None = None,
        scope: str = DEFAULT_SCOPE,
    ) -> dict[str, Any]:
        """Connect a user's tenants to a client and return a token response, as if the user
        had clicked *Allow access*.

        :param client_id: the OAuth client (default: the demo client).
        :param user_email: the Xero user (default: the seed's first user).
        :param tenant_ids: the tenants to connect (default: all the user can grant).
        :param scope: space-separated scopes.
        :returns: ``access_token``, ``refresh_token`` (with ``offline_access``), ``id_token``
            (with ``openid``), ``expires_in``, ``token_type``, ``scope``.
        :raises ValueError: for an unknown user, client, scope or tenant.
        """
        if user_email is None:
            if not self._seed.users:
                raise ValueError("the seed has no users")
            user_email = self._seed.users[0].email
        user = self.identity.users.get(user_email.lower())
        if user is None:
            raise ValueError(f"no Xero user {user_email!r} in the seed")
        tenants = list(user.tenants if tenant_ids is None else tenant_ids)
        bad = [t for t in tenants if t not in user.tenants]
        if bad:
            raise ValueError(f"{user_email} cannot grant tenants {bad}")
        try:
            return self.identity.issue_direct(client_id, user, tenants, scope, self.issuer)
        except OAuthError as exc:
            raise ValueError(str(exc)) from None

    def stats(self) -> dict[str, Any]:
        """Call counts: ``{"tenants": {id: {"calls", "rate_limited", "by_endpoint"}},
        "identity": {"calls", "by_endpoint"}}``."""
        with self._stats_lock:
            return copy.deepcopy(self._stats)

    def reset_stats(self) -> None:
        """Zero every call count."""
        with self._stats_lock:
            self._stats = {
                "tenants": {
                    tid: {"calls": 0, "rate_limited": 0, "by_endpoint": {}}
                    for tid in self.tenant_ids
                },
                "identity": {"calls": 0, "by_endpoint": {}},
            }

    def flush_webhooks(self, timeout: float = 5.0) -> bool:
        """Wait until queued webhook deliveries were attempted; ``False`` on timeout."""
        return self.webhooks.flush(timeout)

    @property
    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every webhook payload emitted so far, with its delivery attempts."""
        return [d.as_json() for d in self.webhooks.deliveries]

    def reset(self) -> None:
        """Restore the seed's data, clear faults and rate windows (connections and tokens
        stay, so a connected app stays connected)."""
        with self._lock:
            self._tenants = {t.tenant_id: t.copy() for t in self._seed.tenants}
        self.faults.clear()
        self.limiter.reset()

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
        """Serve over HTTP from a daemon thread. ``port=0`` picks a free port.

        :returns: the running :class:`~xero_emulator.EmulatorServer`.
        """
        from .server import EmulatorServer

        server = EmulatorServer(self, host, port)
        self.base_url = server.url
        return server

    def apply_change(
        self,
        kind: Kind,
        tenant_id: str,
        body: Mapping[str, Any],
        *,
        bump_updated: bool = True,
        fire_webhook: bool = True,
    ) -> dict[str, Any]:
        """Create or update a contact, invoice or credit note as the control endpoint does.

        :returns: the stored object in Xero's shape.
        :raises KeyError: for an unknown tenant. :raises ControlError: for a bad object.
        """
        with self._lock:
            tenant = self._tenants[tenant_id]
            changes = upsert(kind, tenant, body, self.now_ms(), bump_updated=bump_updated)
        if fire_webhook:
            self._emit(tenant_id, changes)
        return changes[0].rendered

    def add_payment(
        self, tenant_id: str, invoice_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Add a payment to an invoice (see the control endpoint); returns the invoice."""
        with self._lock:
            changes = add_payment(self._tenants[tenant_id], invoice_id, body, self.now_ms())
        self._emit(tenant_id, changes)
        return changes[0].rendered

    def _emit(self, tenant_id: str, changes: list[Change]) -> None:
        base = self.base_url or "https://api.xero.com"
        tenant = self._tenants[tenant_id]
        for change in changes:
            event: dict[str, Any] = {
                "resourceUrl": f"{base}/api.xro/2.0/{change.kind}/{change.object_id}",
                "resourceId": change.object_id,
                "eventDateUtc": format_event_time(self.now_ms()),
                "eventType": change.event_type,
                "eventCategory": change.category,
                "tenantId": tenant_id,
                "tenantType": tenant.tenant_type,
            }
            if change.data is not None:
                event["data"] = change.data
            self.webhooks.emit([event])

    # -- WSGI -------------------------------------------------------------------------------

    def wsgi_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """The WSGI entry point."""
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.wsgi_app(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self._url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException as exc:
            return _text(exc.description or exc.name, exc.code or 404)
        handler = getattr(self, f"_view_{endpoint}")
        response: Response = handler(request, **values)
        return response

    def _request_issuer(self, request: Request) -> str:
        return request.host_url.rstrip("/")

    def _count_identity(self, name: str) -> None:
        with self._stats_lock:
            ident = self._stats["identity"]
            ident["calls"] += 1
            ident["by_endpoint"][name] = ident["by_endpoint"].get(name, 0) + 1

    def _identity_fault(self, name: str) -> Response | None:
        fault = self.faults.take(name, None, api=False)
        if fault is None:
            return None
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000)
        if fault.drop:
            raise DroppedConnection("drop fault")
        if fault.status is None:
            return None
        if fault.status == 400:
            return _json({"error": fault.detail or "invalid_grant"}, 400)
        return _text(fault.detail or "An error occurred", fault.status)

    # -- views: identity --------------------------------------------------------------------

    def _view_index(self, request: Request) -> Response:
        return _json(
            {
                "name": "xero-panel Xero emulator",
                "authorize": "/identity/connect/authorize",
                "token": "/identity/connect/token",
                "revocation": "/identity/connect/revocation",
                "connections": "/connections",
                "api": "/api.xro/2.0",
                "tenants": [
                    {"tenantId": t.tenant_id, "tenantName": t.tenant_name}
                    for t in self._seed.tenants
                ],
                "control_enabled": self.control_enabled,
            }
        )

    def _view_discovery(self, request: Request) -> Response:
        issuer = self._request_issuer(request)
        return _json(
            {
                "issuer": issuer,
                "jwks_uri": f"{issuer}/.well-known/openid-configuration/jwks",
                "authorization_endpoint": f"{issuer}/identity/connect/authorize",
                "token_endpoint": f"{issuer}/connect/token",
                "revocation_endpoint": f"{issuer}/connect/revocation",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": sorted(
                    {"openid", "profile", "email", "offline_access"} | INVOICE_SCOPES
                ),
            }
        )

    def _view_jwks(self, request: Request) -> Response:
        return _json({"keys": [signing_key().jwk]})

    def _view_authorize(self, request: Request) -> Response:
        self._count_identity("authorize")
        source = request.form if request.method == "POST" else request.args
        names = (
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
        )
        params = {k: source[k] for k in names if k in source}
        try:
            auth = self.identity.check_authorize(params)
        except OAuthError as exc:
            if exc.status != 302:
                return Response(
                    consent.error_page(f"{exc.error}: {exc.description}"),
                    status=400,
                    content_type="text/html; charset=utf-8",
                )
            return self._redirect(params["redirect_uri"], exc.error, params.get("state", ""))
        app_name = auth.client.name
        if request.method == "GET":
            return _html(consent.login_page(params, app_name))
        step = request.form.get("step", "")
        if step == "login":
            user = self.identity.login(
                request.form.get("email", ""), request.form.get("password", "")
            )
            if user is None:
                return _html(
                    consent.login_page(params, app_name, "Your email or password is incorrect"),
                    401,
                )
            ticket = self.identity.new_login_ticket(user)
            return self._consent(params, auth, user.email, ticket)
        user = self.identity.user_for_ticket(request.form.get("ticket", ""))
        if user is None:
            return _html(consent.login_page(params, app_name, "Please log in again"), 401)
        if request.form.get("action") != "allow":
            return self._redirect(auth.redirect_uri, "access_denied", auth.state)
        chosen = [t for t in request.form.getlist("tenant") if t in user.tenants]
        if not chosen:
            return self._consent(
                params, auth, user.email, request.form["ticket"], "Select an organisation"
            )
        auth_event_id = self.identity.connect(auth.client.client_id, user, chosen)
        code = self.identity.new_code(auth, user, auth_event_id)
        location = self.identity.redirect(
            auth.redirect_uri, {"code": code, "scope": " ".join(auth.scope), "state": auth.state}
        )
        return Response("", status=302, headers={"Location": location})

    def _consent(
        self,
        params: Mapping[str, str],
        auth: AuthorizeRequest,
        email: str,
        ticket: str,
        error: str = "",
    ) -> Response:
        user = self.identity.users[email.lower()]
        tenants = [(tid, self.identity.tenant_names[tid][0]) for tid in user.tenants]
        page = consent.consent_page(
            params, auth.client.name, user.email, ticket, tenants, auth.scope, error
        )
        return _html(page, 400 if error else 200)

    def _redirect(self, redirect_uri: str, error: str, state: str) -> Response:
        location = self.identity.redirect(redirect_uri, {"error": error, "state": state})
        return Response("", status=302, headers={"Location": location})

    def _view_token(self, request: Request) -> Response:
        self._count_identity("token")
        faulted = self._identity_fault("token")
        if faulted is not None:
            return faulted
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            body = self.identity.token(
                request.headers.get("Authorization"),
                request.form.to_dict(),
                self._request_issuer(request),
            )
        except OAuthError as exc:
            return _json(exc.body(), exc.status, headers)
        return _json(body, 200, headers)

    def _view_revocation(self, request: Request) -> Response:
        self._count_identity("revocation")
        faulted = self._identity_fault("revocation")
        if faulted is not None:
            return faulted
        try:
            self.identity.revoke(request.headers.get("Authorization"), request.form.to_dict())
        except OAuthError as exc:
            return _json(exc.body(), exc.status)
        return Response("", status=200)

    def _bearer(self, request: Request) -> AccessInfo | Response:
        try:
            return self.identity.check_bearer(request.headers.get("Authorization"))
        except OAuthError as exc:
            return _json(_problem(401, exc.error), 401, {"WWW-Authenticate": "Bearer"})

    def _view_connections(self, request: Request) -> Response:
        self._count_identity("connections")
        faulted = self._identity_fault("connections")
        if faulted is not None:
            return faulted
        access = self._bearer(request)
        if isinstance(access, Response):
            return access
        conns = self.identity.list_connections(access, request.args.get("authEventId", ""))
        return _json([c.as_json() for c in conns])

    def _view_connection(self, request: Request, cid: str) -> Response:
        self._count_identity("connections")
        access = self._bearer(request)
        if isinstance(access, Response):
            return access
        if not self.identity.delete_connection(access, cid):
            return _text("", 404)
        return Response(status=204)

    # -- views: accounting ------------------------------------------------------------------

    def _count_api(self, tenant_id: str, endpoint: str, rate_limited: bool = False) -> None:
        with self._stats_lock:
            tenants = self._stats["tenants"]
            entry = tenants.setdefault(
                tenant_id, {"calls": 0, "rate_limited": 0, "by_endpoint": {}}
            )
            entry["calls"] += 1
            entry["by_endpoint"][endpoint] = entry["by_endpoint"].get(endpoint, 0) + 1
            if rate_limited:
                entry["rate_limited"] += 1

    def _view_api(self, request: Request, rest: str) -> Response:
        parts = [p for p in rest.split("/") if p]
        endpoint = _API_NAMES.get(parts[0].lower()) if parts else None
        if endpoint is None:
            return _text("The resource you're looking for cannot be found", 404)
        tenant_id = (request.headers.get("xero-tenant-id") or "").strip().lower()
        known_tenant = tenant_id in self._tenants
        if known_tenant:
            self._count_api(tenant_id, endpoint)
        access = self._bearer(request)
        if isinstance(access, Response):
            return access
        if not tenant_id:
            return _json(_problem(403, "AuthenticationUnsuccessful"), 403)
        if not access.scope & _ENDPOINT_SCOPES[endpoint]:
            return _json(_problem(401, "AuthorizationUnsuccessful"), 401)
        if not known_tenant or not self.identity.has_connection(access, tenant_id):
            return _json(_problem(403, "AuthenticationUnsuccessful"), 403)
        admission = self.limiter.acquire(tenant_id)
        if not admission.allowed:
            with self._stats_lock:
                self._stats["tenants"][tenant_id]["rate_limited"] += 1
            return _json(
                _problem(429, f"Rate limit exceeded: {admission.problem}"),
                429,
                admission.headers(),
            )
        try:
            response = self._api_with_faults(request, endpoint, parts, tenant_id)
        finally:
            self.limiter.release(tenant_id)
        response.headers.update(admission.headers())
        return response

    def _api_with_faults(
        self, request: Request, endpoint: str, parts: list[str], tenant_id: str
    ) -> Response:
        fault = self.faults.take(endpoint, tenant_id, api=True)
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000)
            if fault.drop:
                raise DroppedConnection("drop fault")
            if fault.status is not None:
                return self._fault_response(fault, tenant_id)
        try:
            return self._api(request, endpoint, parts, tenant_id)
        except ApiError as exc:
            if isinstance(exc.body, dict):
                return _json(exc.body, exc.status, exc.headers)
            return _text(exc.body, exc.status, exc.headers)

    def _fault_response(self, fault: Fault, tenant_id: str) -> Response:
        status = fault.status or 500
        if status == 503:
            return _text(fault.detail or "Organisation offline", 503)
        if status in {401, 403}:
            detail = fault.detail or (
                "AuthenticationUnsuccessful" if status == 403 else "AuthorizationUnsuccessful"
            )
            if detail == "TokenExpired":
                detail = token_expired_detail(self.now_ms())
            return _json(_problem(status, detail), status)
        if status == 429:
            with self._stats_lock:
                self._stats["tenants"][tenant_id]["rate_limited"] += 1
            problem = fault.detail or "minute"
            return _json(
                _problem(429, f"Rate limit exceeded: {problem}"),
                429,
                {"Retry-After": "60", "X-Rate-Limit-Problem": problem},
            )
        if status == 400:
            error = accounting.validation_error(fault.detail or "A validation exception occurred")
            assert isinstance(error.body, dict)
            return _json(error.body, 400)
        if status == 404:
            return _text("The resource you're looking for cannot be found", 404)
        return _text(fault.detail or "An error occurred", status)

    def _envelope(self, key: str, items: list[dict[str, Any]], pagination: Any = None) -> Response:
        body: dict[str, Any] = {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": _PROVIDER_NAME,
            "DateTimeUTC": format_envelope_time(self.now_ms()),
        }
        if pagination is not None:
            body["pagination"] = pagination
        body[key] = items
        return _json(body)

    def _api(self, request: Request, endpoint: str, parts: list[str], tenant_id: str) -> Response:
        with self._lock:
            tenant = self._tenants[tenant_id]
            if endpoint == "Organisation":
                if len(parts) != 1:
                    raise accounting.not_found()
                return self._envelope("Organisations", [copy.deepcopy(tenant.organisation)])
            kind: Kind = endpoint  # type: ignore[assignment]
            if len(parts) == 1:
                since_header = request.headers.get("If-Modified-Since")
                since = parse_http_date(since_header) if since_header else None
                result = accounting.list_objects(kind, tenant, request.args, since)
                return self._envelope(kind, result.items, result.pagination)
            if kind == "Invoices" and len(parts) == 3 and parts[2].lower() == "onlineinvoice":
                invoice = accounting.get_invoice(tenant, parts[1])
                return self._online_invoice(request, tenant_id, invoice)
            if len(parts) != 2:
                raise accounting.not_found()
            getter = {
                "Invoices": accounting.get_invoice,
                "Contacts": accounting.get_contact,
                "CreditNotes": accounting.get_credit_note,
            }[kind]
            return self._envelope(kind, [getter(tenant, parts[1])])

    def _online_token(self, tenant_id: str, invoice_id: str) -> str:
        return hashlib.sha256(f"{tenant_id}:{invoice_id}".encode()).hexdigest()[:40]

    def _online_invoice(
        self, request: Request, tenant_id: str, invoice: dict[str, Any]
    ) -> Response:
        if invoice.get("Type") != "ACCREC" or invoice.get("Status") in {"DRAFT", "DELETED"}:
            raise accounting.validation_error(
                "Online invoices are only available for approved sales invoices"
            )
        token = self._online_token(tenant_id, invoice["InvoiceID"])
        url = f"{self._request_issuer(request)}/in/{token}"
        return self._envelope("OnlineInvoices", [{"OnlineInvoiceUrl": url}])

    def _view_online_invoice(self, request: Request, token: str) -> Response:
        with self._lock:
            for tid, tenant in self._tenants.items():
                for invoice in tenant.invoices.values():
                    if self._online_token(tid, invoice["InvoiceID"]) == token:
                        return _html(_online_invoice_page(tenant, invoice))
        raise NotFound()

    # -- views: control ---------------------------------------------------------------------

    def _view_control(self, request: Request, rest: str) -> Response:
        if not self.control_enabled:
            return _text("Not Found", 404)
        from .control_views import handle_control

        try:
            return handle_control(self, request, [p for p in rest.split("/") if p])
        except (ControlError, SeedError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        except KeyError as exc:
            return _json({"error": f"not found: {exc.args[0]}"}, 404)

    def read_json(self, request: Request) -> Any:
        """The request's JSON body with exact Decimals (``{}`` when empty)."""
        data = request.get_data()
        if not data.strip():
            return {}
        try:
            return loads(data)
        except ValueError:
            raise ControlError("the body is not valid JSON") from None

    def add_fault(self, fault: Mapping[str, Any]) -> dict[str, Any]:
        """Add a fault rule (the ``POST /_emulator/faults`` body).

        ``{"revoke_tenant": id}`` acts at once: every connection to that tenant disappears."""
        if "revoke_tenant" in fault:
            tenant_id = str(fault["revoke_tenant"]).lower()
            if tenant_id not in self._tenants:
                raise KeyError(tenant_id)
            return {"revoked_connections": self.identity.revoke_tenant(tenant_id)}
        self.faults.add(Fault.from_json(fault))
        return {"faults": self.faults.list()}


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def _online_invoice_page(tenant: TenantData, invoice: Mapping[str, Any]) -> str:
    from markupsafe import Markup

    return str(
        Markup(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Invoice {n}</title>"
            "</head><body><h1>{org}</h1><p>Invoice <strong>{n}</strong> for {contact}</p>"
            "<p>Total {cur} {total}, amount due {cur} {due}</p><p>Status {status}</p></body></html>"
        ).format(
            n=invoice.get("InvoiceNumber", ""),
            org=tenant.organisation.get("Name", tenant.tenant_name),
            contact=invoice["Contact"].get("Name", ""),
            cur=invoice.get("CurrencyCode", ""),
            total=invoice.get("Total", ""),
            due=invoice.get("AmountDue", ""),
            status=invoice.get("Status", ""),
        )
    )

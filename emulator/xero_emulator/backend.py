"""The :class:`XeroBackend`: every piece of an emulated Xero's state, and the operations on it
that the views, tests, the demo and the ``/_emulator/`` control endpoints use (like moto's
``models.py``: no HTTP here).

The state lives in small models: :class:`~.store.TenantData` per organisation,
:class:`~.identity.Identity` (users, clients, codes, grants, tokens, connections),
:class:`~.limits.RateLimiter`, :class:`~.faults.FaultBook`, :class:`~.webhooks.WebhookDispatcher`
and :class:`~.stats.CallStats`. The identity server's operations are in
:mod:`.backend_identity`, the Accounting API's call policy in :mod:`.backend_api`.

Imports point one way: :mod:`.emulator` (the public :class:`~xero_emulator.Emulator`) ->
:mod:`.server` -> :mod:`.urls` -> :mod:`.views` -> this module -> the models.
"""

from __future__ import annotations

import copy
import hashlib
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .backend_api import ApiOperations
from .backend_identity import IdentityOperations
from .changes import Change, add_payment, upsert
from .faults import Fault, FaultBook
from .identity import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Identity
from .limits import RateLimiter
from .oauth import OAuthError
from .queries import ListResult, get_object, list_objects, not_found, validation_error
from .scopes import DEFAULT_SCOPE
from .seed import ClientSpec, Seed, parse_seed
from .stats import CallStats
from .store import Kind, TenantData
from .webhooks import WebhookDispatcher
from .xero_json import format_event_time

__all__ = ["CONTROL_TOKEN_ENV", "CONTROL_TOKEN_HEADER", "DEFAULT_SCOPE", "XeroBackend"]

#: The environment variable that sets the control token (else one is made per run).
CONTROL_TOKEN_ENV = "XERO_EMULATOR_CONTROL_TOKEN"  # noqa: S105 (a name, not a secret)
#: The header every control request carries the token in.
CONTROL_TOKEN_HEADER = "X-Emulator-Token"  # noqa: S105 (a name, not a secret)


class XeroBackend(IdentityOperations, ApiOperations):
    """A local Xero's state, seeded with users, clients and organisations, and every
    operation on it. :class:`~xero_emulator.Emulator` adds serving it over HTTP; its
    docstring describes the parameters.

    :raises SeedError: when the seed is not valid.
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
        control_token: str | None = None,
        latency_ms: int = 0,
    ) -> None:
        self._clock = clock or time.time
        self._offset = 0.0
        self.control_enabled = control_enabled
        #: The token control requests must carry (see :meth:`control_headers`).
        self.control_token: str = (
            control_token or os.environ.get(CONTROL_TOKEN_ENV) or secrets.token_urlsafe(24)
        )
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
        self.faults = FaultBook(latency_ms)
        self.webhooks = WebhookDispatcher(
            webhook_url, webhook_key, retries=webhook_retries, retry_delay=webhook_retry_delay
        )
        self.calls = CallStats(self.tenant_ids)

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

    @property
    def clock_offset(self) -> float:
        """How far :meth:`advance_clock` moved the clock, in seconds."""
        return self._offset

    # -- users, tenants, tokens -------------------------------------------------------------

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

    # -- the Accounting API's reads (under the data lock) -----------------------------------

    def organisation(self, tenant_id: str) -> dict[str, Any]:
        """A copy of the tenant's Organisation record."""
        with self._lock:
            return copy.deepcopy(self._tenants[tenant_id].organisation)

    def list_objects(
        self, kind: Kind, tenant_id: str, args: Mapping[str, str], since_ms: int | None
    ) -> ListResult:
        """``GET /Invoices``, ``/Contacts`` or ``/CreditNotes`` (see :mod:`.queries`)."""
        with self._lock:
            return list_objects(kind, self._tenants[tenant_id], args, since_ms)

    def get_object(self, kind: Kind, tenant_id: str, key: str) -> dict[str, Any]:
        """One object by ID or number. :raises ApiError: 404."""
        with self._lock:
            return get_object(kind, self._tenants[tenant_id], key)

    def online_invoice_token(self, tenant_id: str, key: str) -> str:
        """The token of an invoice's online page (the path ``/in/<token>``).

        :raises ApiError: 404 for an unknown invoice, 400 unless it is an approved sale.
        """
        invoice = self.get_object("Invoices", tenant_id, key)
        if invoice.get("Type") != "ACCREC" or invoice.get("Status") in {"DRAFT", "DELETED"}:
            raise validation_error("Online invoices are only available for approved sales invoices")
        return _online_token(tenant_id, invoice["InvoiceID"])

    def online_invoice(self, token: str) -> tuple[TenantData, dict[str, Any]]:
        """The tenant and invoice an online invoice token names. :raises ApiError: 404."""
        with self._lock:
            for tid, tenant in self._tenants.items():
                for invoice in tenant.invoices.values():
                    if _online_token(tid, invoice["InvoiceID"]) == token:
                        return tenant, copy.deepcopy(invoice)
        raise not_found()

    def find_document(
        self, kind: Kind, document_id: str, short_code: str | None = None
    ) -> tuple[TenantData, dict[str, Any]]:
        """An invoice or credit note by its ID in any organisation (only the one whose
        ``ShortCode`` is ``short_code``, when given), for Xero's deep links.

        :raises ApiError: 404.
        """
        try:
            key = str(uuid.UUID(document_id))
        except ValueError:
            raise not_found() from None
        with self._lock:
            for tenant in self._tenants.values():
                if short_code and tenant.organisation.get("ShortCode") != short_code:
                    continue
                found = (tenant.invoices if kind == "Invoices" else tenant.credit_notes).get(key)
                if found is not None:
                    return tenant, copy.deepcopy(found)
        raise not_found()

    # -- changes, faults, stats, webhooks ---------------------------------------------------

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
            try:
                changes = upsert(kind, tenant, body, self.now_ms(), bump_updated=bump_updated)
            finally:
                tenant.changed()
        if fire_webhook:
            self._emit(tenant_id, changes)
        return changes[0].rendered

    def add_payment(
        self, tenant_id: str, invoice_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Add a payment to an invoice (see the control endpoint); returns the invoice."""
        with self._lock:
            try:
                changes = add_payment(self._tenants[tenant_id], invoice_id, body, self.now_ms())
            finally:
                self._tenants[tenant_id].changed()
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

    def add_fault(self, fault: Mapping[str, Any]) -> dict[str, Any]:
        """Add a fault rule (the ``POST /_emulator/faults`` body).

        ``{"revoke_tenant": id}`` acts at once: every connection to that tenant disappears."""
        if "revoke_tenant" in fault:
            tenant_id = str(fault["revoke_tenant"]).lower()
            if tenant_id not in self._tenants:
                raise KeyError(tenant_id)
            return {"revoked_connections": self.identity.book.delete_tenant(tenant_id)}
        self.faults.add(Fault.from_json(fault))
        return {"faults": self.faults.list()}

    def stats(self) -> dict[str, Any]:
        """Call counts: ``{"tenants": {id: {"calls", "rate_limited", "by_endpoint"}},
        "identity": {"calls", "by_endpoint"}}``."""
        return self.calls.snapshot()

    def reset_stats(self) -> None:
        """Zero every call count."""
        self.calls.reset()

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

    def control_headers(self) -> dict[str, str]:
        """The headers a request to the ``/_emulator/`` control endpoints needs: the JSON
        content type and this emulator's control token."""
        return {"Content-Type": "application/json", CONTROL_TOKEN_HEADER: self.control_token}

    # -- control: faults, limits, webhooks ------------------------------------------------

    def list_faults(self) -> list[dict[str, Any]]:
        """The fault rules waiting to fire."""
        return self.faults.list()

    def clear_faults(self) -> None:
        """Drop every fault rule."""
        self.faults.clear()

    def rate_limits(self) -> dict[str, int]:
        """The rate limits in force: ``per_minute``, ``per_day``, ``concurrent``, ..."""
        return dict(self.limiter.limits)

    def configure_limits(self, limits: Mapping[str, int]) -> None:
        """Change some rate limits (the ``POST /_emulator/limits`` body)."""
        self.limiter.configure(limits)

    def intent_to_receive(self) -> dict[str, Any]:
        """Run Xero's intent-to-receive check against the webhook URL now."""
        return self.webhooks.intent_to_receive()

    def stop_webhooks(self) -> None:
        """Stop the webhook delivery thread (the server does when it shuts down)."""
        self.webhooks.close()


def _online_token(tenant_id: str, invoice_id: str) -> str:
    return hashlib.sha256(f"{tenant_id}:{invoice_id}".encode()).hexdigest()[:40]

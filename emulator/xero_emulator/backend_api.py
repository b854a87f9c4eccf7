"""The Accounting API's call policy on an emulator's state: counting, Xero's checks in
Xero's order (bearer token, ``xero-tenant-id``, scope, connection), rate limits and
injected faults.

:class:`ApiOperations` is a part of :class:`~xero_emulator.backend.XeroBackend`; the
views call these methods rather than the :class:`~.limits.RateLimiter`,
:class:`~.faults.FaultBook` and :class:`~.stats.CallStats` behind them, and turn a
:class:`Refusal` into Xero's problem-details answer.
"""

from __future__ import annotations

from collections.abc import Mapping

from .faults import Fault, FaultBook
from .identity import Identity
from .limits import Admission, RateLimiter
from .oauth import OAuthError
from .scopes import ENDPOINT_SCOPES
from .stats import CallStats

__all__ = ["ApiOperations", "Refusal"]


class Refusal(Exception):
    """An API call the emulator refuses: Xero's problem-details status, detail and
    extra headers."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None):
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


class ApiOperations:
    """What the Accounting API's views do before and after answering a call."""

    identity: Identity
    limiter: RateLimiter
    faults: FaultBook
    calls: CallStats

    @property
    def tenant_ids(self) -> list[str]:
        raise NotImplementedError

    def open_api_call(self, authorization: str | None, tenant_id: str, endpoint: str) -> Admission:
        """Count a call to ``endpoint`` (``Invoices``, ...) for ``tenant_id`` (the lowered
        ``xero-tenant-id``, or ``""``), check it as Xero does and take a rate-limit slot.
        Release the slot with :meth:`close_api_call`.

        :returns: the limiter's admission (its headers go on the answer).
        :raises Refusal: 401 (token, scope), 403 (tenant, connection) or 429 (limits).
        """
        known_tenant = tenant_id in self.tenant_ids
        if known_tenant:
            self.calls.count_api(tenant_id, endpoint)
        try:
            access = self.identity.check_bearer(authorization)
        except OAuthError as exc:
            raise Refusal(401, exc.error, {"WWW-Authenticate": "Bearer"}) from None
        if not tenant_id:
            raise Refusal(403, "AuthenticationUnsuccessful")
        if not access.scope & ENDPOINT_SCOPES[endpoint]:
            raise Refusal(401, "AuthorizationUnsuccessful")
        if not known_tenant or not self.identity.book.find(
            access.client_id, access.user_email, tenant_id
        ):
            raise Refusal(403, "AuthenticationUnsuccessful")
        admission = self.limiter.acquire(tenant_id)
        if not admission.allowed:
            self.calls.count_rate_limited(tenant_id)
            raise Refusal(429, f"Rate limit exceeded: {admission.problem}", admission.headers())
        return admission

    def close_api_call(self, tenant_id: str) -> None:
        """Give back the concurrency slot :meth:`open_api_call` took."""
        self.limiter.release(tenant_id)

    def api_fault(self, endpoint: str, tenant_id: str) -> Fault | None:
        """Take the injected fault that matches an admitted API call, if any."""
        return self.faults.take(endpoint, tenant_id, api=True)

    def count_rate_limited(self, tenant_id: str) -> None:
        """Count a 429 answer (an injected one: the limiter's are counted already)."""
        self.calls.count_rate_limited(tenant_id)

    def count_api_error(self, tenant_id: str, status: int) -> None:
        """Count an error answer (4xx or 5xx) to a tenant's API call."""
        self.calls.count_error(tenant_id, status)

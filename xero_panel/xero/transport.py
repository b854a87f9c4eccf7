"""Sending one request to Xero: auth headers, the rate budget, retries and error mapping.

:class:`Sender` is the half of :class:`~xero_panel.xero.client.XeroClient` that talks HTTP.
Every call to an organisation's data first takes a slot from the per-tenant
:class:`~xero_panel.xero.rate_budget.RateBudget` (which counts the call in its
:class:`~xero_panel.xero.call_counter.CallCounter`), and every response is shown to it so it
learns what Xero says is left. Xero's errors become the plugin's exceptions:

============================  =========================================================
Xero answers                  the client
============================  =========================================================
401 ``TokenExpired: ...``     refreshes the access token once and tries again
other 401, 403                :class:`~xero_panel.exceptions.AuthExpired`
404                           ``None``/``False`` where documented, else ``XeroAPIError``
400 and other 4xx             :class:`~xero_panel.exceptions.XeroAPIError` with Xero's
                              validation messages
429                           sleeps ``Retry-After`` if within ``max_wait`` and retries,
                              else :class:`~xero_panel.exceptions.RateLimited`
5xx, timeouts, dropped        retried with exponential backoff and full jitter, then
connections                   :class:`~xero_panel.exceptions.XeroUnavailable`
============================  =========================================================

Access tokens never appear in log records or exception messages: the log says method, path,
status and duration only. This module imports no Flask.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import requests

from ..exceptions import AuthExpired, RateLimited, XeroAPIError, XeroUnavailable
from .call_kinds import CallKind
from .dates import loads_json
from .rate_budget import RateBudget

__all__ = ["Sender", "TokenSource"]

logger = logging.getLogger("xero_panel.xero.client")

_T = TypeVar("_T")


class TokenSource(Protocol):
    """Where the client gets access tokens for one Xero connection."""

    def access_token(self) -> str:
        """Return a current access token (refreshing it first if it is known to be expired)."""
        ...

    def refresh_access_token(self, rejected: str) -> str:
        """Return a new access token because Xero said ``rejected`` has expired.

        Implementations should not refresh again if another worker already replaced
        ``rejected``.

        :raises AuthExpired: when the refresh token no longer works and an admin must reconnect.
        """
        ...


def _error_detail(response: requests.Response) -> str | None:
    """Xero's own words from an error body: validation messages, ``Detail`` or plain text."""
    try:
        body = loads_json(response.content)
    except ValueError:
        text = response.text.strip() if response.content else ""
        return text[:500] or None
    if isinstance(body, dict):
        messages = [
            str(error["Message"])
            for element in body.get("Elements") or []
            if isinstance(element, dict)
            for error in element.get("ValidationErrors") or []
            if isinstance(error, dict) and error.get("Message")
        ]
        if messages:
            return "; ".join(dict.fromkeys(messages))
        for key in ("Detail", "Message", "error_description", "error", "Title"):
            if body.get(key):
                return str(body[key])
    return None


class Sender:
    """Sends requests for :class:`~xero_panel.xero.client.XeroClient`, which sets these."""

    timeout: tuple[float, float]
    max_retries: int
    max_wait: float
    user_agent: str
    backoff_base: float
    last_call_seconds: float | None
    backoff_cap: float
    kind: CallKind
    _tokens: TokenSource
    _budget: RateBudget
    _sleep: Callable[[float], None]
    _clock: Callable[[], float]
    _session: requests.Session
    _rng: random.Random

    def _parse(self, response: requests.Response, path: str, read: Callable[[Any], _T]) -> _T:
        try:
            return read(loads_json(response.content))
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise XeroAPIError(
                f"Xero sent an answer to {path} that xero-panel cannot read ({exc}); "
                "please report this with Xero's response.",
                status=response.status_code,
                detail=str(exc),
            ) from exc

    def _backoff(self, failures: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (failures - 1)))
        return self._rng.uniform(0.0, ceiling)

    def _send(
        self,
        method: str,
        url: str,
        *,
        tenant_id: str | None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        not_found_ok: bool = False,
    ) -> requests.Response | None:
        """Send one logical request, with budget, token refresh, retries and error mapping.

        :return: the successful response, or ``None`` for a 404 when ``not_found_ok``.
        """
        tries = _Tries(method=method, path=urlsplit(url).path)
        while True:
            if tries.token is None:
                tries.token = self._tokens.access_token()
            response = self._attempt(url, tenant_id, params, headers, tries)
            if response is None:
                self._retry_later(tries)  # a timeout or dropped connection
                continue
            if tenant_id is not None:
                self._observe(tenant_id, response)
            if response.status_code < 400:
                return response
            if response.status_code == 404 and not_found_ok:
                return None
            self._handle_error(response, tries)  # raises, or readies a retry

    def _attempt(
        self,
        url: str,
        tenant_id: str | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        tries: _Tries,
    ) -> requests.Response | None:
        """One HTTP call inside a budget slot; ``None`` (with ``tries.error``) when it timed
        out or the connection dropped."""
        request_headers = {
            "Authorization": f"Bearer {tries.token}",
            "Accept": "application/json",
            "User-Agent": self.user_agent,
            **(headers or {}),
        }
        slot: AbstractContextManager[None] = nullcontext()
        started_wait = self._clock()
        if tenant_id is not None:
            request_headers["xero-tenant-id"] = tenant_id
            wait = max(0.0, self.max_wait - tries.waited)
            slot = self._budget.acquire(tenant_id, max_wait=wait, kind=self.kind)
        response: requests.Response | None = None
        with slot:
            started = self._clock()
            tries.waited += started - started_wait
            try:
                response = self._session.request(
                    tries.method, url, params=params, headers=request_headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                tries.error = exc
            tries.duration = self._clock() - started
        self.last_call_seconds = tries.duration
        if response is not None:
            logger.log(
                logging.DEBUG if response.status_code < 400 else logging.INFO,
                "%s %s -> %s in %.3f s",
                tries.method,
                tries.path,
                response.status_code,
                tries.duration,
            )
        return response

    def _observe(self, tenant_id: str, response: requests.Response) -> None:
        observed: Mapping[str, str] = response.headers
        if response.status_code != 429 and "Retry-After" in response.headers:
            # Only a 429's Retry-After blocks the tenant; a 503's is a retry hint.
            observed = {k: v for k, v in response.headers.items() if k.lower() != "retry-after"}
        self._budget.observe(tenant_id, observed)

    def _retry_later(self, tries: _Tries) -> None:
        error = tries.error
        assert error is not None
        kind = type(error).__name__
        logger.warning(
            "%s %s failed: %s after %.3f s", tries.method, tries.path, kind, tries.duration
        )
        tries.failures += 1
        if tries.failures > self.max_retries:
            what = (
                f"Xero was too slow to answer ({kind})"
                if isinstance(error, requests.Timeout)
                else f"Could not reach Xero ({kind})"
            )
            raise XeroUnavailable(
                f"{what} after {tries.failures} tries; showing cached data, try again later.",
                status=0,
                detail=kind,
            ) from error
        delay = self._backoff(tries.failures)
        logger.warning("Retrying %s %s in %.2f s", tries.method, tries.path, delay)
        self._sleep(delay)
        tries.token = None

    def _handle_error(self, response: requests.Response, tries: _Tries) -> None:
        """Raise the plugin's exception for an error answer, or get ready to try again
        (after a token refresh, ``Retry-After`` or a backoff)."""
        method, path, status = tries.method, tries.path, response.status_code
        detail = _error_detail(response)
        if status == 401 and not tries.refreshed and (detail or "").startswith("TokenExpired"):
            tries.refreshed = True
            assert tries.token is not None
            tries.token = self._tokens.refresh_access_token(tries.token)
            return
        if status in (401, 403):
            what = (
                "rejected this connection's access token"
                if status == 401
                else ("refused access to this organisation")
            )
            fallback = "Unauthorized" if status == 401 else "Forbidden"
            raise AuthExpired(f"Xero {what} ({detail or fallback}): an admin must reconnect Xero.")
        if status == 404:
            raise XeroAPIError(
                f"Xero found nothing at {method} {path} ({detail or 'Not Found'}).",
                status=404,
                detail=detail,
            )
        if status == 429:
            self._wait_for_rate_limit(response, tries)
            return
        if status >= 500:
            self._back_off_server_error(response, detail, tries)
            return
        raise XeroAPIError(
            f"Xero rejected {method} {path} (HTTP {status}): {detail or 'no detail'}",
            status=status,
            detail=detail,
        )

    def _wait_for_rate_limit(self, response: requests.Response, tries: _Tries) -> None:
        problem = response.headers.get("X-Rate-Limit-Problem") or None
        retry_after = _retry_after_seconds(response, problem)
        tries.throttled += 1
        if tries.throttled > self.max_retries or tries.waited + retry_after > self.max_wait:
            limit = (
                "app-wide limit (calls a minute across all organisations)"
                if problem == "appminute"
                else f"{problem or 'rate'} limit for this organisation"
            )
            raise RateLimited(
                f"Xero's {limit} was reached; "
                f"try again in {max(1, round(retry_after + 0.4999))} s.",
                retry_after=retry_after,
                problem=problem,
            )
        logger.warning(
            "%s %s rate limited (%s); retrying in %.2f s",
            tries.method,
            tries.path,
            problem,
            retry_after,
        )
        self._sleep(retry_after)
        tries.waited += retry_after
        tries.token = None

    def _back_off_server_error(
        self, response: requests.Response, detail: str | None, tries: _Tries
    ) -> None:
        status = response.status_code
        tries.failures += 1
        if tries.failures > self.max_retries:
            raise XeroUnavailable(
                f"Xero is unavailable (HTTP {status}: {detail or 'no detail'}) after "
                f"{tries.failures} tries; showing cached data, try again later.",
                status=status,
                detail=detail,
            )
        delay = self._backoff(tries.failures)
        if response.headers.get("Retry-After") is not None:
            hinted = _retry_after_seconds(response, None)
            if tries.waited + hinted <= self.max_wait:
                delay = max(delay, hinted)
                tries.waited += hinted
        logger.warning(
            "Retrying %s %s in %.2f s (HTTP %s)", tries.method, tries.path, delay, status
        )
        self._sleep(delay)
        tries.token = None


@dataclass
class _Tries:
    """What one logical request has been through so far."""

    method: str
    path: str
    token: str | None = None
    waited: float = 0.0  # seconds spent waiting for the budget or Retry-After
    failures: int = 0  # 5xx answers, timeouts and dropped connections
    throttled: int = 0  # 429 answers
    refreshed: bool = False
    duration: float = 0.0
    error: requests.RequestException | None = None


_DEFAULT_RETRY_AFTER = {"minute": 60.0, "appminute": 60.0, "concurrent": 1.0, "day": 3600.0}


def _retry_after_seconds(response: requests.Response, problem: str | None) -> float:
    """``Retry-After`` in seconds; Xero sends it for minute and day limits, not always else."""
    header = response.headers.get("Retry-After")
    if header is not None:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = parsedate_to_datetime(header)
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    return _DEFAULT_RETRY_AFTER.get((problem or "").lower(), 1.0)

"""The one Xero API client: auth headers, paging, the rate budget, retries and error mapping.

:class:`XeroClient` wraps a :class:`requests.Session`. Every call to an organisation's data first
takes a slot from the per-tenant :class:`~xero_panel.rate_budget.RateBudget`, and every response
is shown to it so it learns what Xero says is left. Xero's errors become the plugin's exceptions:

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

import itertools
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import requests

from .exceptions import AuthExpired, RateLimited, XeroAPIError, XeroUnavailable
from .rate_budget import InProcessRateBudget, RateBudget
from .xero_dates import format_if_modified_since, loads_json, parse_xero_datetime
from .xero_types import (
    Connection,
    Contact,
    CreditNote,
    Invoice,
    Organisation,
    parse_connection,
    parse_contact,
    parse_credit_note,
    parse_invoice,
    parse_organisation,
    parse_pagination,
)

__all__ = ["DEFAULT_API_URL", "IDENTITY", "ID_BATCH_SIZE", "Page", "TokenSource", "XeroClient"]

logger = logging.getLogger("xero_panel.client")

#: Where Xero's APIs live; the Accounting API is under ``/api.xro/2.0``.
DEFAULT_API_URL = "https://api.xero.com"
#: Most IDs sent in one ``IDs``/``ContactIDs`` query parameter. Xero fails at about 53
#: (the URL gets too long and it answers 404), so stay clear of that.
ID_BATCH_SIZE = 50
#: The :attr:`XeroClient.calls_made` key for calls that belong to no tenant (``/connections``).
IDENTITY = "identity"

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


class Page(list[_T]):
    """One page of a Xero list answer: a plain list of records, plus what Xero said about the
    whole query.

    :ivar page: the page number (from 1).
    :ivar page_count: ``pagination.pageCount``, if Xero sent it.
    :ivar item_count: ``pagination.itemCount`` (records in the whole query, for progress).
    :ivar server_time: the envelope's ``DateTimeUTC``, Xero's clock when it answered: a safe
        ``If-Modified-Since`` high-water mark for the next incremental sync.
    """

    def __init__(
        self,
        items: Iterable[_T],
        *,
        page: int,
        page_count: int | None,
        item_count: int | None,
        server_time: datetime | None,
    ) -> None:
        super().__init__(items)
        self.page = page
        self.page_count = page_count
        self.item_count = item_count
        self.server_time = server_time


def _chunks(values: Iterable[str], size: int) -> list[list[str]]:
    unique = list(dict.fromkeys(v for v in values if v))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


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


class XeroClient:
    """A client for the parts of Xero's API the panel reads.

    One client serves one Xero connection (one set of tokens), for any of its tenants. It is
    safe to share between threads.

    :param tokens: supplies and refreshes the access token; see :class:`TokenSource`.
    :param budget: the per-tenant rate budget; share one per process (or use
        :class:`~xero_panel.rate_budget.RedisRateBudget` across processes). Defaults to a new
        :class:`~xero_panel.rate_budget.InProcessRateBudget`.
    :param api_url: Xero's API host (point it at the emulator in tests and the demo).
    :param timeout: ``(connect, read)`` timeouts in seconds for each HTTP call.
    :param max_retries: retries after the first try for 5xx answers, timeouts and dropped
        connections (and, separately, for 429s).
    :param max_wait: the most seconds one call may spend waiting for the rate budget or for
        ``Retry-After`` before it raises :class:`~xero_panel.exceptions.RateLimited`.
    :param sleep: how to wait; tests pass a fake.
    :param clock: a monotonic clock for durations and ``max_wait``.
    :param session: a :class:`requests.Session` to use (one is made if not given).
    :param user_agent: the ``User-Agent`` header.
    :param backoff_base: the first retry waits up to this many seconds; each retry doubles it.
    :param backoff_cap: no retry waits longer than this.
    :param rng: the random source for jitter.
    """

    def __init__(
        self,
        *,
        tokens: TokenSource,
        budget: RateBudget | None = None,
        api_url: str = DEFAULT_API_URL,
        timeout: tuple[float, float] = (5.0, 20.0),
        max_retries: int = 3,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        user_agent: str = "xero-panel",
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        rng: random.Random | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if max_wait < 0:
            raise ValueError("max_wait must be 0 or more")
        self.api_url = api_url.rstrip("/")
        self.accounting_url = f"{self.api_url}/api.xro/2.0"
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.user_agent = user_agent
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._tokens = tokens
        self._budget: RateBudget = budget if budget is not None else InProcessRateBudget()
        self._sleep = sleep
        self._clock = clock
        self._session = session if session is not None else requests.Session()
        self._rng = rng if rng is not None else random.Random()
        self._calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()

    @property
    def budget(self) -> RateBudget:
        """The rate budget this client consults."""
        return self._budget

    @property
    def calls_made(self) -> dict[str, int]:
        """HTTP calls sent so far, per tenant id (``"identity"`` for ``/connections``)."""
        with self._calls_lock:
            return dict(self._calls)

    # ----------------------------------------------------------------------------------------
    # Accounting API
    # ----------------------------------------------------------------------------------------

    def organisation(self, tenant_id: str) -> Organisation:
        """Fetch the organisation behind ``tenant_id`` (``GET /Organisation``)."""
        path = "/Organisation"
        response = self._get(tenant_id, path)
        assert response is not None
        return self._parse(response, path, _first_of("Organisations", parse_organisation))

    def iter_invoice_pages(
        self,
        tenant_id: str,
        *,
        modified_since: datetime | None = None,
        contact_ids: Sequence[str] | None = None,
        ids: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        where: str | None = None,
        order: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[Page[Invoice]]:
        """Yield invoices page by page (``GET /Invoices``).

        ``contact_ids`` and ``ids`` are sent in batches of at most :data:`ID_BATCH_SIZE`, each
        paged on its own; an empty sequence means "none", so nothing is fetched. Paging stops
        at the last page ``pagination`` names, or (without ``pagination``) at a page shorter
        than ``page_size``. Each :class:`Page` is a list that also carries ``item_count`` and
        ``server_time``; the first page is yielded even when empty (so its metadata arrives),
        later empty pages are not.

        :param modified_since: sent as ``If-Modified-Since``.
        :param statuses: e.g. ``["AUTHORISED", "PAID"]``.
        :param where: a Xero filter, e.g. ``'Type=="ACCREC"'`` (sales invoices only).
        :param order: e.g. ``"UpdatedDateUTC ASC"``.
        """
        base: dict[str, str] = {}
        if statuses:
            base["Statuses"] = ",".join(statuses)
        if where:
            base["where"] = where
        if order:
            base["order"] = order
        yield from self._iter_batches(
            tenant_id,
            "/Invoices",
            "Invoices",
            parse_invoice,
            base,
            {"ContactIDs": contact_ids, "IDs": ids},
            modified_since,
            page_size,
        )

    def get_invoice(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        """Fetch one invoice (``GET /Invoices/{id}``), or ``None`` if Xero has no such invoice."""
        path = f"/Invoices/{quote(invoice_id, safe='')}"
        response = self._get(tenant_id, path, not_found_ok=True)
        if response is None:
            return None
        return self._parse(response, path, _maybe_first_of("Invoices", parse_invoice))

    def iter_contact_pages(
        self,
        tenant_id: str,
        *,
        modified_since: datetime | None = None,
        ids: Sequence[str] | None = None,
        include_archived: bool = True,
        order: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[Page[Contact]]:
        """Yield contacts page by page (``GET /Contacts``); paging and batching as for
        :meth:`iter_invoice_pages`.

        :param include_archived: also return archived contacts (so merges and archiving show).
        :param order: e.g. ``"ContactID ASC"`` (a stable order for paging a full read).
        """
        base = {"includeArchived": "true" if include_archived else "false"}
        if order:
            base["order"] = order
        yield from self._iter_batches(
            tenant_id,
            "/Contacts",
            "Contacts",
            parse_contact,
            base,
            {"IDs": ids},
            modified_since,
            page_size,
        )

    def iter_credit_note_pages(
        self,
        tenant_id: str,
        *,
        modified_since: datetime | None = None,
        where: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[Page[CreditNote]]:
        """Yield credit notes page by page (``GET /CreditNotes``).

        Xero has no ``ContactIDs`` filter here; use ``where``, e.g.
        ``'Type=="ACCRECCREDIT"&&Contact.ContactID==GUID("...")'``.
        """
        base = {"where": where} if where else {}
        yield from self._iter_batches(
            tenant_id,
            "/CreditNotes",
            "CreditNotes",
            parse_credit_note,
            base,
            {},
            modified_since,
            page_size,
        )

    def online_invoice_url(self, tenant_id: str, invoice_id: str) -> str | None:
        """The customer-facing ``in.xero.com`` link of a sales invoice, or ``None`` if Xero
        has none (unknown invoice, or an empty answer). Xero answers 400 for drafts, which
        raises :class:`~xero_panel.exceptions.XeroAPIError`."""
        path = f"/Invoices/{quote(invoice_id, safe='')}/OnlineInvoice"
        response = self._get(tenant_id, path, not_found_ok=True)
        if response is None:
            return None

        def url(body: Any) -> str | None:
            for item in body.get("OnlineInvoices") or []:
                if item.get("OnlineInvoiceUrl"):
                    return str(item["OnlineInvoiceUrl"])
            return None

        return self._parse(response, path, url)

    # ----------------------------------------------------------------------------------------
    # Identity API (not tenant scoped, so not counted against a tenant's budget)
    # ----------------------------------------------------------------------------------------

    def connections(self) -> list[Connection]:
        """List the tenants this connection's tokens can reach (``GET /connections``)."""
        response = self._send("GET", f"{self.api_url}/connections", tenant_id=None)
        assert response is not None
        return self._parse(
            response, "/connections", lambda body: [parse_connection(c) for c in body]
        )

    def delete_connection(self, connection_id: str) -> bool:
        """Disconnect one tenant (``DELETE /connections/{id}``).

        :return: ``True`` if Xero removed it, ``False`` if it was already gone (404).
        """
        url = f"{self.api_url}/connections/{quote(connection_id, safe='')}"
        response = self._send("DELETE", url, tenant_id=None, not_found_ok=True)
        return response is not None

    # ----------------------------------------------------------------------------------------
    # Plumbing
    # ----------------------------------------------------------------------------------------

    def _iter_batches(
        self,
        tenant_id: str,
        path: str,
        key: str,
        parse: Callable[[Mapping[str, Any]], _T],
        base: Mapping[str, str],
        id_filters: Mapping[str, Sequence[str] | None],
        modified_since: datetime | None,
        page_size: int,
    ) -> Iterator[Page[_T]]:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        axes: list[list[tuple[str, str]]] = []
        for name, values in id_filters.items():
            if values is None:
                continue
            batches = _chunks(values, ID_BATCH_SIZE)
            if not batches:
                return
            axes.append([(name, ",".join(batch)) for batch in batches])
        for combination in itertools.product(*axes):
            params = {**base, **dict(combination)}
            yield from self._iter_pages(
                tenant_id, path, key, parse, params, modified_since, page_size
            )

    def _iter_pages(
        self,
        tenant_id: str,
        path: str,
        key: str,
        parse: Callable[[Mapping[str, Any]], _T],
        params: Mapping[str, str],
        modified_since: datetime | None,
        page_size: int,
    ) -> Iterator[Page[_T]]:
        headers = {}
        if modified_since is not None:
            headers["If-Modified-Since"] = format_if_modified_since(modified_since)
        page = 1
        while True:
            query = {**params, "page": str(page), "pageSize": str(page_size)}
            response = self._get(tenant_id, path, params=query, headers=headers)
            assert response is not None

            def read(body: Any, number: int = page) -> Page[_T]:
                pagination = parse_pagination(body.get("pagination"))
                stamp = body.get("DateTimeUTC")
                return Page(
                    [parse(item) for item in body.get(key) or []],
                    page=number,
                    page_count=None if pagination is None else pagination.page_count,
                    item_count=None if pagination is None else pagination.item_count,
                    server_time=parse_xero_datetime(stamp) if stamp else None,
                )

            result = self._parse(response, path, read)
            # The first page is yielded even when empty, so every query hands its caller
            # Xero's clock and counts; later empty pages carry nothing new.
            if result or page == 1:
                yield result
            raw_count = len(result)
            page_count = result.page_count
            if raw_count == 0:
                return
            # Trust Xero's page count when it sends one: if Xero caps pageSize below what we
            # asked for, "shorter than page_size" would stop after the first page.
            if page_count is not None:
                if page >= page_count:
                    return
            elif raw_count < page_size:
                return
            page += 1

    def _get(
        self,
        tenant_id: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        not_found_ok: bool = False,
    ) -> requests.Response | None:
        if not tenant_id:
            raise ValueError("tenant_id is required")
        return self._send(
            "GET",
            f"{self.accounting_url}{path}",
            tenant_id=tenant_id,
            params=params,
            headers=headers,
            not_found_ok=not_found_ok,
        )

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

    def _count(self, tenant_id: str | None) -> None:
        with self._calls_lock:
            self._calls[tenant_id or IDENTITY] += 1

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
        path = urlsplit(url).path
        waited = 0.0  # seconds spent waiting for the budget or Retry-After
        failures = 0  # 5xx answers, timeouts and dropped connections
        throttled = 0  # 429 answers
        refreshed = False
        token: str | None = None
        while True:
            if token is None:
                token = self._tokens.access_token()
            request_headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": self.user_agent,
                **(headers or {}),
            }
            slot: AbstractContextManager[None] = nullcontext()
            started_wait = self._clock()
            if tenant_id is not None:
                request_headers["xero-tenant-id"] = tenant_id
                slot = self._budget.acquire(tenant_id, max_wait=max(0.0, self.max_wait - waited))
            response: requests.Response | None = None
            error: requests.RequestException | None = None
            with slot:
                started = self._clock()
                waited += started - started_wait
                self._count(tenant_id)
                try:
                    response = self._session.request(
                        method,
                        url,
                        params=params,
                        headers=request_headers,
                        timeout=self.timeout,
                    )
                except (requests.ConnectionError, requests.Timeout) as exc:
                    error = exc
                duration = self._clock() - started

            if response is None:
                assert error is not None
                kind = type(error).__name__
                logger.warning("%s %s failed: %s after %.3f s", method, path, kind, duration)
                failures += 1
                if failures > self.max_retries:
                    raise XeroUnavailable(
                        f"Could not reach Xero ({kind}) after {failures} tries; "
                        "showing cached data, try again later.",
                        status=0,
                        detail=kind,
                    ) from error
                delay = self._backoff(failures)
                logger.warning("Retrying %s %s in %.2f s", method, path, delay)
                self._sleep(delay)
                token = None
                continue

            status = response.status_code
            logger.log(
                logging.DEBUG if status < 400 else logging.INFO,
                "%s %s -> %s in %.3f s",
                method,
                path,
                status,
                duration,
            )
            if tenant_id is not None:
                observed: Mapping[str, str] = response.headers
                if status != 429 and "Retry-After" in response.headers:
                    # Only a 429's Retry-After blocks the tenant; a 503's is a retry hint.
                    observed = {
                        k: v for k, v in response.headers.items() if k.lower() != "retry-after"
                    }
                self._budget.observe(tenant_id, observed)
            if status < 400:
                return response

            detail = _error_detail(response)
            if status == 401:
                if not refreshed and (detail or "").startswith("TokenExpired"):
                    refreshed = True
                    token = self._tokens.refresh_access_token(token)
                    continue
                raise AuthExpired(
                    f"Xero rejected this connection's access token ({detail or 'Unauthorized'}): "
                    "an admin must reconnect Xero."
                )
            if status == 403:
                raise AuthExpired(
                    f"Xero refused access to this organisation ({detail or 'Forbidden'}): "
                    "an admin must reconnect Xero."
                )
            if status == 404:
                if not_found_ok:
                    return None
                raise XeroAPIError(
                    f"Xero found nothing at {method} {path} ({detail or 'Not Found'}).",
                    status=404,
                    detail=detail,
                )
            if status == 429:
                problem = response.headers.get("X-Rate-Limit-Problem") or None
                retry_after = _retry_after_seconds(response, problem)
                throttled += 1
                if throttled > self.max_retries or waited + retry_after > self.max_wait:
                    raise RateLimited(
                        f"Xero's {problem or 'rate'} limit for this organisation was reached; "
                        f"try again in {max(1, round(retry_after + 0.4999))} s.",
                        retry_after=retry_after,
                        problem=problem,
                    )
                logger.warning(
                    "%s %s rate limited (%s); retrying in %.2f s",
                    method,
                    path,
                    problem,
                    retry_after,
                )
                self._sleep(retry_after)
                waited += retry_after
                token = None
                continue
            if status >= 500:
                failures += 1
                if failures > self.max_retries:
                    raise XeroUnavailable(
                        f"Xero is unavailable (HTTP {status}: {detail or 'no detail'}) after "
                        f"{failures} tries; showing cached data, try again later.",
                        status=status,
                        detail=detail,
                    )
                delay = self._backoff(failures)
                header = response.headers.get("Retry-After")
                if header is not None:
                    hinted = _retry_after_seconds(response, None)
                    if waited + hinted <= self.max_wait:
                        delay = max(delay, hinted)
                        waited += hinted
                logger.warning("Retrying %s %s in %.2f s (HTTP %s)", method, path, delay, status)
                self._sleep(delay)
                token = None
                continue
            raise XeroAPIError(
                f"Xero rejected {method} {path} (HTTP {status}): {detail or 'no detail'}",
                status=status,
                detail=detail,
            )


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


def _first_of(key: str, parse: Callable[[Mapping[str, Any]], _T]) -> Callable[[Any], _T]:
    def read(body: Any) -> _T:
        items = body.get(key) or []
        if not items:
            raise ValueError(f"no {key} in the answer")
        return parse(items[0])

    return read


def _maybe_first_of(
    key: str, parse: Callable[[Mapping[str, Any]], _T]
) -> Callable[[Any], _T | None]:
    def read(body: Any) -> _T | None:
        items = body.get(key) or []
        return parse(items[0]) if items else None

    return read

"""The one Xero API client: the Accounting API calls the panel makes, paging and parsing.

:class:`XeroClient` wraps a :class:`requests.Session`; :class:`~xero_panel.xero.transport.Sender`
sends each request through the rate budget, with retries, and maps Xero's errors to the
plugin's exceptions. Access tokens never appear in log records or exception messages: the log
says method, path, status and duration only. This module imports no Flask.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from .call_counter import CallCounter
from .call_kinds import CallKind
from .paging import ID_BATCH_SIZE, ListQuery, Page, Pager
from .rate_budget import InProcessRateBudget, RateBudget
from .transport import TokenSource
from .types import (
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
)

__all__ = ["DEFAULT_API_URL", "ID_BATCH_SIZE", "Page", "TokenSource", "XeroClient"]

#: Where Xero's APIs live; the Accounting API is under ``/api.xro/2.0``.
DEFAULT_API_URL = "https://api.xero.com"
_T = TypeVar("_T")


#: How long one call may wait for the rate budget or ``Retry-After`` by default (a person
#: may be waiting for it).
MAX_WAIT = 30.0


class XeroClient(Pager):
    """A client for the parts of Xero's API the panel reads.

    One client serves one Xero connection (one set of tokens), for any of its tenants. It is
    safe to share between threads.

    :param tokens: supplies and refreshes the access token; see :class:`TokenSource`.
    :param budget: the per-tenant rate budget; share one per process (or use
        :class:`~xero_panel.xero.redis_rate_budget.RedisRateBudget` across processes).
        Defaults to a new :class:`~xero_panel.xero.rate_budget.InProcessRateBudget`.
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
        max_wait: float = MAX_WAIT,
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
        #: Who the calls are for (:mod:`~xero_panel.xero.call_kinds`): their share of each
        #: minute and their priority at the budget. Interactive by default; the sync's jobs
        #: set it for background work.
        self.kind: CallKind = "refresh"
        #: How long Xero took to answer the last HTTP call, in seconds (time waiting for the
        #: budget or a Retry-After excluded); ``None`` before the first.
        self.last_call_seconds: float | None = None

    @property
    def budget(self) -> RateBudget:
        """The rate budget this client consults."""
        return self._budget

    @property
    def counter(self) -> CallCounter:
        """The count of this client's (and its budget's other clients') calls per tenant."""
        return self._budget.counter

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
        first_page: int = 1,
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
        :param first_page: the page to start from (a resumed full read).
        """
        query = ListQuery(
            tenant_id, "/Invoices", "Invoices", parse_invoice, modified_since, page_size, first_page
        )
        params = {"Statuses": ",".join(statuses or ()), "where": where, "order": order}
        yield from self._iter_batches(query, params, {"ContactIDs": contact_ids, "IDs": ids})

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
        first_page: int = 1,
    ) -> Iterator[Page[Contact]]:
        """Yield contacts page by page (``GET /Contacts``); paging and batching as for
        :meth:`iter_invoice_pages`.

        :param include_archived: also return archived contacts (so merges and archiving show).
        :param order: e.g. ``"ContactID ASC"`` (a stable order for paging a full read).
        """
        query = ListQuery(
            tenant_id, "/Contacts", "Contacts", parse_contact, modified_since, page_size, first_page
        )
        params = {"includeArchived": "true" if include_archived else "false", "order": order}
        yield from self._iter_batches(query, params, {"IDs": ids})

    def iter_credit_note_pages(
        self,
        tenant_id: str,
        *,
        modified_since: datetime | None = None,
        where: str | None = None,
        order: str | None = None,
        page_size: int = 1000,
        first_page: int = 1,
    ) -> Iterator[Page[CreditNote]]:
        """Yield credit notes page by page (``GET /CreditNotes``).

        Xero has no ``ContactIDs`` filter here; use ``where``, e.g.
        ``'Type=="ACCRECCREDIT"&&Contact.ContactID==GUID("...")'``.
        """
        query = ListQuery(
            tenant_id,
            "/CreditNotes",
            "CreditNotes",
            parse_credit_note,
            modified_since,
            page_size,
            first_page,
        )
        yield from self._iter_batches(query, {"where": where, "order": order}, {})

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

"""Paging through Xero's lists, and batching ID filters (the half of the client that pages).

Xero answers list queries (``/Invoices``, ``/Contacts``, ``/CreditNotes``) 100 to 1,000
records a page; the ``IDs``/``ContactIDs`` filters go in batches of :data:`ID_BATCH_SIZE`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import requests

from .dates import format_if_modified_since, parse_xero_datetime
from .transport import Sender
from .types import parse_pagination

__all__ = ["ID_BATCH_SIZE", "ListQuery", "Page", "Pager"]

#: Most IDs sent in one ``IDs``/``ContactIDs`` query parameter. Xero fails at about 53
#: (the URL gets too long and it answers 404), so stay clear of that.
ID_BATCH_SIZE = 50

_T = TypeVar("_T")


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

    def is_last(self, page_size: int) -> bool:
        """Whether no page comes after this one: it is empty, or Xero's page count says so,
        or (without one) it is shorter than ``page_size``. Xero's page count is trusted when
        sent: if Xero caps ``pageSize`` below what was asked, "shorter than page_size"
        would stop after the first page."""
        if not self:
            return True
        if self.page_count is not None:
            return self.page >= self.page_count
        return len(self) < page_size


def _chunks(values: Iterable[str], size: int) -> list[list[str]]:
    unique = list(dict.fromkeys(v for v in values if v))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


@dataclass(frozen=True)
class ListQuery(Generic[_T]):
    """One list read: whose (``tenant_id``), where (``path``, and the answer's ``key``), how
    to read each item (``parse``), since when, and how many per page."""

    tenant_id: str
    path: str
    key: str
    parse: Callable[[Mapping[str, Any]], _T]
    modified_since: datetime | None
    page_size: int
    #: The page to start from (a resumed read skips the pages it already stored).
    first_page: int = 1


class Pager(Sender):
    """Reads Xero's paged lists for :class:`~xero_panel.xero.client.XeroClient`."""

    accounting_url: str

    def _iter_batches(
        self,
        query: ListQuery[_T],
        params: Mapping[str, str | None],
        id_filters: Mapping[str, Sequence[str] | None],
    ) -> Iterator[Page[_T]]:
        """Page through ``query`` with ``params`` (empty ones left out), once per combination
        of ID batches; an empty ID filter means "none", so nothing is fetched."""
        if query.page_size < 1:
            raise ValueError("page_size must be at least 1")
        base = {name: value for name, value in params.items() if value}
        axes: list[list[tuple[str, str]]] = []
        for name, values in id_filters.items():
            if values is None:
                continue
            batches = _chunks(values, ID_BATCH_SIZE)
            if not batches:
                return
            axes.append([(name, ",".join(batch)) for batch in batches])
        for combination in itertools.product(*axes):
            yield from self._iter_pages(query, {**base, **dict(combination)})

    def _iter_pages(self, query: ListQuery[_T], params: Mapping[str, str]) -> Iterator[Page[_T]]:
        tenant_id, path, key, parse = query.tenant_id, query.path, query.key, query.parse
        modified_since, page_size = query.modified_since, query.page_size
        headers = {}
        if modified_since is not None:
            headers["If-Modified-Since"] = format_if_modified_since(modified_since)
        page = first = query.first_page
        while True:
            page_params = {**params, "page": str(page), "pageSize": str(page_size)}
            response = self._get(tenant_id, path, params=page_params, headers=headers)
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
            if result or page == first:
                yield result
            if result.is_last(page_size):
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

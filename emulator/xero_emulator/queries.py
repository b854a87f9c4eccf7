"""The Accounting API's reads over a tenant's data: filters, order, paging, one object.

Functions here take a :class:`~.store.TenantData` and the request's query arguments and return
the objects to send (already rendered in Xero's shape) or raise :class:`ApiError`.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .store import ID_FIELD, Kind, TenantData, date_ms, render_object
from .where import FIELDS, WhereError, compile_where

__all__ = [
    "ApiError",
    "ListResult",
    "get_object",
    "list_objects",
    "not_found",
    "validation_error",
]

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
_SUMMARY_DROP = ("LineItems", "Payments", "CreditNotes", "Prepayments", "Overpayments")
_DEFAULT_ORDER: dict[Kind, str] = {
    "Invoices": "UpdatedDateUTC ASC",
    "CreditNotes": "UpdatedDateUTC ASC",
    "Contacts": "Name ASC",
}


class ApiError(Exception):
    """An error answer: status, a JSON body (dict) or plain text, and extra headers."""

    def __init__(
        self, status: int, body: dict[str, Any] | str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def validation_error(message: str) -> ApiError:
    """Xero's 400 ``ValidationException`` body with one message."""
    return ApiError(
        400,
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [{"Message": message}]}],
        },
    )


def not_found() -> ApiError:
    """Xero's 404: a plain-text body."""
    return ApiError(404, "The resource you're looking for cannot be found")


class ListResult:
    """The objects of one list answer and its pagination (``None`` when not paged)."""

    def __init__(self, items: list[dict[str, Any]], pagination: dict[str, int] | None) -> None:
        self.items = items
        self.pagination = pagination


def _csv(args: Mapping[str, str], key: str) -> list[str] | None:
    raw = _arg(args, key)
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _arg(args: Mapping[str, str], key: str) -> str | None:
    # Xero's query parameter names are case-insensitive.
    lowered = key.lower()
    for name, value in args.items():
        if name.lower() == lowered:
            return value
    return None


def _flag(args: Mapping[str, str], key: str) -> bool:
    return (_arg(args, key) or "").strip().lower() == "true"


def _guids(values: Iterable[str], key: str) -> set[str]:
    out = set()
    for value in values:
        try:
            out.add(str(uuid.UUID(value)))
        except ValueError:
            raise validation_error(f"{key}: '{value}' is not a valid GUID") from None
    return out


def _sort_value(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    inner = getattr(value, "ms", None)
    if inner is None:
        inner = getattr(value, "value", value)
    if isinstance(inner, bool):
        inner = int(inner)
    return (1, inner)


def _order(kind: Kind, text: str) -> list[tuple[Callable[[Mapping[str, Any]], Any], bool]]:
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].upper() not in {"ASC", "DESC"}):
            raise validation_error(f"Invalid order: '{part.strip()}'")
        getter = FIELDS[kind].get(words[0].lower())
        if getter is None:
            raise validation_error(f"The emulator cannot order by '{words[0]}'")
        keys.append((getter, len(words) == 2 and words[1].upper() == "DESC"))
    if not keys:
        raise validation_error("Invalid order: ''")
    return keys


def _sort(kind: Kind, items: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    items = sorted(items, key=lambda o: str(o.get(ID_FIELD[kind], "")))
    for getter, descending in reversed(_order(kind, order)):
        items.sort(key=lambda o, g=getter: _sort_value(g(o)), reverse=descending)  # type: ignore[misc]
    return items


def _paging(args: Mapping[str, str]) -> tuple[int, int] | None:
    page_raw = _arg(args, "page")
    size_raw = _arg(args, "pageSize")
    if page_raw is None and size_raw is None:
        return None
    try:
        page = int(page_raw) if page_raw not in (None, "") else 1
        size = int(size_raw) if size_raw not in (None, "") else DEFAULT_PAGE_SIZE
    except ValueError:
        raise validation_error("page and pageSize must be whole numbers") from None
    if page < 1:
        page = 1
    if size < 1:
        raise validation_error("pageSize must be between 1 and 1000")
    return page, min(size, MAX_PAGE_SIZE)


#: Stores with at least this many objects of a kind keep each list call's filtered, ordered
#: list until the next change, so paging through a million invoices filters and sorts once
#: instead of once a page. Smaller stores are filtered and sorted on every call.
CACHE_MIN_OBJECTS = 2000
_CACHE_ENTRIES = 8


def list_objects(
    kind: Kind,
    tenant: TenantData,
    args: Mapping[str, str],
    if_modified_since_ms: int | None,
) -> ListResult:
    """Answer ``GET /Invoices``, ``/Contacts`` or ``/CreditNotes``.

    :raises ApiError: for invalid parameters (Xero's 400 validation body).
    """
    items = _selected(kind, tenant, args, if_modified_since_ms)
    paging = _paging(args)
    pagination = None
    if paging is not None:
        page, size = paging
        pagination = {
            "page": page,
            "pageSize": size,
            "pageCount": math.ceil(len(items) / size),
            "itemCount": len(items),
        }
        items = items[(page - 1) * size : page * size]
    rendered = [render_object(kind, o) for o in items]
    if kind != "Contacts":
        if _flag(args, "summaryOnly"):
            for obj in rendered:
                for key in _SUMMARY_DROP:
                    obj.pop(key, None)
        elif paging is None:
            # Without paging, Xero's multi-invoice GET leaves the line items out.
            for obj in rendered:
                obj.pop("LineItems", None)
    return ListResult(rendered, pagination)


def _selected(
    kind: Kind, tenant: TenantData, args: Mapping[str, str], if_modified_since_ms: int | None
) -> list[dict[str, Any]]:
    """The objects a list call selects, in its order (all pages), cached for large stores."""
    if len(tenant.objects(kind)) < CACHE_MIN_OBJECTS:
        return _filter_and_sort(kind, tenant, args, if_modified_since_ms)
    query = tuple(
        sorted((k.lower(), v) for k, v in args.items() if k.lower() not in {"page", "pagesize"})
    )
    key = (kind, query, if_modified_since_ms)
    cached = tenant.list_cache.get(key)
    if cached is not None and cached[0] == tenant.revision:
        return cached[1]
    items = _filter_and_sort(kind, tenant, args, if_modified_since_ms)
    if len(tenant.list_cache) >= _CACHE_ENTRIES:
        tenant.list_cache.pop(next(iter(tenant.list_cache)))
    tenant.list_cache[key] = (tenant.revision, items)
    return items


def _filter_and_sort(
    kind: Kind, tenant: TenantData, args: Mapping[str, str], if_modified_since_ms: int | None
) -> list[dict[str, Any]]:
    items = list(tenant.objects(kind).values())
    id_key = ID_FIELD[kind]
    ids = _csv(args, "IDs")
    if ids is not None:
        wanted = _guids(ids, "IDs")
        items = [o for o in items if o[id_key] in wanted]
    if kind == "Invoices":
        numbers = _csv(args, "InvoiceNumbers")
        if numbers is not None:
            wanted_numbers = set(numbers)
            items = [o for o in items if o.get("InvoiceNumber") in wanted_numbers]
        contact_ids = _csv(args, "ContactIDs")
        if contact_ids is not None:
            wanted = _guids(contact_ids, "ContactIDs")
            items = [o for o in items if str(o["Contact"].get("ContactID", "")).lower() in wanted]
        statuses = _csv(args, "Statuses")
        if statuses is not None:
            wanted_statuses = {s.upper() for s in statuses}
            items = [o for o in items if o.get("Status") in wanted_statuses]
    where = _arg(args, "where")
    if where:
        try:
            predicate = compile_where(where, kind)
            items = [o for o in items if predicate(o)]
        except WhereError as exc:
            raise validation_error(str(exc)) from None
    explicit_status = "contactstatus" in (where or "").lower()
    if kind == "Contacts" and not _flag(args, "includeArchived") and not explicit_status:
        items = [o for o in items if o.get("ContactStatus") != "ARCHIVED"]
    term = (_arg(args, "searchTerm") or "").strip().lower()
    if term:
        fields = {
            "Contacts": ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress"),
            "Invoices": ("InvoiceNumber", "Reference"),
            "CreditNotes": ("CreditNoteNumber", "Reference"),
        }[kind]
        items = [o for o in items if any(term in str(o.get(f) or "").lower() for f in fields)]
    if if_modified_since_ms is not None:
        # Xero compares to the second: anything updated in or after that second is returned.
        since = if_modified_since_ms // 1000
        items = [o for o in items if ((date_ms(o, "UpdatedDateUTC") or 0) // 1000) >= since]
    return _sort(kind, items, _arg(args, "order") or _DEFAULT_ORDER[kind])


_NUMBER_FIELD: dict[Kind, str] = {
    "Invoices": "InvoiceNumber",
    "Contacts": "ContactNumber",
    "CreditNotes": "CreditNoteNumber",
}


def get_object(kind: Kind, tenant: TenantData, key: str) -> dict[str, Any]:
    """``GET /Invoices/{InvoiceID or InvoiceNumber}``, and likewise ``/Contacts/{ContactID or
    ContactNumber}`` and ``/CreditNotes/{CreditNoteID or CreditNoteNumber}``.

    :raises ApiError: 404.
    """
    objects = tenant.objects(kind)
    found = None
    with contextlib.suppress(ValueError):
        found = objects.get(str(uuid.UUID(key)))
    if found is None:
        number_key = _NUMBER_FIELD[kind]
        found = next((o for o in objects.values() if o.get(number_key) == key), None)
    if found is None:
        raise not_found()
    return render_object(kind, found)

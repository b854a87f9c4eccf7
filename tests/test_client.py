from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from contextlib import AbstractContextManager
from copy import deepcopy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from tests._xero_fixtures import (
    ACCESS_TOKEN,
    API,
    NEW_ACCESS_TOKEN,
    OTHER_TENANT,
    T0,
    TENANT,
    FakeClock,
    FakeTokens,
    example,
    example_text,
)
from xero_panel.exceptions import AuthExpired, RateLimited, XeroAPIError, XeroUnavailable
from xero_panel.xero.call_counter import CallCount
from xero_panel.xero.client import ID_BATCH_SIZE, XeroClient
from xero_panel.xero.rate_budget import (
    ARRIVAL_MARGIN,
    BACKGROUND_MAX_WAIT,
    BudgetUsage,
    InProcessRateBudget,
)

INVOICES = f"{API}/Invoices"
CONTACTS = f"{API}/Contacts"
CREDIT_NOTES = f"{API}/CreditNotes"
ORGANISATION = f"{API}/Organisation"
CONNECTIONS = "https://api.xero.com/connections"
INVOICE_ID = "046d8a6d-1ae1-4b4d-9340-5601bdf41b87"

TOKEN_EXPIRED = {
    "Type": None,
    "Title": "Unauthorized",
    "Status": 401,
    "Detail": "TokenExpired: token expired at 04/09/2023 05:16:59",
    "Instance": "a8d1a4a4-1f36-4a4a-9a43-6b6f5b1a1f36",
    "Extensions": {},
}
VALIDATION_ERROR = {
    "ErrorNumber": 10,
    "Type": "ValidationException",
    "Message": "A validation exception occurred",
    "Elements": [
        {"ValidationErrors": [{"Message": "Invalid where clause"}, {"Message": "Bad order"}]}
    ],
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def budget(clock: FakeClock) -> InProcessRateBudget:
    return InProcessRateBudget(clock=clock, sleep=clock.sleep)


@pytest.fixture
def client(tokens: FakeTokens, budget: InProcessRateBudget, clock: FakeClock) -> XeroClient:
    return XeroClient(
        tokens=tokens, budget=budget, sleep=clock.sleep, clock=clock, rng=random.Random(7)
    )


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _query(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def _invoice(n: int) -> dict[str, Any]:
    body = deepcopy(example("invoices_list")["Invoices"][2])
    body["InvoiceID"] = f"00000000-0000-4000-8000-{n:012d}"
    body["InvoiceNumber"] = f"INV-{n:04d}"
    return body


def _invoice_page(first: int, count: int, page_count: int | None = None) -> str:
    body: dict[str, Any] = {
        "Status": "OK",
        "Invoices": [_invoice(first + i) for i in range(count)],
    }
    if page_count is not None:
        body["pagination"] = {
            "page": 1,
            "pageSize": 100,
            "pageCount": page_count,
            "itemCount": count,
        }
    return json.dumps(body, default=str)


def _numbers(pages: list[list[Any]]) -> list[str]:
    return [item.number for page in pages for item in page]


# ---------------------------------------------------------------------------------------------
# Headers, URLs, counting
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "value"),
    [
        pytest.param("Authorization", f"Bearer {ACCESS_TOKEN}", id="bearer-token"),
        pytest.param("xero-tenant-id", TENANT, id="tenant-header"),
        pytest.param("Accept", "application/json", id="accepts-json"),
    ],
)
def test_request_sends_header(
    client: XeroClient, mocked: responses.RequestsMock, header: str, value: str
) -> None:
    mocked.get(ORGANISATION, body=example_text("organisation"))
    client.organisation(TENANT)
    assert mocked.calls[0].request.headers[header] == value


def test_request_sends_user_agent(tokens: FakeTokens, mocked: responses.RequestsMock) -> None:
    mocked.get(ORGANISATION, body=example_text("organisation"))
    XeroClient(tokens=tokens, user_agent="acme-crm/1.0").organisation(TENANT)
    assert mocked.calls[0].request.headers["User-Agent"] == "acme-crm/1.0"


def test_request_uses_timeout(tokens: FakeTokens, mocked: responses.RequestsMock) -> None:
    session = requests.Session()
    seen: list[Any] = []
    original = session.request

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["timeout"])
        return original(*args, **kwargs)

    session.request = spy  # type: ignore[method-assign]
    mocked.get(ORGANISATION, body=example_text("organisation"))
    XeroClient(tokens=tokens, session=session, timeout=(2.0, 9.0)).organisation(TENANT)
    assert seen == [(2.0, 9.0)]


def test_api_url_points_at_emulator(tokens: FakeTokens, mocked: responses.RequestsMock) -> None:
    mocked.get("http://127.0.0.1:5055/api.xro/2.0/Organisation", body=example_text("organisation"))
    org = XeroClient(tokens=tokens, api_url="http://127.0.0.1:5055/").organisation(TENANT)
    assert org.short_code == "!mBdtL"


def test_calls_counted_per_tenant(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(ORGANISATION, body=example_text("organisation"))
    mocked.get(CONNECTIONS, body=example_text("connections"))
    client.organisation(TENANT)
    client.organisation(TENANT)
    client.organisation(OTHER_TENANT)
    client.connections()
    # /connections belongs to no tenant: it is counted against none.
    assert client.counter.count(TENANT) == CallCount(today=2, this_minute=2, sent=2)
    assert client.counter.count(OTHER_TENANT) == CallCount(today=1, this_minute=1, sent=1)
    assert client.counter.count("identity") == CallCount(today=0, this_minute=0, sent=0)


def test_calls_counted_once_in_the_budgets_counter(
    tokens: FakeTokens, mocked: responses.RequestsMock
) -> None:
    budget = InProcessRateBudget()
    first = XeroClient(tokens=tokens, budget=budget)
    second = XeroClient(tokens=tokens, budget=budget)
    mocked.get(ORGANISATION, body=example_text("organisation"))
    first.organisation(TENANT)
    second.organisation(TENANT)
    assert first.counter is second.counter is budget.counter
    assert budget.counter.count(TENANT).today == budget.usage(TENANT).day_used == 2


def test_empty_tenant_id_rejected(client: XeroClient) -> None:
    with pytest.raises(ValueError, match="tenant_id"):
        client.organisation("")


# ---------------------------------------------------------------------------------------------
# Organisation, single invoice, online invoice
# ---------------------------------------------------------------------------------------------


def test_organisation_parsed(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(ORGANISATION, body=example_text("organisation"))
    org = client.organisation(TENANT)
    assert (org.short_code, org.timezone, org.base_currency) == (
        "!mBdtL",
        "Pacific/Auckland",
        "NZD",
    )


def test_organisation_empty_answer_raises(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, json={"Organisations": []})
    with pytest.raises(XeroAPIError) as info:
        client.organisation(TENANT)
    assert info.value.status == 200


def test_unreadable_answer_raises_api_error(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, body="<html>login</html>", content_type="text/html")
    with pytest.raises(XeroAPIError, match="cannot read"):
        client.organisation(TENANT)


def test_get_invoice_found(client: XeroClient, mocked: responses.RequestsMock) -> None:
    body = dict(example("invoices_list"), Invoices=[example("invoices_list")["Invoices"][1]])
    mocked.get(f"{INVOICES}/{INVOICE_ID}", body=json.dumps(body, default=str))
    invoice = client.get_invoice(TENANT, INVOICE_ID)
    assert invoice is not None
    assert (invoice.number, invoice.amount_paid) == ("INV-0002", Decimal("46.00"))


def test_get_invoice_keeps_exact_amounts(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{INVOICES}/{INVOICE_ID}", body=example_text("invoices_list"))
    invoice = client.get_invoice(TENANT, INVOICE_ID)
    assert invoice is not None
    assert str(invoice.total) == "40.00"


def test_get_invoice_not_found_is_none(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{INVOICES}/{INVOICE_ID}", status=404, body="")
    assert client.get_invoice(TENANT, INVOICE_ID) is None


def test_get_invoice_quotes_the_id(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{INVOICES}/a%2Fb", status=404, body="")
    assert client.get_invoice(TENANT, "a/b") is None


def test_online_invoice_url(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{INVOICES}/{INVOICE_ID}/OnlineInvoice", body=example_text("online_invoice"))
    assert client.online_invoice_url(TENANT, INVOICE_ID) == (
        "https://in.xero.com/bCWCCfytGdTXoJam9HENWlQt07G6zcDaj4gQojHu"
    )


def test_online_invoice_url_not_found(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{INVOICES}/{INVOICE_ID}/OnlineInvoice", status=404)
    assert client.online_invoice_url(TENANT, INVOICE_ID) is None


def test_online_invoice_url_empty_list(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{INVOICES}/{INVOICE_ID}/OnlineInvoice", json={"OnlineInvoices": []})
    assert client.online_invoice_url(TENANT, INVOICE_ID) is None


# ---------------------------------------------------------------------------------------------
# Paging and filters
# ---------------------------------------------------------------------------------------------


def test_invoice_pages_default_query(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(INVOICES, body=_invoice_page(1, 2))
    list(client.iter_invoice_pages(TENANT))
    assert _query(mocked.calls[0]) == {"page": "1", "pageSize": "1000"}


def test_invoice_pages_filters_in_query(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(INVOICES, body=_invoice_page(1, 2))
    list(
        client.iter_invoice_pages(
            TENANT,
            statuses=["AUTHORISED", "PAID"],
            where='Type=="ACCREC"',
            order="UpdatedDateUTC ASC",
            page_size=100,
        )
    )
    assert _query(mocked.calls[0]) == {
        "Statuses": "AUTHORISED,PAID",
        "where": 'Type=="ACCREC"',
        "order": "UpdatedDateUTC ASC",
        "page": "1",
        "pageSize": "100",
    }


@pytest.mark.parametrize(
    ("page_size", "second_page", "yielded"),
    [
        pytest.param(
            3,
            1,
            [(1, ["INV-0001", "INV-0002", "INV-0003"]), (2, ["INV-0004"])],
            id="stop-on-short-page",
        ),
        pytest.param(
            3,
            0,
            [(1, ["INV-0001", "INV-0002", "INV-0003"])],
            id="full-last-page-needs-one-empty-page",
        ),
        pytest.param(2, 0, [(1, ["INV-0001", "INV-0002"])], id="trailing-empty-page-not-yielded"),
    ],
)
def test_invoice_pages_end(
    client: XeroClient,
    mocked: responses.RequestsMock,
    page_size: int,
    second_page: int,
    yielded: list[tuple[int, list[str]]],
) -> None:
    """A full first page, then a short or empty one: two calls; an empty page is not
    yielded."""
    mocked.get(INVOICES, body=_invoice_page(1, page_size))
    mocked.get(INVOICES, body=_invoice_page(page_size + 1, second_page))
    pages = list(client.iter_invoice_pages(TENANT, page_size=page_size))
    assert (len(mocked.calls), [(p.page, _numbers([p])) for p in pages]) == (2, yielded)


def test_invoice_pages_ask_for_next_page(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(INVOICES, body=_invoice_page(1, 3))
    mocked.get(INVOICES, body=_invoice_page(4, 1))
    list(client.iter_invoice_pages(TENANT, page_size=3))
    assert [_query(c)["page"] for c in mocked.calls] == ["1", "2"]


def test_invoice_pages_stop_when_pagination_says_last(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(INVOICES, body=_invoice_page(1, 3, page_count=1))
    pages = list(client.iter_invoice_pages(TENANT, page_size=3))
    assert (len(mocked.calls), len(pages)) == (1, 1)


def test_invoice_pages_follow_page_count_when_pages_are_short(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    # Xero capping pageSize below what we asked for must not end the sync early.
    mocked.get(INVOICES, body=_invoice_page(1, 3, page_count=2))
    mocked.get(INVOICES, body=_invoice_page(4, 3, page_count=2))
    pages = list(client.iter_invoice_pages(TENANT, page_size=1000))
    assert (len(mocked.calls), len(_numbers(pages))) == (2, 6)


def test_invoice_pages_empty_result(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(INVOICES, body=_invoice_page(1, 0, page_count=0))
    assert (list(client.iter_invoice_pages(TENANT)), len(mocked.calls)) == ([[]], 1)


def test_invoice_pages_carry_xero_metadata(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(INVOICES, body=example_text("invoices_list"))
    (page,) = list(client.iter_invoice_pages(TENANT))
    assert (page.page, page.page_count, page.item_count, page.server_time) == (
        1,
        1,
        3,
        datetime(2019, 3, 11, 17, 53, 36, 230000, tzinfo=UTC),
    )


def test_invoice_pages_empty_first_page_still_carries_server_time(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(INVOICES, json={"DateTimeUTC": "/Date(1552326816230)/", "Invoices": []})
    (page,) = list(client.iter_invoice_pages(TENANT, modified_since=datetime(2019, 3, 1)))
    assert (page, page.server_time) == ([], datetime(2019, 3, 11, 17, 53, 36, 230000, tzinfo=UTC))


def test_invoice_pages_without_envelope_metadata(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(INVOICES, body=_invoice_page(1, 1))
    (page,) = list(client.iter_invoice_pages(TENANT))
    assert (page.page_count, page.item_count, page.server_time) == (None, None, None)


def test_invoice_pages_example_body(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(INVOICES, body=example_text("invoices_list"))
    (page,) = list(client.iter_invoice_pages(TENANT))
    paid = page[1]
    assert (paid.date, paid.payments[0].date, paid.amount_paid) == (
        date(2018, 10, 20),
        date(2018, 11, 29),
        Decimal("46.00"),
    )


def test_invoice_pages_if_modified_since_header(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(INVOICES, body=_invoice_page(1, 1))
    since = datetime(2018, 11, 2, 16, 36, 32, 690000, tzinfo=UTC)
    list(client.iter_invoice_pages(TENANT, modified_since=since))
    assert mocked.calls[0].request.headers["If-Modified-Since"] == "2018-11-02T16:36:32Z"


def test_invoice_pages_if_modified_since_on_every_page(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(INVOICES, body=_invoice_page(1, 2))
    mocked.get(INVOICES, body=_invoice_page(3, 1))
    since = datetime(2024, 1, 1, tzinfo=UTC)
    list(client.iter_invoice_pages(TENANT, modified_since=since, page_size=2))
    assert [c.request.headers["If-Modified-Since"] for c in mocked.calls] == [
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00Z",
    ]


def test_invoice_pages_no_if_modified_since_by_default(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(INVOICES, body=_invoice_page(1, 1))
    list(client.iter_invoice_pages(TENANT))
    assert "If-Modified-Since" not in mocked.calls[0].request.headers


def test_invoice_pages_contact_ids_batched_by_fifty(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(120)]
    mocked.get(INVOICES, body=_invoice_page(1, 0))
    list(client.iter_invoice_pages(TENANT, contact_ids=ids))
    batches = [_query(c)["ContactIDs"].split(",") for c in mocked.calls]
    assert ([len(b) for b in batches], [i for b in batches for i in b]) == ([50, 50, 20], ids)


def test_invoice_pages_batch_size_is_below_xeros_limit() -> None:
    assert ID_BATCH_SIZE <= 50


def test_invoice_pages_ids_batched(client: XeroClient, mocked: responses.RequestsMock) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(51)]
    mocked.get(INVOICES, body=_invoice_page(1, 0))
    list(client.iter_invoice_pages(TENANT, ids=ids))
    assert [len(_query(c)["IDs"].split(",")) for c in mocked.calls] == [50, 1]


def test_invoice_pages_each_batch_paged(client: XeroClient, mocked: responses.RequestsMock) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(60)]
    mocked.get(INVOICES, body=_invoice_page(1, 2))
    mocked.get(INVOICES, body=_invoice_page(3, 1))
    mocked.get(INVOICES, body=_invoice_page(4, 1))
    pages = list(client.iter_invoice_pages(TENANT, contact_ids=ids, page_size=2))
    assert [(_query(c)["page"], len(_query(c)["ContactIDs"].split(","))) for c in mocked.calls] == [
        ("1", 50),
        ("2", 50),
        ("1", 10),
    ]
    assert len(_numbers(pages)) == 4


def test_invoice_pages_duplicate_ids_sent_once(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(INVOICES, body=_invoice_page(1, 0))
    list(client.iter_invoice_pages(TENANT, contact_ids=["a", "b", "a"]))
    assert _query(mocked.calls[0])["ContactIDs"] == "a,b"


def test_invoice_pages_empty_id_list_makes_no_call(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    assert list(client.iter_invoice_pages(TENANT, contact_ids=[])) == []
    assert len(mocked.calls) == 0


def test_invoice_pages_bad_page_size(client: XeroClient) -> None:
    with pytest.raises(ValueError, match="page_size"):
        list(client.iter_invoice_pages(TENANT, page_size=0))


def test_contact_pages_include_archived(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(CONTACTS, body=example_text("contacts_list"))
    (page,) = list(client.iter_contact_pages(TENANT))
    assert _query(mocked.calls[0])["includeArchived"] == "true"
    assert [c.name for c in page] == ["Katherine Warren", "Lisa Parker"]


def test_contact_pages_exclude_archived(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(CONTACTS, body=example_text("contacts_list"))
    list(client.iter_contact_pages(TENANT, include_archived=False))
    assert _query(mocked.calls[0])["includeArchived"] == "false"


def test_contact_pages_ids_batched(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(CONTACTS, json={"Contacts": []})
    list(client.iter_contact_pages(TENANT, ids=[f"id-{n}" for n in range(101)]))
    assert [len(_query(c)["IDs"].split(",")) for c in mocked.calls] == [50, 50, 1]


def test_contact_pages_if_modified_since(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(CONTACTS, json={"Contacts": []})
    list(client.iter_contact_pages(TENANT, modified_since=datetime(2024, 5, 1, 8, 30)))
    assert mocked.calls[0].request.headers["If-Modified-Since"] == "2024-05-01T08:30:00Z"


def test_credit_note_pages(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(CREDIT_NOTES, body=example_text("credit_notes_list"))
    where = 'Type=="ACCRECCREDIT"'
    (page,) = list(client.iter_credit_note_pages(TENANT, where=where))
    assert _query(mocked.calls[0]) == {"where": where, "page": "1", "pageSize": "1000"}
    assert [(n.number, n.remaining_credit) for n in page] == [
        ("CN-0005", Decimal("32.50")),
        ("", Decimal("46.00")),
    ]


# ---------------------------------------------------------------------------------------------
# Connections (identity API)
# ---------------------------------------------------------------------------------------------


def test_connections_parsed(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(CONNECTIONS, body=example_text("connections"))
    (connection,) = client.connections()
    assert (connection.tenant_id, connection.created_at) == (
        TENANT,
        datetime(2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC),
    )


def test_connections_sends_no_tenant_header(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(CONNECTIONS, body=example_text("connections"))
    client.connections()
    assert "xero-tenant-id" not in mocked.calls[0].request.headers


def test_delete_connection_removed(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.delete(f"{CONNECTIONS}/7cb59f93-2964-421d-bb5e-a0f7a4572a44", status=204)
    assert client.delete_connection("7cb59f93-2964-421d-bb5e-a0f7a4572a44") is True


def test_delete_connection_already_gone(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.delete(f"{CONNECTIONS}/7cb59f93-2964-421d-bb5e-a0f7a4572a44", status=404)
    assert client.delete_connection("7cb59f93-2964-421d-bb5e-a0f7a4572a44") is False


# ---------------------------------------------------------------------------------------------
# 401 / 403
# ---------------------------------------------------------------------------------------------


def test_token_expired_refreshes_once_then_succeeds(
    client: XeroClient, tokens: FakeTokens, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, status=401, json=TOKEN_EXPIRED)
    mocked.get(ORGANISATION, body=example_text("organisation"))
    assert client.organisation(TENANT).short_code == "!mBdtL"
    assert tokens.refresh_calls == [ACCESS_TOKEN]


def test_token_expired_retry_uses_new_token(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, status=401, json=TOKEN_EXPIRED)
    mocked.get(ORGANISATION, body=example_text("organisation"))
    client.organisation(TENANT)
    assert mocked.calls[1].request.headers["Authorization"] == f"Bearer {NEW_ACCESS_TOKEN}"


def test_token_expired_twice_raises_auth_expired(
    client: XeroClient, tokens: FakeTokens, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, status=401, json=TOKEN_EXPIRED)
    with pytest.raises(AuthExpired):
        client.organisation(TENANT)
    assert (len(tokens.refresh_calls), len(mocked.calls)) == (1, 2)


def test_token_expired_refresh_failure_propagates(
    tokens: FakeTokens, client: XeroClient, mocked: responses.RequestsMock
) -> None:
    tokens.refreshed = None
    mocked.get(ORGANISATION, status=401, json=TOKEN_EXPIRED)
    with pytest.raises(AuthExpired) as info:
        client.organisation(TENANT)
    assert str(info.value) == "The Xero refresh token was rejected: an admin must reconnect Xero."
    assert len(mocked.calls) == 1


_ERRORS = [
    (
        401,
        {"json": dict(TOKEN_EXPIRED, Detail="AuthorizationUnsuccessful")},
        AuthExpired,
        "Xero rejected this connection's access token (AuthorizationUnsuccessful): "
        "an admin must reconnect Xero.",
    ),
    (
        403,
        {"json": {"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}},
        AuthExpired,
        "Xero refused access to this organisation (AuthenticationUnsuccessful): "
        "an admin must reconnect Xero.",
    ),
    (
        429,
        {"headers": {"Retry-After": "120", "X-Rate-Limit-Problem": "day"}},
        RateLimited,
        "Xero's day limit for this organisation was reached; try again in 120 s.",
    ),
    (
        503,
        {"body": "Organisation offline", "content_type": "text/plain"},
        XeroUnavailable,
        "Xero is unavailable (HTTP 503: Organisation offline) after 4 tries; "
        "showing cached data, try again later.",
    ),
]


@pytest.mark.parametrize(
    ("status", "answer", "error", "message"), _ERRORS, ids=["other-401", "403", "429", "503"]
)
def test_error_messages(
    client: XeroClient,
    tokens: FakeTokens,
    mocked: responses.RequestsMock,
    status: int,
    answer: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    """What each error says; none of them refreshes the token (only TokenExpired does)."""
    mocked.get(ORGANISATION, status=status, **answer)
    with pytest.raises(error) as info:
        client.organisation(TENANT)
    assert str(info.value) == message
    assert tokens.refresh_calls == []


# ---------------------------------------------------------------------------------------------
# 400 / 404
# ---------------------------------------------------------------------------------------------


def test_400_raises_with_validation_messages(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(INVOICES, status=400, json=VALIDATION_ERROR)
    with pytest.raises(XeroAPIError) as info:
        list(client.iter_invoice_pages(TENANT, where="nonsense"))
    assert (info.value.status, info.value.detail) == (400, "Invalid where clause; Bad order")
    assert str(info.value) == (
        "Xero rejected GET /api.xro/2.0/Invoices (HTTP 400): Invalid where clause; Bad order"
    )


def test_400_not_retried(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(INVOICES, status=400, json=VALIDATION_ERROR)
    with pytest.raises(XeroAPIError):
        list(client.iter_invoice_pages(TENANT))
    assert len(mocked.calls) == 1


def test_404_raises_where_not_expected(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(INVOICES, status=404, body="The resource you're looking for cannot be found")
    with pytest.raises(XeroAPIError) as info:
        list(client.iter_invoice_pages(TENANT, ids=["x"]))
    assert (info.value.status, info.value.detail) == (
        404,
        "The resource you're looking for cannot be found",
    )


# ---------------------------------------------------------------------------------------------
# 429
# ---------------------------------------------------------------------------------------------


def test_429_retry_after_honoured(
    client: XeroClient, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    headers = {"Retry-After": "7", "X-Rate-Limit-Problem": "minute"}
    mocked.get(ORGANISATION, status=429, headers=headers)
    mocked.get(ORGANISATION, body=example_text("organisation"))
    client.organisation(TENANT)
    assert (clock.sleeps, len(mocked.calls)) == ([7.0], 2)


def test_429_retry_after_too_long_raises_rate_limited(
    client: XeroClient, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    headers = {"Retry-After": "120", "X-Rate-Limit-Problem": "day"}
    mocked.get(ORGANISATION, status=429, headers=headers)
    with pytest.raises(RateLimited) as info:
        client.organisation(TENANT)
    assert (info.value.retry_after, info.value.problem, clock.sleeps) == (120.0, "day", [])


@pytest.fixture
def blocked(client: XeroClient, mocked: responses.RequestsMock) -> XeroClient:
    """The client after Xero answered 429 with Retry-After: 120 (too long to wait)."""
    mocked.get(ORGANISATION, status=429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited):
        client.organisation(TENANT)
    return client


def test_429_blocks_tenant_in_budget(blocked: XeroClient, budget: InProcessRateBudget) -> None:
    assert budget.usage(TENANT).blocked_until == T0 + 120


def test_429_blocked_tenant_makes_no_call(
    blocked: XeroClient, mocked: responses.RequestsMock
) -> None:
    with pytest.raises(RateLimited):
        blocked.organisation(TENANT)
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    ("headers", "slept"),
    [
        pytest.param({"X-Rate-Limit-Problem": "concurrent"}, 1.0, id="problem-default"),
        pytest.param({"Retry-After": "Tue, 14 Nov 2000 22:14:00 GMT"}, 0.0, id="date-in-past"),
        pytest.param({"Retry-After": "soon"}, 1.0, id="unreadable-uses-default"),
    ],
)
def test_429_without_a_usable_retry_after(
    client: XeroClient,
    clock: FakeClock,
    mocked: responses.RequestsMock,
    headers: dict[str, str],
    slept: float,
) -> None:
    """No Retry-After: the problem's default wait; an HTTP date already past: retry at
    once; an unreadable one: the default."""
    mocked.get(ORGANISATION, status=429, headers=headers)
    mocked.get(ORGANISATION, body=example_text("organisation"))
    client.organisation(TENANT)
    assert clock.sleeps == [slept]


def test_429_gives_up_after_max_retries(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(ORGANISATION, status=429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimited):
        client.organisation(TENANT)
    assert len(mocked.calls) == 4


def test_429_waits_add_up_to_max_wait(
    tokens: FakeTokens, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    client = XeroClient(
        tokens=tokens,
        budget=InProcessRateBudget(clock=clock, sleep=clock.sleep),
        sleep=clock.sleep,
        clock=clock,
        max_wait=25,
        max_retries=10,
    )
    mocked.get(ORGANISATION, status=429, headers={"Retry-After": "10"})
    with pytest.raises(RateLimited):
        client.organisation(TENANT)
    assert clock.sleeps == [10.0, 10.0]


# ---------------------------------------------------------------------------------------------
# 5xx and network errors
# ---------------------------------------------------------------------------------------------


def test_503_plain_text_retried_then_succeeds(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, status=503, body="Organisation offline", content_type="text/plain")
    mocked.get(ORGANISATION, body=example_text("organisation"))
    assert client.organisation(TENANT).short_code == "!mBdtL"
    assert len(mocked.calls) == 2


def test_503_gives_up_with_xero_unavailable(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, status=503, body="Organisation offline", content_type="text/plain")
    with pytest.raises(XeroUnavailable) as info:
        client.organisation(TENANT)
    assert (info.value.status, info.value.detail, len(mocked.calls)) == (
        503,
        "Organisation offline",
        4,
    )


def test_5xx_backoff_is_full_jitter_and_grows(
    client: XeroClient, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, status=500, body="oops")
    with pytest.raises(XeroUnavailable):
        client.organisation(TENANT)
    ceilings = [0.5, 1.0, 2.0]
    assert len(clock.sleeps) == 3
    assert all(0 <= s <= c for s, c in zip(clock.sleeps, ceilings, strict=True))


def test_5xx_backoff_capped(tokens: FakeTokens, mocked: responses.RequestsMock) -> None:
    clock = FakeClock()
    client = XeroClient(
        tokens=tokens, sleep=clock.sleep, clock=clock, max_retries=8, backoff_cap=1.5
    )
    mocked.get(ORGANISATION, status=502, body="bad gateway")
    with pytest.raises(XeroUnavailable):
        client.organisation(TENANT)
    assert max(clock.sleeps) <= 1.5


@pytest.fixture
def maintenance(mocked: responses.RequestsMock) -> responses.RequestsMock:
    """Xero answers 503 with Retry-After: 5 (planned maintenance), then the organisation."""
    mocked.get(ORGANISATION, status=503, body="maintenance", headers={"Retry-After": "5"})
    mocked.get(ORGANISATION, body=example_text("organisation"))
    return mocked


def test_503_retry_after_respected(
    client: XeroClient, clock: FakeClock, maintenance: responses.RequestsMock
) -> None:
    client.organisation(TENANT)
    assert clock.sleeps == [5.0]


def test_max_retries_zero_fails_fast(tokens: FakeTokens, mocked: responses.RequestsMock) -> None:
    clock = FakeClock()
    client = XeroClient(tokens=tokens, sleep=clock.sleep, clock=clock, max_retries=0)
    mocked.get(ORGANISATION, status=503, body="down")
    with pytest.raises(XeroUnavailable):
        client.organisation(TENANT)
    assert (len(mocked.calls), clock.sleeps) == (1, [])


def test_connection_error_retried_then_succeeds(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, body=requests.ConnectionError("connection reset"))
    mocked.get(ORGANISATION, body=example_text("organisation"))
    assert client.organisation(TENANT).short_code == "!mBdtL"


def test_timeout_retried_then_xero_unavailable(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(XeroUnavailable) as info:
        client.organisation(TENANT)
    assert (info.value.status, len(mocked.calls)) == (0, 4)
    assert str(info.value) == (
        "Xero was too slow to answer (ReadTimeout) after 4 tries; showing cached data, try again"
        " later."
    )


def test_timeout_keeps_cause(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(ORGANISATION, body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(XeroUnavailable) as info:
        client.organisation(TENANT)
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectTimeout)


# ---------------------------------------------------------------------------------------------
# The rate budget
# ---------------------------------------------------------------------------------------------


class SpyBudget:
    """Records acquire/release/observe around each HTTP call."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.inner = InProcessRateBudget()
        self.counter = self.inner.counter

    def acquire(
        self, tenant_id: str, *, max_wait: float, kind: str = "refresh"
    ) -> AbstractContextManager[None]:
        spy = self

        class Slot(AbstractContextManager[None]):
            def __enter__(self) -> None:
                spy.events.append(f"acquire {tenant_id}")

            def __exit__(self, *exc: object) -> None:
                spy.events.append("release")

        return Slot()

    def observe(self, tenant_id: str, headers: Any) -> None:
        self.events.append("observe")

    def usage(self, tenant_id: str) -> BudgetUsage:
        return self.inner.usage(tenant_id)


def test_budget_consulted_before_every_call(
    tokens: FakeTokens, mocked: responses.RequestsMock
) -> None:
    events: list[str] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        events.append("http")
        page = parse_qs(urlsplit(request.url).query)["page"][0]
        return 200, {}, _invoice_page(1, 2 if page == "1" else 1)

    mocked.add_callback(responses.GET, INVOICES, callback=answer)
    client = XeroClient(tokens=tokens, budget=SpyBudget(events))
    list(client.iter_invoice_pages(TENANT, page_size=2))
    assert len(mocked.calls) == 2
    assert events == [f"acquire {TENANT}", "http", "release", "observe"] * 2


def test_budget_consulted_on_retries(
    tokens: FakeTokens, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    events: list[str] = []
    client = XeroClient(tokens=tokens, budget=SpyBudget(events), sleep=clock.sleep, clock=clock)
    mocked.get(ORGANISATION, status=503, body="down")
    mocked.get(ORGANISATION, body=example_text("organisation"))
    client.organisation(TENANT)
    assert events.count(f"acquire {TENANT}") == len(mocked.calls) == 2


def minute_spent(
    tokens: FakeTokens, clock: FakeClock, mocked: responses.RequestsMock, *, max_wait: float
) -> XeroClient:
    """A client whose budget allows one call a minute, waiting at most ``max_wait``, that
    has just made its call."""
    budget = InProcessRateBudget(per_minute=1, clock=clock, sleep=clock.sleep)
    client = XeroClient(
        tokens=tokens, budget=budget, sleep=clock.sleep, clock=clock, max_wait=max_wait
    )
    mocked.get(ORGANISATION, body=example_text("organisation"))
    client.organisation(TENANT)
    return client


def test_budget_refusal_makes_no_http_call(
    tokens: FakeTokens, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    client = minute_spent(tokens, clock, mocked, max_wait=5)
    with pytest.raises(RateLimited) as info:
        client.organisation(TENANT)
    assert (info.value.problem, len(mocked.calls)) == ("minute", 1)


def test_a_background_client_waits_a_whole_window_for_the_budget(
    tokens: FakeTokens, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    """With the sync's wait, the call after a spent minute waits for room (a minute plus
    the arrival margin) instead of raising."""
    client = minute_spent(tokens, clock, mocked, max_wait=BACKGROUND_MAX_WAIT)
    client.organisation(TENANT)
    assert clock.sleeps == [60.0 + ARRIVAL_MARGIN]


def test_budget_wait_within_max_wait(
    tokens: FakeTokens, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    client = minute_spent(tokens, clock, mocked, max_wait=61)
    client.organisation(TENANT)
    # A call stays counted for Xero's 60 s plus the arrival margin.
    assert clock.sleeps == [60.0 + ARRIVAL_MARGIN]


def test_budget_learns_from_response_headers(
    client: XeroClient, budget: InProcessRateBudget, mocked: responses.RequestsMock
) -> None:
    headers = {"X-MinLimit-Remaining": "50", "X-DayLimit-Remaining": "4000"}
    mocked.get(ORGANISATION, body=example_text("organisation"), headers=headers)
    client.organisation(TENANT)
    assert budget.usage(TENANT) == BudgetUsage(10, 1000, 0, None)


def test_budget_not_used_for_connections(
    client: XeroClient, budget: InProcessRateBudget, mocked: responses.RequestsMock
) -> None:
    mocked.get(CONNECTIONS, body=example_text("connections"))
    client.connections()
    assert budget.usage("identity") == BudgetUsage(0, 0, 0, None)


def test_budget_slot_released_after_error(
    client: XeroClient, budget: InProcessRateBudget, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, status=403, json={"Detail": "AuthenticationUnsuccessful"})
    with pytest.raises(AuthExpired):
        client.organisation(TENANT)
    assert budget.usage(TENANT).concurrent == 0


def test_default_budget_is_in_process(tokens: FakeTokens, mocked: responses.RequestsMock) -> None:
    client = XeroClient(tokens=tokens)
    budget = client.budget
    assert type(budget) is InProcessRateBudget
    assert (budget.per_minute, budget.per_day, budget.concurrent) == (60, 5000, 5)  # Xero's
    assert XeroClient(tokens=tokens).budget is not budget  # each client's own, nothing shared
    mocked.get(ORGANISATION, body=example_text("organisation"))
    client.organisation(TENANT)
    assert budget.usage(TENANT) == BudgetUsage(1, 1, 0, None)  # the call was counted


# ---------------------------------------------------------------------------------------------
# No secrets in logs or errors
# ---------------------------------------------------------------------------------------------


def test_log_line_has_method_path_status_duration(
    client: XeroClient, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.get(ORGANISATION, body=example_text("organisation"))
    with caplog.at_level(logging.DEBUG, logger="xero_panel.xero.client"):
        client.organisation(TENANT)
    assert [r.getMessage() for r in caplog.records] == [
        "GET /api.xro/2.0/Organisation -> 200 in 0.000 s"
    ]


def test_tokens_never_logged(
    client: XeroClient, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.get(ORGANISATION, status=401, json=TOKEN_EXPIRED)
    mocked.get(ORGANISATION, status=503, body="down")
    mocked.get(ORGANISATION, body=requests.ConnectionError(f"Bearer {NEW_ACCESS_TOKEN}"))
    mocked.get(ORGANISATION, status=429, headers={"Retry-After": "1"})
    mocked.get(ORGANISATION, status=403, json={"Detail": "AuthenticationUnsuccessful"})
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthExpired):
        client.organisation(TENANT)
    assert len(caplog.records) >= 5
    assert ACCESS_TOKEN not in caplog.text
    assert NEW_ACCESS_TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"Detail": "AuthorizationUnsuccessful"}, AuthExpired),
        (403, {"Detail": "AuthenticationUnsuccessful"}, AuthExpired),
        (400, VALIDATION_ERROR, XeroAPIError),
        (404, {"Detail": "Not found"}, XeroAPIError),
        (429, {}, RateLimited),
        (503, {"Detail": "down"}, XeroUnavailable),
    ],
)
def test_tokens_never_in_exception_text(
    client: XeroClient,
    mocked: responses.RequestsMock,
    status: int,
    body: dict[str, Any],
    error: type[Exception],
) -> None:
    mocked.get(INVOICES, status=status, json=body, headers={"Retry-After": "999"})
    with pytest.raises(error) as info:
        list(client.iter_invoice_pages(TENANT))
    text = f"{info.value} {info.value.args} {vars(info.value)}"
    assert ACCESS_TOKEN not in text
    assert "Bearer" not in text


def test_network_error_text_has_no_token(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(ORGANISATION, body=requests.ConnectionError(f"Bearer {ACCESS_TOKEN}"))
    with pytest.raises(XeroUnavailable) as info:
        client.organisation(TENANT)
    assert ACCESS_TOKEN not in f"{info.value} {info.value.detail}"


# ---------------------------------------------------------------------------------------------
# Construction
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"max_retries": -1}, {"max_wait": -1}])
def test_client_rejects_bad_settings(tokens: FakeTokens, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        XeroClient(tokens=tokens, **kwargs)


def test_503_retry_after_does_not_block_tenant(
    client: XeroClient, budget: InProcessRateBudget, maintenance: responses.RequestsMock
) -> None:
    client.organisation(TENANT)
    assert budget.usage(TENANT).blocked_until is None


def test_error_body_without_detail(client: XeroClient, mocked: responses.RequestsMock) -> None:
    mocked.get(INVOICES, status=400, json=["unexpected"])
    with pytest.raises(XeroAPIError) as info:
        list(client.iter_invoice_pages(TENANT))
    assert info.value.detail is None


def test_online_invoice_url_skips_blank_entries(
    client: XeroClient, mocked: responses.RequestsMock
) -> None:
    body = {
        "OnlineInvoices": [{"OnlineInvoiceUrl": ""}, {"OnlineInvoiceUrl": "https://in.xero.com/x"}]
    }
    mocked.get(f"{INVOICES}/{INVOICE_ID}/OnlineInvoice", json=body)
    assert client.online_invoice_url(TENANT, INVOICE_ID) == "https://in.xero.com/x"

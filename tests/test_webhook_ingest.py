"""Webhook ingest within Xero's 5 s: a delivery of thousands of events is stored in one
statement and answered; events of organisations no CRM account uses are dropped and
counted; concurrent deliveries on SQLite are both accepted; the body limit still holds
before the signature is checked. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from tests._sync_support import SyncHost
from tests.webhook_support import KEY, URL, event, payload, post
from xero_panel.models import WebhookEvent, WebhookTenant
from xero_panel.sync.webhook_ingest import UNKNOWN_TENANTS, dropped_events
from xero_panel.web.request_guard import WEBHOOK_MAX_BYTES
from xero_panel.web.webhook_routes import signature_of


@pytest.fixture
def hooked(
    make_host: Callable[..., Any], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SyncHost, list[Any]]]:
    """A host whose background fetch is recorded, not run: these tests are about what the
    route stores and answers (the fetch has its own tests in tests/test_webhooks.py)."""
    h = SyncHost(make_host, database_url, webhook_key=KEY)
    handed: list[Any] = []
    monkeypatch.setattr(h.scheduler, "start_webhook", lambda events: handed.append(events))
    yield h, handed
    h.close()


def events_of(h: SyncHost, n: int, tenant_id: str | None = None) -> list[dict[str, Any]]:
    made = []
    for _ in range(n):
        one = event(h, str(uuid.uuid4()))
        if tenant_id is not None:
            one["tenantId"] = tenant_id
        made.append(one)
    return made


def stored(h: SyncHost) -> int:
    with h.state_session() as session:
        return int(session.scalar(select(func.count(WebhookEvent.id))) or 0)


def inserts_into_events(h: SyncHost) -> list[str]:
    """Start recording the SQL statements that write ``xero_panel_webhook_event``."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO XERO_PANEL_WEBHOOK_EVENT"):
            seen.append(statement)

    with h.app.app_context():
        sa_event.listen(h.host.db.engine, "before_cursor_execute", before)
    return seen


def test_delivery_of_5000_events_is_accepted_and_stored_in_one_statement(
    hooked: tuple[SyncHost, list[Any]],
) -> None:
    h, handed = hooked
    body = payload(*events_of(h, 5000))
    assert 1_400_000 < len(body) < WEBHOOK_MAX_BYTES  # over 0.2's 1 MiB limit
    statements = inserts_into_events(h)
    response = post(h, body)
    assert response.status_code == 200 and response.get_data() == b""
    assert stored(h) == 5000
    assert len(statements) == 1
    assert [len(events) for events in handed] == [5000]


def test_redelivery_stores_nothing_new_and_hands_nothing_on(
    hooked: tuple[SyncHost, list[Any]],
) -> None:
    h, handed = hooked
    events = events_of(h, 20)
    assert post(h, payload(*events)).status_code == 200
    assert post(h, payload(*events[10:], *events_of(h, 3))).status_code == 200
    assert stored(h) == 23
    assert [len(e) for e in handed] == [20, 3]


def test_duplicates_inside_one_delivery_are_stored_once(
    hooked: tuple[SyncHost, list[Any]],
) -> None:
    h, handed = hooked
    events = events_of(h, 5)
    assert post(h, payload(*events, *events)).status_code == 200
    with h.state_session() as session:
        rows = session.scalars(select(WebhookEvent.resource_id)).all()
    # Each of the five once (and whatever else is there named too, should a row of some
    # other test's ever turn up: the oldest dependencies' run once counted 6).
    assert sorted(r for r in rows if r in {e["resourceId"] for e in events}) == sorted(
        e["resourceId"] for e in events
    ), rows
    assert [len(e) for e in handed] == [5]


def test_events_of_unknown_organisations_are_dropped_and_counted(
    hooked: tuple[SyncHost, list[Any]],
) -> None:
    h, handed = hooked
    stranger = str(uuid.uuid4())
    body = payload(*events_of(h, 3), *events_of(h, 4, tenant_id=stranger))
    assert post(h, body).status_code == 200
    assert post(h, payload(*events_of(h, 2, tenant_id=stranger))).status_code == 200
    assert stored(h) == 3
    with h.state_session() as session:
        assert dropped_events(session) == 6
        tenants = set(session.scalars(select(WebhookTenant.tenant_id)))
    assert tenants == {h.tenant_id, UNKNOWN_TENANTS}  # no row for the stranger
    assert [len(e) for e in handed] == [3]


def test_delivery_only_of_unknown_organisations_stores_nothing(
    hooked: tuple[SyncHost, list[Any]],
) -> None:
    h, handed = hooked
    body = payload(*events_of(h, 7, tenant_id=str(uuid.uuid4())))
    assert post(h, body).status_code == 200
    assert stored(h) == 0 and handed == []
    with h.state_session() as session:
        assert dropped_events(session) == 7


def test_delivery_notes_the_tenant_heard(hooked: tuple[SyncHost, list[Any]]) -> None:
    h, _ = hooked
    assert post(h, payload(*events_of(h, 1))).status_code == 200
    with h.state_session() as session:
        heard = session.get(WebhookTenant, h.tenant_id)
        assert heard is not None and heard.last_delivery_at is not None
        assert heard.arriving_since == heard.last_delivery_at and heard.failed_at is None


def test_body_over_the_limit_is_413_before_the_signature_is_checked(
    hooked: tuple[SyncHost, list[Any]],
) -> None:
    h, _ = hooked
    body = b" " * (WEBHOOK_MAX_BYTES + 1)
    assert post(h, body, signature="bm9wZQ==").status_code == 413  # not 401
    assert post(h, b" ", signature="bm9wZQ==").status_code == 401


def test_two_concurrent_deliveries_are_both_accepted(
    hooked: tuple[SyncHost, list[Any]],
) -> None:
    h, handed = hooked
    url = h.serve() + URL
    bodies = [payload(*events_of(h, 2500)) for _ in range(2)]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def deliver(body: bytes) -> None:
        headers = {"x-xero-signature": signature_of(body, KEY), "Content-Type": "application/json"}
        barrier.wait()
        statuses.append(requests.post(url, data=body, headers=headers, timeout=60).status_code)

    threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert statuses == [200, 200]
    assert stored(h) == 5000
    assert sorted(len(e) for e in handed) == [2500, 2500]

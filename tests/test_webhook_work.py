"""What one per-organisation webhook job costs the database: a fixed number of statements,
whatever the number of events it fetches (sync/webhook_work.py, sync/job_runs.py,
sync/webhook_retries.py). Counted with SQLAlchemy's ``before_cursor_execute``, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from tests._sync_support import SyncHost
from tests.clock import Clock
from tests.conftest import REDIS_URL, require_service
from tests.webhook_support import KEY, event, payload, post
from xero_panel.models import WebhookEvent
from xero_panel.sync.webhook_retries import stored_as

#: The most statements one ``webhook_tenant`` job of one organisation may run (0.3's first
#: version ran 16 + one per event): take the pending events and hold them (1), look the
#: organisations up with their connections and sync states (1), the client's tokens (1),
#: the call counted for the day (4, only without Redis), the fetched page stored (4:
#: invoices, payments, the update, the contacts it names), the success (1), the events
#: marked processed (1).
MOST_STATEMENTS = 13


@pytest.fixture
def hooked(make_host: Callable[..., Any], database_url: str) -> Iterator[SyncHost]:
    h = SyncHost(make_host, database_url, webhook_key=KEY)
    h.full_sync()
    yield h
    h.close()


def statements_of_a_job(h: SyncHost, n_events: int, tag: str) -> list[str]:
    """Deliver ``n_events`` events naming invoices Xero changed, then run the one job they
    queue; the SQL it ran."""
    queued: list[tuple[Any, ...]] = []
    h.scheduler.runner.submit = lambda *job: queued.append(job)  # run below, counted
    invoices = [i["InvoiceID"] for i in h.seed["tenants"][0]["Invoices"]][:n_events]
    events = []
    for n, invoice_id in enumerate(invoices):
        h.emulator.apply_change(
            "Invoices",
            h.tenant_id,
            {"InvoiceID": invoice_id, "Reference": f"{tag} {n}"},
            fire_webhook=False,
        )
        events.append({**event(h, invoice_id), "eventDateUtc": f"2026-07-01T01:{tag}:{n:02d}"})
    assert post(h, payload(*events)).status_code == 200
    assert queued == [("webhook_tenant", h.tenant_id.lower())]
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with h.app.app_context():
        engine = h.host.db.engine
    sa_event.listen(engine, "before_cursor_execute", note)
    try:
        with h.app.app_context():
            h.scheduler.execute(queued[0][0], queued[0][1:])
    finally:
        sa_event.remove(engine, "before_cursor_execute", note)
    references = {i: h.invoice(i).reference for i in invoices}
    assert references == {i: f"{tag} {n}" for n, i in enumerate(invoices)}  # all fetched
    return statements


def test_webhook_job_statements_do_not_grow_with_its_events(hooked: SyncHost) -> None:
    one = statements_of_a_job(hooked, 1, "01")
    many = statements_of_a_job(hooked, 12, "02")
    assert len(many) == len(one), "\n".join(many)
    assert len(one) <= MOST_STATEMENTS, "\n".join(one)


def test_webhook_job_marks_every_event_processed_in_one_update(
    clock: Clock, hooked: SyncHost
) -> None:
    statements = statements_of_a_job(hooked, 5, "03")
    marks = [s for s in statements if s.lstrip().upper().startswith("UPDATE XERO_PANEL_WEBHOOK")]
    assert len(marks) <= 2  # taking them (held while fetched), then marking them processed
    with hooked.state_session() as session:
        rows = session.scalars(select(WebhookEvent)).all()
    assert {(r.processed_at, r.next_attempt_at, r.last_error) for r in rows} == {
        (clock.now, None, None)
    }


def test_stored_as_no_events_matches_no_row(hooked: SyncHost) -> None:
    post(hooked, payload(event(hooked, hooked.invoice_like(Type="ACCREC")["InvoiceID"])))
    hooked.wait_idle()
    with hooked.state_session() as session:
        assert session.scalars(select(WebhookEvent.id)).all() != []
        assert session.scalars(select(WebhookEvent.id).where(stored_as([]))).all() == []


#: The same job with Redis (the day's call count lives there, not in the database).
MOST_STATEMENTS_WITH_REDIS = 9


@pytest.mark.redis
def test_webhook_job_statements_with_redis(
    make_host: Callable[..., Any], database_url: str, redis_prefix: str
) -> None:
    require_service("Redis", REDIS_URL, 6379)
    h = SyncHost(
        make_host,
        database_url,
        webhook_key=KEY,
        XERO_PANEL_REDIS_URL=REDIS_URL,
        XERO_PANEL_REDIS_PREFIX=f"{redis_prefix}:",
        XERO_PANEL_RQ_QUEUE=f"{redis_prefix}-queue",
    )
    try:
        with h.app.app_context():
            h.scheduler.run_full_sync(h.org_id)
        one = statements_of_a_job(h, 1, "04")
        many = statements_of_a_job(h, 12, "05")
    finally:
        h.close()
    assert len(many) == len(one) <= MOST_STATEMENTS_WITH_REDIS, "\n".join(many)

"""The webhook route: signatures, Intent to Receive, de-duplication, CSRF, end to end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from xero_emulator import sign_webhook

from tests._sync_support import SyncHost
from tests.clock import Clock
from tests.webhook_support import KEY, URL, event, payload, post, wait_until
from xero_panel.models import WebhookEvent
from xero_panel.web.webhook_routes import signature_of


@pytest.fixture
def hooked(make_host: Callable[..., Any], tmp_path: Any) -> Iterator[SyncHost]:
    h = SyncHost(make_host, f"sqlite:///{tmp_path}/hook.db", webhook_key=KEY)
    h.full_sync()
    yield h
    h.close()


def events_stored(h: SyncHost) -> int:
    with h.state_session() as session:
        return int(session.scalar(select(func.count()).select_from(WebhookEvent)))


def test_signature_matches_the_emulators() -> None:
    assert signature_of(b'{"a":1}', KEY) == sign_webhook(b'{"a":1}', KEY)


def test_webhook_bad_signature_401(hooked: SyncHost) -> None:
    response = post(hooked, payload(), signature="bm9wZQ==")
    assert response.status_code == 401
    assert response.data == b""


def test_webhook_missing_signature_401(hooked: SyncHost) -> None:
    response = hooked.app.test_client().post(URL, data=payload())
    assert response.status_code == 401


def test_webhook_intent_to_receive_200_empty_no_cookies(hooked: SyncHost) -> None:
    response = post(hooked, payload())
    assert response.status_code == 200
    assert response.data == b""
    assert "Set-Cookie" not in response.headers


def test_webhook_without_key_404(make_host: Callable[..., Any], tmp_path: Any) -> None:
    h = SyncHost(make_host, f"sqlite:///{tmp_path}/nokey.db")
    try:
        assert post(h, payload()).status_code == 404
    finally:
        h.close()


def test_webhook_intent_to_receive_check_passes(hooked: SyncHost) -> None:
    hooked.emulator.webhooks.url = hooked.serve() + URL
    result = hooked.emulator.webhooks.intent_to_receive()
    assert result["ok"] is True
    assert all(check["body_empty"] for check in result["checks"])


def test_webhook_refreshes_the_named_invoice(hooked: SyncHost) -> None:
    invoice = hooked.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
    hooked.emulator.apply_change(
        "Invoices",
        hooked.tenant_id,
        {"InvoiceID": invoice["InvoiceID"], "Status": "VOIDED"},
        fire_webhook=False,
    )
    hooked.emulator.reset_stats()
    assert post(hooked, payload(event(hooked, invoice["InvoiceID"]))).status_code == 200
    hooked.wait_idle()
    assert hooked.invoice(invoice["InvoiceID"]).status == "VOIDED"
    assert hooked.calls()["by_endpoint"] == {"Invoices": 1}


def test_webhook_duplicate_delivery_processed_once(hooked: SyncHost) -> None:
    invoice = hooked.invoice_like(Type="ACCREC")
    body = payload(event(hooked, invoice["InvoiceID"]))
    post(hooked, body)
    hooked.wait_idle()
    post(hooked, body)
    hooked.wait_idle()
    assert events_stored(hooked) == 1
    assert hooked.calls()["by_endpoint"] == {"Invoices": 1}


def test_webhook_marks_events_processed(clock: Clock, hooked: SyncHost) -> None:
    jobs: list[tuple[Any, ...]] = []
    submit = hooked.scheduler.runner.submit
    hooked.scheduler.runner.submit = lambda *job: jobs.append(job)  # held back for now
    post(hooked, payload(event(hooked, hooked.invoice_like(Type="ACCREC")["InvoiceID"])))
    assert stored_event(hooked).processed_at is None  # stored, not yet fetched
    assert jobs == [("webhook_tenant", hooked.tenant_id.lower())]
    clock.advance(seconds=5)
    submit(*jobs[0])
    assert hooked.wait_idle()
    row = stored_event(hooked)
    assert (row.processed_at, row.last_error) == (clock.now, None)  # when its fetch ended


def test_webhook_supplier_credit_note_needs_no_call(hooked: SyncHost) -> None:
    note = event(hooked, "8d4e1a2b-0000-4000-8000-000000000001", "CREDITNOTE")
    note["data"] = {"Type": "ACCPAYCREDIT", "Status": "AUTHORISED"}
    post(hooked, payload(note))
    hooked.wait_idle()
    assert hooked.calls()["calls"] == 0


def test_webhook_contact_event_fetches_the_contact(hooked: SyncHost) -> None:
    post(hooked, payload(event(hooked, hooked.contact_id(1), "CONTACT")))
    hooked.wait_idle()
    assert hooked.calls()["by_endpoint"] == {"Contacts": 1}


def test_webhook_exempt_from_csrf_protect_set_up_after(make_host: Any, tmp_path: Any) -> None:
    from flask_wtf.csrf import CSRFProtect

    h = SyncHost(make_host, f"sqlite:///{tmp_path}/csrf.db", webhook_key=KEY)
    try:
        h.app.add_url_rule("/echo", "echo", lambda: "ok", methods=["POST"])
        CSRFProtect(h.app)
        assert post(h, payload()).status_code == 200
        assert h.app.test_client().post("/echo").status_code == 400  # CSRF still on
    finally:
        h.close()


def test_webhook_change_visible_in_next_view(hooked: SyncHost) -> None:
    """Xero's webhook for a payment reaches the cache without the cache going stale: the
    next panel view shows it. (How soon: benchmarks/bench_latency.py.)"""
    hooked.emulator.webhooks.url = hooked.serve() + URL
    invoice = hooked.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
    hooked.emulator.reset_stats()
    hooked.emulator.add_payment(hooked.tenant_id, invoice["InvoiceID"], {"Amount": 2})

    def visible() -> bool:
        hooked.view()  # what the panel does before it reads the cache
        return bool(hooked.invoice(invoice["InvoiceID"]).payments)

    wait_until(visible)
    assert [str(p.amount) for p in hooked.invoice(invoice["InvoiceID"]).payments] == ["2.00"]
    # The webhook's fetch brought it, not a refresh of a stale cache.
    assert hooked.calls()["by_endpoint"] == {"Invoices": 1}


# -- durability and retries -----------------------------------------------------------------


@pytest.fixture
def retrying(make_host: Callable[..., Any], database_url: str) -> Iterator[SyncHost]:
    """A host on SQLite and PostgreSQL whose webhook retries come quickly (0.2 s, doubling)."""
    h = SyncHost(make_host, database_url, webhook_key=KEY)
    h.full_sync()
    h.scheduler.webhook_retries.base = 0.2
    h.scheduler.webhook_retries.cap = 5.0
    yield h
    h.close()


def stored_event(h: SyncHost) -> WebhookEvent:
    with h.state_session() as session:
        row = session.scalars(select(WebhookEvent)).one()
        return row


def paid_in_xero(h: SyncHost) -> dict[str, Any]:
    """An open invoice, paid 3.00 in Xero with no webhook sent yet."""
    invoice = h.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
    h.emulator.add_payment(h.tenant_id, invoice["InvoiceID"], {"Amount": 3})
    return invoice


def test_retry_delay_doubles_up_to_the_cap() -> None:
    from xero_panel.sync.webhook_retries import retry_delay

    assert [retry_delay(n, 30, 3600) for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def recorded_retry_delays(h: SyncHost) -> list[float]:
    """The delays of every job the scheduler's runner is asked to run later, as it is asked."""
    delays: list[float] = []
    submit_later = h.scheduler.runner.submit_later

    def record(delay: float, job: Any, *args: Any) -> None:
        delays.append(delay)
        submit_later(delay, job, *args)

    h.scheduler.runner.submit_later = record
    return delays


def test_webhook_failed_fetch_is_retried_with_backoff_until_it_succeeds(
    retrying: SyncHost,
) -> None:
    h = retrying
    delays = recorded_retry_delays(h)
    invoice = paid_in_xero(h)
    h.emulator.add_fault({"endpoint": "Invoices", "status": 400})

    assert post(h, payload(event(h, invoice["InvoiceID"]))).status_code == 200
    wait_until(lambda: stored_event(h).attempts >= 3)
    failed = stored_event(h)
    assert failed.processed_at is None and failed.last_error
    assert delays[:3] == [0.2, 0.4, 0.8]  # backoff: each wait twice the last
    assert not h.invoice(invoice["InvoiceID"]).payments

    h.emulator.faults.clear()
    wait_until(lambda: stored_event(h).processed_at is not None)
    done = stored_event(h)
    assert done.next_attempt_at is None and done.last_error is None
    assert [p.amount for p in h.invoice(invoice["InvoiceID"]).payments] == [3]


def test_webhook_retries_stop_at_the_limit(retrying: SyncHost) -> None:
    h = retrying
    h.scheduler.webhook_retries.base = 0.05
    h.scheduler.webhook_retries.limit = 3
    delays = recorded_retry_delays(h)
    invoice = paid_in_xero(h)
    h.emulator.add_fault({"endpoint": "Invoices", "status": 400})

    assert post(h, payload(event(h, invoice["InvoiceID"]))).status_code == 200
    wait_until(lambda: stored_event(h).attempts >= 3)
    assert h.wait_idle()  # the third try's job has ended
    assert delays == [0.05, 0.1]  # two retries scheduled, none after the third try
    row = stored_event(h)
    assert row.attempts == 3
    assert row.next_attempt_at is None and row.processed_at is None
    assert str(row.last_error).startswith("Given up after 3 attempts")
    assert h.calls()["by_endpoint"] == {"Invoices": 3}


def test_webhook_answers_503_until_its_events_are_stored(
    retrying: SyncHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    h = retrying
    invoice = paid_in_xero(h)
    body = payload(event(h, invoice["InvoiceID"]))

    def database_down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(h.scheduler.webhook_work, "store", database_down)
    response = post(h, body)
    assert response.status_code == 503  # Xero delivers it again
    assert events_stored(h) == 0
    monkeypatch.undo()

    assert post(h, body).status_code == 200  # the redelivery
    wait_until(lambda: stored_event(h).processed_at is not None)
    assert [p.amount for p in h.invoice(invoice["InvoiceID"]).payments] == [3]


def test_webhook_stored_but_not_queued_is_retried_by_the_sweep(
    clock: Clock, retrying: SyncHost
) -> None:
    """The hand-off to the background fails (Redis gone): still 200, since the event is
    stored; a later panel view finds it due and queues it."""
    h = retrying
    invoice = paid_in_xero(h)
    submit = h.scheduler.runner.submit

    def redis_gone(*args: Any) -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    h.scheduler.runner.submit = redis_gone
    assert post(h, payload(event(h, invoice["InvoiceID"]))).status_code == 200
    assert stored_event(h).processed_at is None
    h.scheduler.runner.submit = submit

    clock.advance(seconds=1)  # the event's retry is due (0.2 s)
    h.view()
    wait_until(lambda: stored_event(h).processed_at is not None)
    assert [p.amount for p in h.invoice(invoice["InvoiceID"]).payments] == [3]

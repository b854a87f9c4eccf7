"""The webhook route: signatures, Intent to Receive, de-duplication, CSRF, end to end."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from xero_emulator import sign_webhook

from tests._sync_support import SyncHost
from xero_panel.models import WebhookEvent
from xero_panel.web.webhook_routes import signature_of

KEY = "test-webhook-key"
URL = "/integrations/xero/webhooks"


@pytest.fixture
def hooked(make_host: Callable[..., Any], tmp_path: Any) -> Iterator[SyncHost]:
    h = SyncHost(make_host, f"sqlite:///{tmp_path}/hook.db", webhook_key=KEY)
    h.full_sync()
    yield h
    h.close()


def payload(*events: dict[str, Any]) -> bytes:
    body = {
        "events": list(events),
        "firstEventSequence": 1,
        "lastEventSequence": len(events),
        "entropy": "ABCDEFGHIJKLMNOPQRST",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def event(h: SyncHost, resource_id: str, category: str = "INVOICE") -> dict[str, Any]:
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": "2026-07-01T01:15:39.902",
        "eventType": "UPDATE",
        "eventCategory": category,
        "tenantId": h.tenant_id,
        "tenantType": "ORGANISATION",
    }


def post(h: SyncHost, body: bytes, signature: str | None = None) -> Any:
    return h.app.test_client().post(
        URL,
        data=body,
        headers={"x-xero-signature": signature or signature_of(body, KEY)},
        content_type="application/json",
    )


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


def test_webhook_marks_events_processed(hooked: SyncHost) -> None:
    post(hooked, payload(event(hooked, hooked.invoice_like(Type="ACCREC")["InvoiceID"])))
    hooked.wait_idle()
    with hooked.state_session() as session:
        assert session.scalars(select(WebhookEvent.processed_at)).one() is not None


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


def test_webhook_change_visible_in_next_view_within_2_s(hooked: SyncHost) -> None:
    hooked.emulator.webhooks.url = hooked.serve() + URL
    invoice = hooked.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
    started = time.monotonic()
    hooked.emulator.add_payment(hooked.tenant_id, invoice["InvoiceID"], {"Amount": 2})
    while time.monotonic() - started < 2:
        hooked.view()  # what the panel does before it reads the cache
        row = hooked.invoice(invoice["InvoiceID"])
        if row.payments:
            break
        time.sleep(0.05)
    assert [str(p.amount) for p in hooked.invoice(invoice["InvoiceID"]).payments] == ["2.00"]
    assert time.monotonic() - started < 2

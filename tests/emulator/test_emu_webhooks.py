"""The webhooks that data changes send: Xero's payload, signature, retries, and the Intent
to Receive check."""

from __future__ import annotations

import json

from xero_emulator import Emulator

from tests.emulator.helpers import (
    CONTACT,
    EXAMPLE_TENANT,
    KEY,
    OPEN_INVOICE,
    Receiver,
    control,
    example,
    example_seed,
    new_invoice,
)


def deliveries(receiver):
    return [json.loads(b) for b in receiver.bodies]


def test_webhook_sent_on_invoice_create(hooked, receiver):
    emu, url = hooked
    created = control(url, f"tenants/{EXAMPLE_TENANT}/invoices", new_invoice()).json()["Invoices"][
        0
    ]
    assert emu.flush_webhooks()
    event = deliveries(receiver)[0]["events"][0]
    assert (event["eventCategory"], event["eventType"], event["resourceId"]) == (
        "INVOICE",
        "CREATE",
        created["InvoiceID"],
    )


def test_webhook_signature_verifies(hooked, receiver):
    emu, url = hooked
    control(url, f"tenants/{EXAMPLE_TENANT}/invoices", new_invoice())
    emu.flush_webhooks()
    assert receiver.verified == [True]


def test_webhook_payload_has_xero_shape(hooked, receiver):
    emu, url = hooked
    control(url, f"tenants/{EXAMPLE_TENANT}/contacts", {"ContactID": CONTACT, "Name": "Kat W"})
    emu.flush_webhooks()
    payload = deliveries(receiver)[0]
    want = example("webhook_contact_update.json")
    assert set(payload) == set(want)
    assert set(payload["events"][0]) == set(want["events"][0])
    assert payload["events"][0]["eventType"] == "UPDATE"


def test_webhook_event_date_format(hooked, receiver):
    import re

    emu, url = hooked
    control(url, f"tenants/{EXAMPLE_TENANT}/contacts", {"ContactID": CONTACT, "Name": "Kat W"})
    emu.flush_webhooks()
    stamp = deliveries(receiver)[0]["events"][0]["eventDateUtc"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", stamp)


def test_credit_note_webhook_carries_type_and_status(hooked, receiver):
    emu, url = hooked
    note = {
        "Type": "ACCPAYCREDIT",
        "Contact": {"ContactID": CONTACT},
        "Date": "2026-06-02",
        "Total": 10,
    }
    control(url, f"tenants/{EXAMPLE_TENANT}/credit-notes", note)
    emu.flush_webhooks()
    event = deliveries(receiver)[0]["events"][0]
    want = example("webhook_creditnote_create.json")["events"][0]
    assert set(event) == set(want)
    assert event["data"] == {"Type": "ACCPAYCREDIT", "Status": "DRAFT"}


def test_webhook_sequence_increases(hooked, receiver):
    emu, url = hooked
    control(url, f"tenants/{EXAMPLE_TENANT}/invoices", new_invoice())
    control(url, f"tenants/{EXAMPLE_TENANT}/invoices", new_invoice())
    emu.flush_webhooks()
    sequences = sorted(d["firstEventSequence"] for d in deliveries(receiver))
    assert sequences == [1, 2]


def test_payment_sends_invoice_update(hooked, receiver):
    emu, url = hooked
    control(url, f"tenants/{EXAMPLE_TENANT}/invoices/{OPEN_INVOICE}/payments", {"Amount": 1})
    emu.flush_webhooks()
    assert deliveries(receiver)[0]["events"][0]["eventType"] == "UPDATE"


def test_silent_change_sends_no_webhook(hooked, receiver):
    emu, url = hooked
    control(
        url, f"tenants/{EXAMPLE_TENANT}/invoices/{OPEN_INVOICE}/silent", {"DueDate": "2026-12-31"}
    )
    emu.flush_webhooks()
    assert receiver.bodies == []


def test_failed_delivery_is_retried_and_recorded(clock):
    rec = Receiver(KEY, status_override=500)
    emu = Emulator(
        example_seed(),
        clock=clock,
        webhook_url=rec.url,
        webhook_key=KEY,
        webhook_retries=2,
        webhook_retry_delay=0.01,
    )
    try:
        emu.apply_change("Contacts", EXAMPLE_TENANT, {"ContactID": CONTACT, "Name": "K"})
        emu.flush_webhooks()
        record = emu.webhook_deliveries[0]
        assert len(record["attempts"]) == 3 and record["delivered"] is False
    finally:
        rec.close()


def test_intent_to_receive_passes_good_receiver(hooked):
    _, url = hooked
    result = control(url, "webhooks/intent-to-receive").json()
    assert result["ok"] is True
    assert {c["signed_correctly"] for c in result["checks"]} == {True, False}


def test_intent_to_receive_fails_lax_receiver(clock):
    rec = Receiver(KEY, status_override=200)
    emu = Emulator(example_seed(), clock=clock, webhook_url=rec.url, webhook_key=KEY)
    try:
        assert emu.webhooks.intent_to_receive()["ok"] is False
    finally:
        rec.close()


def test_intent_to_receive_payload_is_empty(hooked, receiver):
    _, url = hooked
    control(url, "webhooks/intent-to-receive")
    payload = json.loads(receiver.bodies[0])
    assert payload["events"] == [] and payload["firstEventSequence"] == 0

"""What the webhook tests share: the signing key, the route, Xero-shaped events and
signed deliveries (tests/test_webhooks.py, tests/test_webhook_limits.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests._sync_support import SyncHost
from xero_panel.web.webhook_routes import signature_of

KEY = "test-webhook-key"
URL = "/integrations/xero/webhooks"


def payload(*events: dict[str, Any]) -> bytes:
    """A webhook body as Xero sends it (no events: the Intent to Receive check)."""
    body = {
        "events": list(events),
        "firstEventSequence": 1,
        "lastEventSequence": len(events),
        "entropy": "ABCDEFGHIJKLMNOPQRST",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def event(h: SyncHost, resource_id: str, category: str = "INVOICE") -> dict[str, Any]:
    """An UPDATE event of ``h``'s organisation for one resource."""
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
    """Deliver ``body`` to the webhook route, signed with :data:`KEY` unless told."""
    return h.app.test_client().post(
        URL,
        data=body,
        headers={"x-xero-signature": signature or signature_of(body, KEY)},
        content_type="application/json",
    )


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Return once ``condition()`` holds; ``timeout`` only bounds a hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)

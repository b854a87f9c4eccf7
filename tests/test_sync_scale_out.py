"""Scale-out: PostgreSQL, Redis locks and rate budget, and a real RQ worker subprocess
(``flask xero-panel worker``) doing the background sync, against the emulator.

The worker subprocess builds the same host app from ``worker_app`` below, configured
through ``XP_SCALE_*`` environment variables.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._sync_support import SyncHost
from tests.conftest import REDIS_URL, TEST_KEY, require_service
from xero_panel.web.webhook_routes import signature_of

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

TESTS = Path(__file__).parent
URL = "/integrations/xero/webhooks"
KEY = "scale-webhook-key"
FLASK = (sys.executable, "-m", "flask")


def worker_app() -> Any:
    """The host app as the worker subprocess builds it (from the environment)."""
    from tests.conftest import build_host_from_env

    env = os.environ
    host = build_host_from_env(
        "XP_SCALE",
        XERO_PANEL_RQ_QUEUE=env["XP_SCALE_QUEUE"],
        XERO_PANEL_WEBHOOK_KEY=KEY,
        XERO_PANEL_SYNC_PAGE_SIZE=int(env.get("XP_SCALE_PAGE_SIZE", "1000")),
    )
    scheduler = host.app.extensions["xero_panel"].scheduler
    if "XP_SCALE_LOCK_TTL" in env:  # how soon a killed worker's locks expire
        scheduler.lock_ttl = float(env["XP_SCALE_LOCK_TTL"])
    if "XP_SCALE_WEBHOOK_RETRY_BASE" in env:
        scheduler.webhook_retry_base = float(env["XP_SCALE_WEBHOOK_RETRY_BASE"])
    return host.app


class Scale:
    def __init__(
        self,
        make_host: Callable[..., Any],
        database_url: str,
        n: int,
        *,
        worker_env: dict[str, str] | None = None,
        **config: Any,
    ) -> None:
        require_service("Redis", REDIS_URL, 6379)
        self.prefix = f"xp-scale-{uuid.uuid4().hex[:8]}:"
        self.queue = f"xp-scale-{uuid.uuid4().hex[:8]}"
        self.h = SyncHost(
            make_host,
            database_url,
            n_invoices=n,
            webhook_key=KEY,
            tenant_id=str(uuid.uuid4()),
            XERO_PANEL_REDIS_URL=REDIS_URL,
            XERO_PANEL_REDIS_PREFIX=self.prefix,
            XERO_PANEL_RQ_QUEUE=self.queue,
            XERO_PANEL_SYNC_WAIT=10,
            **config,
        )
        self.env = {
            **os.environ,
            "PYTHONPATH": str(TESTS.parent),
            "XP_SCALE_DB": database_url,
            "XP_SCALE_KEY": TEST_KEY,
            "XP_SCALE_EMULATOR": self.h.emulator_server.url,
            "XP_SCALE_REDIS": REDIS_URL,
            "XP_SCALE_PREFIX": self.prefix,
            "XP_SCALE_QUEUE": self.queue,
            **(worker_env or {}),
        }
        self.worker = self.start_worker()

    def start_worker(self) -> subprocess.Popen[bytes]:
        """A ``flask xero-panel worker`` subprocess on this queue."""
        return subprocess.Popen(
            [*FLASK, "--app", "tests.test_sync_scale_out:worker_app", "xero-panel", "worker"],
            cwd=TESTS.parent,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> float:
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                raise AssertionError("timed out waiting for the RQ worker")
            if self.worker.poll() is not None:
                raise AssertionError(f"the RQ worker exited with {self.worker.returncode}")
            time.sleep(0.02)
        return time.monotonic() - started

    def close(self) -> None:
        self.worker.terminate()
        try:
            self.worker.wait(10)
        except subprocess.TimeoutExpired:
            self.worker.kill()
        self.h.close()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{self.prefix}*"):
            client.delete(key)
        for key in client.scan_iter(f"rq:*{self.queue}*"):
            client.delete(key)


@pytest.fixture
def scale(make_host: Callable[..., Any], postgres_url: str) -> Iterator[Scale]:
    s = Scale(make_host, postgres_url, 30)
    with s.h.app.app_context():
        s.h.scheduler.start_full_sync(s.h.org_id)
    s.wait_for(lambda: s.h.sync_state().status == "idle", 30)
    s.h.emulator.reset_stats()
    yield s
    s.close()


def test_scale_out_uses_rq_and_redis(scale: Scale) -> None:
    from xero_panel.locks import RedisLocks
    from xero_panel.sync.runners import RQRunner

    assert isinstance(scale.h.scheduler.runner, RQRunner)
    assert isinstance(scale.h.scheduler.locks, RedisLocks)


def test_scale_out_cold_tenant_full_sync_on_worker(
    make_host: Callable[..., Any], postgres_url: str
) -> None:
    n = 2500
    s = Scale(make_host, postgres_url, n)
    try:
        with s.h.app.app_context():
            assert s.h.scheduler.start_full_sync(s.h.org_id) is True
        assert s.h.sync_state().status == "running"
        s.wait_for(lambda: s.h.sync_state().status == "idle", 60)
        calls = s.h.calls()
        assert calls["calls"] <= math.ceil(n / 1000) + 3
        assert calls["rate_limited"] == 0
        assert s.h.count() == n + 4
    finally:
        s.close()


def test_scale_out_warm_view_makes_no_calls(scale: Scale) -> None:
    scale.h.view()
    assert scale.h.calls()["calls"] == 0


def test_scale_out_100_concurrent_stale_views_make_one_call(scale: Scale) -> None:
    scale.h.age()
    results = scale.h.views_at_once(100)
    assert len(results) == 100
    assert scale.h.calls()["by_endpoint"] == {"Invoices": 1}


def test_scale_out_xero_down_reports_problem(scale: Scale) -> None:
    scale.h.age()
    scale.h.emulator.add_fault({"endpoint": "Invoices", "status": 503})
    status = scale.h.view()
    assert status.problem == "Xero is having problems (HTTP 503); showing cached data for now."
    assert scale.h.count() == 34


def test_scale_out_webhook_visible_within_2_s(scale: Scale) -> None:
    scale.h.emulator.webhooks.url = scale.h.serve() + URL
    invoice = scale.h.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
    started = time.monotonic()
    scale.h.emulator.add_payment(scale.h.tenant_id, invoice["InvoiceID"], {"Amount": 3})

    def visible() -> bool:
        scale.h.view()
        return bool(scale.h.invoice(invoice["InvoiceID"]).payments)

    scale.wait_for(visible, 5)
    assert time.monotonic() - started < 2


def test_scale_out_failed_webhook_fetch_is_retried_by_rq_jobs(
    make_host: Callable[..., Any], postgres_url: str
) -> None:
    """On the RQ worker, a webhook fetch that fails is tried again by ``webhook_retry``
    jobs with backoff, and succeeds once Xero answers again."""
    from sqlalchemy import select

    from xero_panel.models import WebhookEvent

    s = Scale(make_host, postgres_url, 30, worker_env={"XP_SCALE_WEBHOOK_RETRY_BASE": "0.3"})
    h = s.h
    try:
        h.full_sync()
        h.scheduler.webhook_retry_base = 0.3
        invoice = h.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
        h.emulator.add_payment(h.tenant_id, invoice["InvoiceID"], {"Amount": 3})
        h.emulator.add_fault({"endpoint": "Invoices", "status": 400})
        body = json.dumps(
            {
                "events": [
                    {
                        "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/x",
                        "resourceId": invoice["InvoiceID"],
                        "eventDateUtc": "2026-07-01T01:15:39.902",
                        "eventType": "UPDATE",
                        "eventCategory": "INVOICE",
                        "tenantId": h.tenant_id,
                        "tenantType": "ORGANISATION",
                    }
                ],
                "firstEventSequence": 1,
                "lastEventSequence": 1,
                "entropy": "ABCDEFGHIJKLMNOPQRST",
            }
        ).encode()
        response = h.app.test_client().post(
            URL,
            data=body,
            headers={"x-xero-signature": signature_of(body, KEY)},
            content_type="application/json",
        )
        assert response.status_code == 200

        def row() -> Any:
            with h.state_session() as session:
                return session.scalars(select(WebhookEvent)).one()

        s.wait_for(lambda: row().attempts >= 2, 30)  # the first try and a retry job
        assert row().processed_at is None
        h.emulator.faults.clear()
        s.wait_for(lambda: row().processed_at is not None, 30)
        assert [p.amount for p in h.invoice(invoice["InvoiceID"]).payments] == [3]
    finally:
        s.close()

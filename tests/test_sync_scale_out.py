"""Scale-out: PostgreSQL, Redis locks and rate budget, and a real RQ worker subprocess
(``flask xero-panel worker``) doing the background sync, against the emulator (the host:
tests/scale_support.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.scale_support import KEY, URL, Scale
from xero_panel.web.webhook_routes import signature_of

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


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
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    h = scale.h
    redis = h.state.backends.redis
    # Locks are keys in the app's Redis, under its prefix.
    held = h.scheduler.locks.try_lock("probe", 30)
    assert held is not None
    assert redis.exists(f"{scale.prefix}lock:probe") == 1
    held.release()
    assert redis.exists(f"{scale.prefix}lock:probe") == 0
    # Jobs go on the app's RQ queues, and the worker subprocess runs them.
    queue = h.scheduler.runner.queue_for("refresh")
    assert (queue.name, queue.connection) == (f"{scale.queue}:refresh", redis)
    with h.app.app_context():
        assert h.scheduler.start_refresh(h.org_id) is True

    def ran_on_worker() -> list[str]:
        ids = FinishedJobRegistry(queue=queue).get_job_ids()
        return [Job.fetch(i, connection=redis).func_name for i in ids]

    scale.wait_for(lambda: "xero_panel.jobs.refresh" in ran_on_worker(), 30)
    assert h.calls()["by_endpoint"].get("Invoices")


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
    assert status.problem == "Xero answered HTTP 503."
    assert scale.h.count() == 34


def test_scale_out_webhook_visible(scale: Scale) -> None:
    """Xero's webhook reaches the cache through the RQ worker: the next view shows the
    payment. (How soon: benchmarks/bench_latency.py.)"""
    scale.h.emulator.webhooks.url = scale.h.serve() + URL
    invoice = scale.h.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
    scale.h.emulator.add_payment(scale.h.tenant_id, invoice["InvoiceID"], {"Amount": 3})

    def visible() -> bool:
        scale.h.view()
        return bool(scale.h.invoice(invoice["InvoiceID"]).payments)

    scale.wait_for(visible, 30)  # only bounds a hang
    assert [p.amount for p in scale.h.invoice(invoice["InvoiceID"]).payments] == [3]


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
        h.scheduler.webhook_retries.base = 0.3
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

"""A resumable full sync: a worker SIGKILLed at any point of a full sync leaves the stored
pages and where to resume; the next run fetches only the pages not stored yet, and the cache
then equals Xero's data exactly (same invoice ids, amounts, payments; no duplicates)."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._sync_support import OWNER, EmulatorTokens, SyncHost, cached_truth, xero_truth

TESTS = Path(__file__).parent
PAGE = 5
N_INVOICES = 60  # 12 invoice pages; 7 contacts (2 pages); 4 customer credit notes (1 page)
INVOICE_PAGES = math.ceil(N_INVOICES / PAGE)

#: (the page whose storing is killed, counted over the whole sync; where it resumes).
KILL_POINTS = [
    (1, ("contacts", 0)),  # the first contacts page: only the organisation is stored
    (2, ("contacts", 1)),  # the second contacts page
    (3, ("invoices", 0)),  # the first invoices page
    (7, ("invoices", 4)),  # mid-invoices
    (14, ("invoices", INVOICE_PAGES - 1)),  # the last invoices page
    (15, ("credit_notes", 0)),  # the credit notes
]


@pytest.fixture
def host(make_host: Callable[..., Any], database_url: str) -> Iterator[SyncHost]:
    h = SyncHost(make_host, database_url, n_invoices=N_INVOICES, XERO_PANEL_SYNC_PAGE_SIZE=PAGE)
    yield h
    h.close()


def _kill_mid_sync(h: SyncHost, database_url: str, kill_at: int) -> None:
    token = h.emulator.issue_tokens(user_email=OWNER)["access_token"]
    config = {
        "database_url": database_url,
        "emulator_url": h.emulator_server.url,
        "access_token": token,
        "org_id": h.org_id,
        "page_size": PAGE,
        "kill_at": kill_at,
    }
    child = subprocess.run(
        [sys.executable, "-m", "tests.sync_kill_worker", json.dumps(config)],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr


@pytest.mark.parametrize(("kill_at", "resume"), KILL_POINTS)
def test_full_sync_killed_by_sigkill_resumes_at_the_next_page(
    host: SyncHost, database_url: str, kill_at: int, resume: tuple[str, int]
) -> None:
    _kill_mid_sync(host, database_url, kill_at)
    state = host.sync_state()
    assert state.status == "running"
    assert (state.resume_phase, state.resume_page) == resume
    assert state.full_sync_completed_at is None
    total_before = state.progress_total or 0
    host.emulator.reset_stats()

    totals: list[int | None] = []
    with host.app.app_context():
        counts = host.scheduler.run_full_sync(
            host.org_id, progress=lambda done, total: totals.append(total)
        )
    # The progress total never drops below what it was when the worker died (it went
    # 159 -> 130 -> 154: the phases done before the restart were forgotten).
    assert all(t is None or t >= total_before for t in totals), (total_before, totals)

    phase, pages = resume
    by_endpoint = host.calls()["by_endpoint"]
    # Only what was not stored is fetched again.
    expected_invoice_calls = {"contacts": INVOICE_PAGES, "invoices": INVOICE_PAGES - pages}
    assert by_endpoint.get("Invoices", 0) == expected_invoice_calls.get(phase, 0)
    assert by_endpoint.get("Contacts", 0) == {"contacts": 2 - pages}.get(phase, 0)
    assert "Organisation" not in by_endpoint
    assert by_endpoint.get("CreditNotes") == 1
    state = host.sync_state()
    assert (state.status, state.resume_phase, state.resume_page) == ("idle", None, 0)
    assert state.full_sync_completed_at is not None
    assert counts["invoices"] > 0 or phase == "credit_notes"

    with host.app.app_context():
        cached = cached_truth(host.host.db.engine, host.org_id)
    truth = xero_truth(host.emulator_server.url, EmulatorTokens(host.emulator), host.tenant_id)
    assert cached == truth
    assert len(truth["invoices"]) == N_INVOICES


def test_a_full_sync_failed_by_xero_resumes_too(host: SyncHost) -> None:
    """Xero failing mid-sync (503 on every invoices page, past the client's retries) keeps
    the stored pages; the next run resumes there and the cache then equals Xero's data."""
    host.emulator.add_fault({"endpoint": "Invoices", "status": 503})
    with host.app.app_context():
        host.scheduler.run_full_sync(host.org_id)
    state = host.sync_state()
    assert state.status == "failed"
    assert (state.resume_phase, state.resume_page) == ("invoices", 0)
    host.emulator.faults.clear()
    host.emulator.reset_stats()
    with host.app.app_context():
        host.scheduler.run_full_sync(host.org_id)
    by_endpoint = host.calls()["by_endpoint"]
    assert "Contacts" not in by_endpoint and "Organisation" not in by_endpoint
    assert by_endpoint["Invoices"] == INVOICE_PAGES
    assert host.sync_state().status == "idle"
    with host.app.app_context():
        cached = cached_truth(host.host.db.engine, host.org_id)
    assert cached == xero_truth(
        host.emulator_server.url, EmulatorTokens(host.emulator), host.tenant_id
    )


def in_flight(h: SyncHost) -> int:
    """Calls the emulator is answering for ``h``'s organisation right now."""
    tenant = h.emulator.limiter._tenants.get(h.tenant_id)
    return tenant.in_flight if tenant is not None else 0


@pytest.mark.postgres
@pytest.mark.redis
def test_rq_worker_killed_mid_sync_resumes_by_itself(
    make_host: Callable[..., Any], postgres_url: str
) -> None:
    """An RQ worker (``flask xero-panel worker``) SIGKILLed mid-invoices: once its lock has
    expired, the next panel view notices the dead sync and queues it again; a new worker
    resumes at the next page, and the cache then equals Xero's data. RQ forgets the dead
    worker, and files its job as failed, soon after its heartbeat lapses (3 s here, 30 s in
    production), not after the job's timeout (an hour)."""
    from tests.scale_support import Scale

    s = Scale(
        make_host,
        postgres_url,
        N_INVOICES,
        worker_env={
            "XP_SCALE_PAGE_SIZE": str(PAGE),
            "XP_SCALE_LOCK_TTL": "2",
            "XP_SCALE_WORKER_GONE_AFTER": "3",
        },
        XERO_PANEL_SYNC_PAGE_SIZE=PAGE,
    )
    h = s.h
    try:
        h.emulator.add_fault({"endpoint": "Invoices", "delay_ms": 250})
        with h.app.app_context():
            assert h.scheduler.start_full_sync(h.org_id) is True

        def mid_invoices() -> bool:
            state = h.sync_state()
            return state.resume_phase == "invoices" and state.resume_page >= 3

        s.wait_for(mid_invoices, 30)
        dead = rq_workers(s)
        assert len(dead) == 1 and dead[0].get_state() == "busy"
        s.worker.send_signal(signal.SIGKILL)
        s.worker.wait(10)
        # The emulator finishes answering the killed worker's request (in its 250 ms
        # delay) before the calls are counted afresh.
        s.wait_for(lambda: in_flight(h) == 0, 30, worker_may_exit=True)
        state = h.sync_state()
        assert state.status == "running"
        stored = state.resume_page
        assert state.resume_phase == "invoices" and 3 <= stored < INVOICE_PAGES
        h.emulator.faults.clear()
        h.emulator.reset_stats()

        s.worker = s.start_worker()

        def finished() -> bool:
            h.view()  # what notices the dead sync: any panel view of the organisation
            return bool(h.sync_state().status == "idle")

        s.wait_for(finished, 30)
        assert h.calls()["by_endpoint"].get("Invoices") == INVOICE_PAGES - stored
        with h.app.app_context():
            cached = cached_truth(h.host.db.engine, h.org_id)
        assert cached == xero_truth(h.emulator_server.url, EmulatorTokens(h.emulator), h.tenant_id)

        def dead_one_forgotten() -> bool:
            names = {w.name for w in rq_workers(s)}
            return dead[0].name not in names and rq_registries(s) == (0, 1)

        s.wait_for(dead_one_forgotten, 30)
        assert len(rq_workers(s)) == 1  # the new one
    finally:
        s.close()


def rq_workers(s: Any) -> list[Any]:
    """The RQ workers listed for the scale host's queue."""
    from rq import Queue, Worker

    return list(Worker.all(queue=Queue(s.queue, connection=redis_connection())))


def rq_registries(s: Any) -> tuple[int, int]:
    """How many of the full syncs' queue's jobs RQ holds as started, and as failed."""
    from rq import Queue

    queue = Queue(f"{s.queue}:full", connection=redis_connection())
    return queue.started_job_registry.count, queue.failed_job_registry.count


def redis_connection() -> Any:
    import redis

    from tests.conftest import REDIS_URL

    return redis.Redis.from_url(REDIS_URL)

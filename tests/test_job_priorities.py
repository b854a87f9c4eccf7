"""Priorities at the job queue: each class of job has an RQ queue of its own, a worker takes
them most urgent first, and a long full sync runs in chunks, so a webhook fetch for another
organisation waits for at most one more Xero call of it (sync/job_queues.py, sync/chunks.py).

A real :class:`~xero_panel.sync.rq_worker.SyncWorker` runs the jobs from Redis in a thread
of this process, against the emulator; Xero calls are counted by the emulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from xero_emulator import Emulator

from tests._seed_parts import OWNER
from tests._sync_support import generated_seed, tenant_calls
from tests.conftest import REDIS_URL, HostApp, require_service
from tests.two_accounts.background import RQWorkerThread
from xero_panel.state import get_state
from xero_panel.sync import full

pytestmark = [pytest.mark.redis]

BIG_INVOICES = 80
PAGE_SIZE = 5  # 16 pages of invoices for the big organisation
DEADLINE = 60  # bounds a hang only


class TwoOrgs:
    """A host on Redis and RQ with one connection to two organisations at the emulator: a
    big one (many pages) and a small one."""

    def __init__(self, make_host: Callable[..., HostApp], database_url: str, prefix: str):
        big = generated_seed(BIG_INVOICES, n_contacts=6, seed=1)
        small = generated_seed(4, n_contacts=2, seed=2)
        self.big_tenant = big["tenants"][0]["tenantId"]
        self.small_tenant = small["tenants"][0]["tenantId"]
        small["tenants"][0]["tenantName"] = "Small Garden Ltd"
        big["users"][0]["tenants"].append(self.small_tenant)
        big["tenants"].extend(small["tenants"])
        self.small_seed = small["tenants"][0]
        self.emulator = Emulator(big, control_enabled=True)
        self.server = self.emulator.serve()
        url = self.server.url
        self.host = make_host(
            database_url,
            XERO_PANEL_API_URL=url,
            XERO_PANEL_IDENTITY_URL=url,
            XERO_PANEL_LOGIN_URL=url,
            XERO_PANEL_REDIS_URL=REDIS_URL,
            XERO_PANEL_REDIS_PREFIX=f"{prefix}:",
            XERO_PANEL_RQ_QUEUE=f"{prefix}-queue",
            XERO_PANEL_SYNC_PAGE_SIZE=PAGE_SIZE,
        )
        self.app = self.host.app
        self.scheduler: Any = get_state(self.app).scheduler
        self.runner: Any = self.scheduler.runner
        with self.app.app_context():
            connection = self.host.panel.store_connection(
                "acme", self.emulator.issue_tokens(user_email=OWNER), activate=False
            )
            connection.status = "active"
            self.host.db.session.commit()
            ids = {o.tenant_id: o.id for o in connection.organisations}
        self.big, self.small = ids[self.big_tenant], ids[self.small_tenant]
        self.background: RQWorkerThread | None = None
        self.ran: list[tuple[str, tuple[Any, ...]]] = []
        execute = self.scheduler.execute

        #: The big organisation's calls as each webhook job starts (the worker takes the
        #: next job as soon as that one ends, so they are counted here, not after).
        self.big_calls_at_webhook: list[int] = []

        def recorded(job: str, args: Any) -> object:
            self.ran.append((job, tuple(args)))
            if job == "webhook_tenant":
                self.big_calls_at_webhook.append(self.calls(self.big_tenant))
            return execute(job, args)

        # The runner was made with the scheduler's execute; jobs come back through it.
        self.scheduler.execute = recorded

    def start_worker(self) -> RQWorkerThread:
        self.background = RQWorkerThread(self.app)
        return self.background

    def deliver(self, event: dict[str, Any]) -> None:
        """What the webhook route does with a delivery of ``event``: store, then start."""
        from sqlalchemy.orm import Session

        with self.app.app_context(), Session(self.host.db.engine) as session:
            fresh = self.scheduler.store_webhook_events(session, [event]).fresh
        assert fresh
        self.scheduler.start_webhook(fresh)

    def small_invoice_changed(self) -> tuple[str, int]:
        """Xero changes an invoice of the small organisation and its webhook's job is
        queued: the invoice's id, and the big organisation's calls before."""
        invoice_id = self.small_seed["Invoices"][0]["InvoiceID"].lower()
        self.emulator.apply_change(
            "Invoices",
            self.small_tenant,
            {"InvoiceID": invoice_id, "Reference": "webhook!"},
            fire_webhook=False,
        )
        event = {
            "resourceId": invoice_id,
            "eventDateUtc": "2026-07-01T01:15:39.902",
            "eventType": "UPDATE",
            "eventCategory": "INVOICE",
            "tenantId": self.small_tenant,
            "tenantType": "ORGANISATION",
        }
        big_calls_before = self.calls(self.big_tenant)
        self.deliver(event)
        return invoice_id, big_calls_before

    def calls(self, tenant: str) -> int:
        return int(tenant_calls(self.emulator, tenant)["calls"])

    def state(self, organisation_id: int) -> Any:
        from sqlalchemy.orm import Session

        from xero_panel.models import SyncState

        with self.app.app_context(), Session(self.host.db.engine) as session:
            return session.get(SyncState, organisation_id)

    def invoices(self, organisation_id: int) -> dict[str, str | None]:
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from xero_panel.models import Invoice

        with self.app.app_context(), Session(self.host.db.engine) as session:
            rows = session.execute(
                select(Invoice.xero_id, Invoice.reference).where(
                    Invoice.organisation_id == organisation_id, Invoice.kind == "invoice"
                )
            )
            return {xero_id.lower(): reference for xero_id, reference in rows}

    def close(self) -> None:
        if self.background is not None:
            self.background.close()
        self.server.shutdown()


@pytest.fixture
def two_orgs(
    make_host: Callable[..., HostApp], database_url: str, redis_prefix: str
) -> Iterator[TwoOrgs]:
    require_service("Redis", REDIS_URL, 6379)
    orgs = TwoOrgs(make_host, database_url, redis_prefix)
    try:
        yield orgs
    finally:
        orgs.close()
        client = orgs.runner.connection
        for key in client.scan_iter(f"rq:*{redis_prefix}-queue*"):
            client.delete(key)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.02)


def test_a_webhook_overtakes_a_large_first_sync_within_one_call(
    two_orgs: TwoOrgs, monkeypatch: pytest.MonkeyPatch
) -> None:
    orgs = two_orgs
    # The worker stops inside the big sync, on its third page of invoices (that page's call
    # made, the page not stored yet), until the webhook's job is queued.
    reached, go_on = threading.Event(), threading.Event()
    checkpoint = full._checkpoint

    def held(state: Any, phase: str) -> Callable[[Any], None]:
        stored = checkpoint(state, phase)

        def hold(page: Any) -> None:
            if phase == "invoices" and page.page == 3 and not go_on.is_set():
                reached.set()
                assert go_on.wait(DEADLINE)
            stored(page)

        return hold

    monkeypatch.setattr(full, "_checkpoint", held)
    orgs.start_worker()
    with orgs.app.app_context():
        assert orgs.scheduler.start_full_sync(orgs.big) is True
    assert reached.wait(DEADLINE), "the big organisation's sync never reached its invoices"

    invoice_id, big_calls_before = orgs.small_invoice_changed()
    go_on.set()

    wait_until(lambda: orgs.invoices(orgs.small).get(invoice_id) == "webhook!", "the webhook")
    assert orgs.big_calls_at_webhook[0] - big_calls_before <= 1

    # The big sync goes on in chunks and completes with every invoice.
    wait_until(lambda: orgs.state(orgs.big).full_sync_completed_at is not None, "the sync")
    assert orgs.state(orgs.big).status == "idle"
    assert sorted(orgs.invoices(orgs.big)) == sorted(xero_invoice_ids(orgs, orgs.big_tenant))
    jobs = [job for job, _args in orgs.ran]
    assert jobs.index("webhook_tenant") < len(jobs) - 1  # it ran while the sync still had work
    assert jobs.count("full_sync") >= 2  # the sync went on as a continuation


def test_a_webhook_overtakes_a_large_reconciliation_within_one_call(
    two_orgs: TwoOrgs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for the big organisation's reconciliation: it stops at the page the
    webhook's job finds it on, goes on as a continuation and ends whole."""
    from xero_panel.sync import reconcile

    orgs = two_orgs
    with orgs.app.app_context():
        orgs.scheduler.run_full_sync(orgs.big)
        orgs.scheduler.run_full_sync(orgs.small)
    reconciled_before = orgs.state(orgs.big).reconciled_at
    # The worker stops inside the big reconciliation, on its second page of open invoices
    # (that page's call made, the page not stored yet), until the webhook's job is queued.
    reached, go_on = threading.Event(), threading.Event()
    note_seen = reconcile._note_seen
    invoice_pages: list[int] = []

    def held(session: Any, organisation_id: int, kind: str, ids: set[str]) -> None:
        if kind == "invoice":
            invoice_pages.append(len(ids))
            if len(invoice_pages) == 2 and not go_on.is_set():
                reached.set()
                assert go_on.wait(DEADLINE)
        note_seen(session, organisation_id, kind, ids)

    monkeypatch.setattr(reconcile, "_note_seen", held)
    orgs.start_worker()
    with orgs.app.app_context():
        assert orgs.scheduler.start_reconcile(orgs.big) is True
    assert reached.wait(DEADLINE), "the big reconciliation never reached its open invoices"

    invoice_id, big_calls_before = orgs.small_invoice_changed()
    go_on.set()

    wait_until(lambda: orgs.invoices(orgs.small).get(invoice_id) == "webhook!", "the webhook")
    assert orgs.big_calls_at_webhook[0] - big_calls_before <= 1

    def ended() -> bool:
        state = orgs.state(orgs.big)
        return state.reconcile_phase is None and state.reconciled_at != reconciled_before

    wait_until(ended, "the reconciliation")
    jobs = [job for job, _args in orgs.ran]
    assert jobs.index("webhook_tenant") < len(jobs) - 1  # it ran while the reconciliation had work
    assert ("reconcile", (orgs.big, True)) in orgs.ran  # it went on as a continuation
    assert len(invoice_pages) >= 3


def xero_invoice_ids(orgs: TwoOrgs, tenant: str) -> list[str]:
    """The ACCREC invoice ids Xero holds for ``tenant``."""
    from tests._sync_support import EmulatorTokens, make_client

    client = make_client(orgs.server.url, EmulatorTokens(orgs.emulator))
    return [
        i.invoice_id.lower()
        for page in client.iter_invoice_pages(tenant, where='Type=="ACCREC"')
        for i in page
    ]


def test_a_worker_takes_jobs_most_urgent_class_first_and_0_2_jobs_last(
    two_orgs: TwoOrgs,
) -> None:
    from rq import Queue

    orgs = two_orgs
    with orgs.app.app_context():
        orgs.scheduler.run_full_sync(orgs.small)
    event = {
        "resourceId": orgs.small_seed["Invoices"][0]["InvoiceID"],
        "eventDateUtc": "2026-07-01T01:15:39.902",
        "eventType": "UPDATE",
        "eventCategory": "INVOICE",
        "tenantId": orgs.small_tenant,
        "tenantType": "ORGANISATION",
    }
    # Queued least urgent first, before any worker runs: a job as 0.2.0 queued it (one
    # queue, XERO_PANEL_RQ_QUEUE), a full sync, a reconciliation, *Refresh now*, a webhook.
    legacy = Queue(orgs.runner.base, connection=orgs.runner.connection)
    legacy.enqueue("xero_panel.jobs.full_sync", orgs.small)
    with orgs.app.app_context():
        orgs.runner.submit("full_sync", orgs.small)
        orgs.scheduler.start_reconcile(orgs.small)
        orgs.scheduler.start_refresh(orgs.small)
    orgs.deliver(event)
    orgs.ran.clear()
    orgs.start_worker()
    wait_until(lambda: len(orgs.ran) >= 5, "five jobs")
    assert orgs.ran == [
        ("webhook_tenant", (orgs.small_tenant.lower(),)),
        ("refresh", (orgs.small,)),
        ("reconcile", (orgs.small, False)),
        ("full_sync", (orgs.small, False)),
        ("full_sync", (orgs.small, False)),  # 0.2.0's job, on the old queue: last
    ]


def test_one_job_per_organisation_fetches_all_its_pending_events_in_one_call(
    two_orgs: TwoOrgs,
) -> None:
    orgs = two_orgs
    with orgs.app.app_context():
        orgs.scheduler.run_full_sync(orgs.small)
    invoices = [i["InvoiceID"].lower() for i in orgs.small_seed["Invoices"][:3]]
    for n, invoice_id in enumerate(invoices):
        orgs.emulator.apply_change(
            "Invoices",
            orgs.small_tenant,
            {"InvoiceID": invoice_id, "Reference": f"change {n}"},
            fire_webhook=False,
        )
    orgs.emulator.reset_stats()
    # Three deliveries of one event each, while no worker runs: one job is queued.
    for n, invoice_id in enumerate(invoices):
        orgs.deliver(
            {
                "resourceId": invoice_id,
                "eventDateUtc": f"2026-07-01T01:15:3{n}.902",
                "eventType": "UPDATE",
                "eventCategory": "INVOICE",
                "tenantId": orgs.small_tenant,
                "tenantType": "ORGANISATION",
            }
        )
    assert [len(q) for q in orgs.runner.queues] == [1, 0, 0, 0, 0]
    orgs.ran.clear()
    orgs.start_worker()
    changes = ["change 0", "change 1", "change 2"]
    wait_until(lambda: [orgs.invoices(orgs.small)[i] for i in invoices] == changes, "changes")
    assert orgs.ran == [("webhook_tenant", (orgs.small_tenant.lower(),))]
    assert tenant_calls(orgs.emulator, orgs.small_tenant)["by_endpoint"] == {"Invoices": 1}
    # A delivery after the job started queues a new one.
    orgs.deliver(
        {
            "resourceId": invoices[0],
            "eventDateUtc": "2026-07-01T02:00:00.000",
            "eventType": "UPDATE",
            "eventCategory": "INVOICE",
            "tenantId": orgs.small_tenant,
            "tenantType": "ORGANISATION",
        }
    )
    wait_until(lambda: len(orgs.ran) == 2, "the second job")

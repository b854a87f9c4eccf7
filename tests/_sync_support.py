"""Helpers shared by the sync tests and ``benchmarks/bench_sync.py``: a generated emulator
seed of any size, a token source over the emulator's tokens, and a fake clock."""

from __future__ import annotations

import datetime as dt
import random
import threading
from typing import Any

from xero_emulator import Emulator

from tests._seed_parts import (
    OWNER,
    bill,
    credit_note,
    new_id,
    one_tenant_seed,
    payments_and_status,
    sales_invoice,
    supplier,
    xero_ms,
)
from xero_panel.xero.client import XeroClient
from xero_panel.xero.rate_budget import InProcessRateBudget


def generated_seed(
    n_invoices: int,
    *,
    n_contacts: int = 40,
    n_credit_notes: int = 6,
    n_bills: int = 5,
    tenant_id: str | None = None,
    seed: int = 7,
) -> dict[str, Any]:
    """A one-tenant seed with ``n_invoices`` ACCREC invoices (some paid in instalments,
    some voided), customer and supplier credit notes, and a few supplier bills that must
    never enter the cache. Contacts 0 and 1 share an email domain with a contact person."""
    rng = random.Random(seed)
    tenant_id = tenant_id or new_id(rng)
    today = dt.date(2026, 7, 1)
    contacts = []
    for i in range(n_contacts):
        contact: dict[str, Any] = {
            "ContactID": new_id(rng),
            "Name": f"Customer {i:04d} Ltd",
            "EmailAddress": f"accounts{i}@customer{i}.test",
            "ContactStatus": "ACTIVE",
            "IsCustomer": True,
            "UpdatedDateUTC": xero_ms(today - dt.timedelta(days=300), i),
            "ContactPersons": [
                {"FirstName": "Pat", "LastName": f"P{i}", "EmailAddress": f"pat@customer{i}.test"}
            ],
        }
        contacts.append(contact)
    the_supplier = supplier(rng, today - dt.timedelta(days=300))
    contacts.append(the_supplier)
    invoices = []
    for i in range(n_invoices):
        day = today - dt.timedelta(days=rng.randrange(1, 400))
        total = rng.randrange(100, 100_000) / 100
        status, payments = payments_and_status(
            rng, day, total, paid_after=10, part_paid_after=(5,), part=2
        )
        invoices.append(
            sales_invoice(
                rng,
                f"INV-{i + 1:06d}",
                contacts[i % n_contacts]["ContactID"],
                day,
                status=status,
                total=total,
                payments=payments,
                updated_seconds=3600 + i % 3000,
            )
        )
    for i in range(n_bills):
        day = today - dt.timedelta(days=rng.randrange(1, 100))
        invoices.append(bill(rng, i, the_supplier["ContactID"], day))
    notes = []
    for i in range(n_credit_notes):
        day = today - dt.timedelta(days=rng.randrange(1, 100))
        customer = i % 3  # every third note is the supplier's
        notes.append(
            credit_note(
                rng,
                "ACCRECCREDIT" if customer else "ACCPAYCREDIT",
                f"CN-{i + 1:04d}",
                contacts[i % n_contacts]["ContactID"] if customer else the_supplier["ContactID"],
                day,
                total=20,
                updated_seconds=100,
            )
        )
    return one_tenant_seed(tenant_id, contacts, invoices, notes)


class EmulatorTokens:
    """A token source over tokens the emulator issued (no refresh needed in a test)."""

    def __init__(self, emulator: Emulator, tenant_ids: list[str] | None = None) -> None:
        self._token = emulator.issue_tokens(user_email=OWNER, tenant_ids=tenant_ids)

    def access_token(self) -> str:
        return str(self._token["access_token"])

    def refresh_access_token(self, rejected: str) -> str:
        return str(self._token["access_token"])

    @property
    def token(self) -> dict[str, Any]:
        return self._token


class FakeTime:
    """A clock shared by the rate budget, the client and the emulator: sleeping advances
    it (and the emulator's clock), so Retry-After waits take no real time."""

    def __init__(self, emulator: Emulator | None = None) -> None:
        self.now = 1_900_000_000.0
        self.sleeps: list[float] = []
        self._emulator = emulator
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds
        if self._emulator is not None:
            self._emulator.advance_clock(seconds)


def make_client(
    emulator_url: str,
    tokens: Any,
    *,
    budget: Any = None,
    fake: FakeTime | None = None,
    max_wait: float = 30.0,
    max_retries: int = 3,
    timeout: tuple[float, float] = (2.0, 5.0),
) -> XeroClient:
    """A client on the emulator; with ``fake`` every wait is on the fake clock."""
    if fake is not None:
        budget = budget or InProcessRateBudget(clock=fake.clock, sleep=fake.sleep)
        return XeroClient(
            tokens=tokens,
            budget=budget,
            api_url=emulator_url,
            sleep=fake.sleep,
            clock=fake.clock,
            max_wait=max_wait,
            max_retries=max_retries,
            timeout=timeout,
            backoff_base=0.01,
            backoff_cap=0.05,
        )
    return XeroClient(
        tokens=tokens,
        budget=budget or InProcessRateBudget(),
        api_url=emulator_url,
        max_wait=max_wait,
        max_retries=max_retries,
        timeout=timeout,
        backoff_base=0.01,
        backoff_cap=0.05,
    )


def tenant_calls(emulator: Emulator, tenant_id: str) -> dict[str, Any]:
    """The emulator's call counts for one tenant."""
    stats = emulator.stats()["tenants"].get(tenant_id)
    return stats or {"calls": 0, "rate_limited": 0, "errors": 0, "by_status": {}, "by_endpoint": {}}


def db_engine(database_url: str) -> Any:
    """A plain SQLAlchemy engine with the plugin's tables (for tests without an app)."""
    import sqlalchemy as sa

    from xero_panel.models import Base

    engine = sa.create_engine(database_url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    return engine


def add_organisation(engine: Any, tenant_id: str, crm_account: str = "acme") -> int:
    """An active connection with one organisation; returns the organisation's id."""
    from sqlalchemy.orm import Session

    from xero_panel.models import Connection, Organisation

    with Session(engine) as session:
        connection = Connection(crm_account=crm_account, status="active")
        organisation = Organisation(tenant_id=tenant_id, name="Bench Garden Ltd")
        connection.organisations.append(organisation)
        session.add(connection)
        session.commit()
        return organisation.id


class SyncHost:
    """The test host app with the plugin, connected to an emulator serving a generated
    seed, and helpers to view, age and inspect the cache."""

    def __init__(
        self,
        make_host: Any,
        database_url: str,
        *,
        n_invoices: int = 30,
        webhook_key: str | None = None,
        **config: Any,
    ) -> None:
        from werkzeug.serving import make_server

        from xero_panel.models import Organisation
        from xero_panel.state import get_state

        self.seed = generated_seed(
            n_invoices, n_contacts=6, tenant_id=config.pop("tenant_id", None)
        )
        self.tenant_id = self.seed["tenants"][0]["tenantId"]
        self.emulator = Emulator(
            self.seed,
            control_enabled=True,
            webhook_key=webhook_key,
            access_token_ttl=config.pop("access_token_ttl", 1800),  # hours-long clock moves
        )
        self.emulator_server = self.emulator.serve()
        url = self.emulator_server.url
        settings = {
            "XERO_PANEL_API_URL": url,
            "XERO_PANEL_IDENTITY_URL": url,
            "XERO_PANEL_LOGIN_URL": url,
            "XERO_PANEL_WEBHOOK_KEY": webhook_key,
            **config,
        }
        self.host = make_host(database_url, **settings)
        self.app = self.host.app
        self.state = get_state(self.app)
        self.scheduler: Any = self.state.scheduler
        with self.app.app_context():
            # Stored pending, then activated here, so no first sync starts by itself:
            # each test decides which syncs run.
            connection = self.host.panel.store_connection(
                "acme", self.emulator.issue_tokens(user_email=OWNER), activate=False
            )
            connection.status = "active"
            self.host.db.session.commit()
            self.org_id = connection.organisations[0].id
            self.connection_id = connection.id
        with self.state_session() as session:
            self.organisations = [session.get(Organisation, self.org_id)]
        self.emulator.reset_stats()
        self._http: Any = None
        self._make_server = make_server

    # -- plumbing -----------------------------------------------------------------------------

    def state_session(self) -> Any:
        from sqlalchemy.orm import Session

        with self.app.app_context():
            return Session(self.host.db.engine, expire_on_commit=False)

    def serve(self) -> str:
        """Serve the host app over HTTP from a thread; returns its URL."""
        self._http = self._make_server("127.0.0.1", 0, self.app, threaded=True)
        thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        thread.start()
        return f"http://127.0.0.1:{self._http.socket.getsockname()[1]}"

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        self.wait_idle()
        self.emulator_server.shutdown()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        runner = getattr(self.scheduler, "runner", None)
        wait = getattr(runner, "wait_idle", None)
        return bool(wait(timeout)) if wait is not None else True

    # -- actions --------------------------------------------------------------------------------

    def view(self, contact_ids: Any = ()) -> Any:
        with self.app.app_context():
            return self.scheduler.ensure_fresh(
                self.host.db.session, self.organisations, contact_ids=contact_ids
            )

    def views_at_once(self, n: int, timeout: float = 60) -> list[Any]:
        """``n`` panel views started together in threads; what each returned."""
        barrier = threading.Barrier(n)
        results: list[Any] = []

        def view() -> None:
            barrier.wait()
            results.append(self.view())

        threads = [threading.Thread(target=view) for _ in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        return results

    def refresh_record(self, contact_ids: Any) -> Any:
        with self.app.app_context():
            return self.scheduler.refresh_record(
                self.host.db.session, self.organisations, contact_ids=contact_ids
            )

    def full_sync(self) -> dict[str, int]:
        with self.app.app_context():
            result: dict[str, int] = self.scheduler.run_full_sync(self.org_id)
        self.emulator.reset_stats()
        return result

    def age(self, seconds: float = 3600) -> None:
        """Make the cache look stale: refreshed (and tried) ``seconds`` ago."""
        from sqlalchemy import update

        from xero_panel.models import SyncState

        then = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
        with self.state_session() as session:
            session.execute(
                update(SyncState)
                .where(SyncState.organisation_id == self.org_id)
                .values(fresh_at=then, last_error_at=None, last_call_at=then, retry_at=None)
            )
            session.commit()

    def sync_state(self) -> Any:
        from xero_panel.models import SyncState

        with self.state_session() as session:
            return session.get(SyncState, self.org_id)

    def calls(self) -> dict[str, Any]:
        return tenant_calls(self.emulator, self.tenant_id)

    def invoice(self, xero_id: str) -> Any:
        from sqlalchemy import select
        from sqlalchemy.orm import selectinload

        from xero_panel.models import Invoice

        with self.state_session() as session:
            return session.scalars(
                select(Invoice)
                .where(Invoice.xero_id == xero_id)
                .options(selectinload(Invoice.payments))
            ).first()

    def count(self) -> int:
        from sqlalchemy import func, select

        from xero_panel.models import Invoice

        with self.state_session() as session:
            return int(session.scalar(select(func.count()).select_from(Invoice)))

    def contact_id(self, index: int) -> str:
        return str(self.seed["tenants"][0]["Contacts"][index]["ContactID"])

    def invoice_like(self, **match: Any) -> dict[str, Any]:
        for invoice in self.seed["tenants"][0]["Invoices"]:
            if all(invoice.get(k) == v for k, v in match.items()):
                return dict(invoice)
        raise AssertionError(f"no invoice like {match}")


def _invoice_truth(status: Any, total: Any, due: Any, paid: Any, payments: Any) -> tuple[Any, ...]:
    """An invoice as :func:`xero_truth` and :func:`cached_truth` compare it (Xero's or the
    cache's: both have ``payment_id`` and ``amount`` on their payments)."""
    return (status, total, due, paid, sorted((p.payment_id.lower(), p.amount) for p in payments))


def xero_truth(emulator_url: str, tokens: Any, tenant_id: str) -> dict[str, Any]:
    """What Xero (the emulator) holds that the cache must equal: every ACCREC invoice
    (amounts and payments), every ACCRECCREDIT credit note, every contact ID."""
    client = make_client(emulator_url, tokens)
    invoices = {
        i.invoice_id.lower(): _invoice_truth(
            i.status, i.total, i.amount_due, i.amount_paid, i.payments
        )
        for page in client.iter_invoice_pages(tenant_id, where='Type=="ACCREC"')
        for i in page
    }
    notes = {
        n.credit_note_id.lower(): (n.status, n.total, n.remaining_credit)
        for page in client.iter_credit_note_pages(tenant_id, where='Type=="ACCRECCREDIT"')
        for n in page
    }
    contacts = {
        c.contact_id.lower()
        for page in client.iter_contact_pages(tenant_id, include_archived=True)
        for c in page
    }
    return {"invoices": invoices, "credit_notes": notes, "contacts": contacts}


def cached_truth(engine: Any, organisation_id: int) -> dict[str, Any]:
    """The same picture read from the cache; fails on any duplicate row."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session, selectinload

    from xero_panel.models import Invoice, XeroContact

    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(Invoice)
                .where(Invoice.organisation_id == organisation_id)
                .options(selectinload(Invoice.payments))
            )
        )
        contact_rows = list(
            session.scalars(
                select(XeroContact.contact_id).where(XeroContact.organisation_id == organisation_id)
            )
        )
    keys = [(r.kind, r.xero_id.lower()) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate cached documents"
    assert len(contact_rows) == len(set(contact_rows)), "duplicate cached contacts"
    payment_ids = [p.payment_id for r in rows for p in r.payments]
    assert len(payment_ids) == len(set(payment_ids)), "duplicate cached payments"
    invoices = {
        r.xero_id.lower(): _invoice_truth(r.status, r.total, r.balance, r.amount_paid, r.payments)
        for r in rows
        if r.kind == "invoice"
    }
    notes = {
        r.xero_id.lower(): (r.status, r.total, r.balance) for r in rows if r.kind == "credit_note"
    }
    return {
        "invoices": invoices,
        "credit_notes": notes,
        "contacts": {c.lower() for c in contact_rows},
    }

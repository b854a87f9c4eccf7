"""A reconciliation in chunks, as a state machine against the emulator: chunks of any size,
continuations and fresh jobs, interleaved with what Xero and the other syncs do meanwhile
(silent changes, new contacts fetched by a webhook, Xero failing). At every step no contact
Xero still has leaves the cache; once a reconciliation that began after the last change
ends, the cache holds what a full sync would read."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from tests._sync_support import FakeTime, generated_seed
from tests.stateful_settings import stateful_settings
from tests.test_reconcile_chunks import PAGE, cache
from tests.test_sync_engine import World
from xero_panel.exceptions import XeroPanelError
from xero_panel.models import Invoice, ReconcileSeen, XeroContact
from xero_panel.sync import engine
from xero_panel.sync.reconcile import reconcile

QUIET = {"bump_updated": False, "fire_webhook": False}


class ReconcileInChunks(RuleBasedStateMachine):
    database_url = "sqlite://"

    @initialize()
    def start(self) -> None:
        self.w = World(self.database_url, generated_seed(24, n_contacts=8, n_credit_notes=4))
        self.fake = FakeTime(self.w.emulator)
        self.w.full(page_size=PAGE, client=self.client())
        self.kept = self.xero_contacts()

    def teardown(self) -> None:
        if hasattr(self, "w"):
            self.w.close()

    # -- what Xero and the other syncs do ----------------------------------------------

    def client(self) -> Any:
        """A client whose minute has room, at Xero too (its limits are not what this test is
        about; the clock stands still, so tokens do not expire)."""
        self.w.emulator.limiter.reset()
        return self.w.client(fake=self.fake, max_retries=1)

    def xero_contacts(self) -> set[str]:
        """Xero's contacts, read from the emulator's store (no call: a fault may be set)."""
        return {c.lower() for c in self.w.emulator.tenant(self.w.tenant_id).contacts}

    def cached(self, column: Any, *where: Any) -> list[Any]:
        with self.w.session() as session:
            return list(session.scalars(select(column).where(*where).order_by(column)))

    @rule(which=st.integers(0, 100), merge=st.booleans())
    def contact_archived_quietly(self, which: int, merge: bool) -> None:
        contacts = self.cached(XeroContact.contact_id)
        gone, into = contacts[which % len(contacts)], contacts[(which + 1) % len(contacts)]
        body = {"ContactID": gone, "ContactStatus": "ARCHIVED"}
        if merge:
            body["MergedToContactID"] = into
        self.w.emulator.apply_change("Contacts", self.w.tenant_id, body, **QUIET)

    @rule(which=st.integers(0, 100), void=st.booleans())
    def open_invoice_changed_quietly(self, which: int, void: bool) -> None:
        open_ = self.cached(
            Invoice.xero_id, Invoice.status == "AUTHORISED", Invoice.kind == "invoice"
        )
        if not open_:
            return
        body = {"InvoiceID": open_[which % len(open_)]}
        body.update({"Status": "VOIDED"} if void else {"DueDate": f"2031-01-{which % 28 + 1:02d}"})
        self.w.emulator.apply_change("Invoices", self.w.tenant_id, body, **QUIET)

    @rule(low=st.booleans(), fetched=st.booleans())
    def contact_created(self, low: bool, fetched: bool) -> None:
        """A new contact in Xero, its ID sorting first or anywhere; a webhook's fetch stores
        it (``fetched``), between two chunks of a reconciliation maybe."""
        new = str(uuid.UUID(int=uuid.uuid4().int >> 8)) if low else str(uuid.uuid4())
        self.w.emulator.apply_change(
            "Contacts",
            self.w.tenant_id,
            {"ContactID": new, "Name": f"New {new[:8]}"},
            fire_webhook=False,
        )
        if fetched:  # a fetch Xero fails stores nothing
            with self.w.session() as session, contextlib.suppress(XeroPanelError):
                engine.sync_by_ids(
                    session, self.w.org_id, self.client(), contact_ids=[new], page_size=PAGE
                )

    @rule(endpoint=st.sampled_from(["Contacts", "CreditNotes", "Invoices"]))
    def xero_fails_next(self, endpoint: str) -> None:
        self.w.emulator.add_fault({"endpoint": endpoint, "status": 500, "times": 2})

    # -- the reconciliation ------------------------------------------------------------

    @rule(pages=st.integers(1, 4), continuing=st.booleans())
    def a_chunk(self, pages: int, continuing: bool) -> None:
        self.kept = self.cached_that_xero_has()
        # Xero's failure is recorded; the next one resumes.
        with self.w.session() as session, contextlib.suppress(XeroPanelError):
            reconcile(
                session,
                self.w.org_id,
                self.client(),
                page_size=PAGE,
                pause=lambda done: done >= pages,
                continuing=continuing,
            )

    @rule()
    def reconciled_after_every_change(self) -> None:
        """Any unfinished reconciliation run to its end, then one that began after the
        last change: the cache is what a full sync reads afresh."""
        self.w.emulator.faults.clear()
        self.kept = self.cached_that_xero_has()
        for _ in range(2):
            with self.w.session() as session:
                result = reconcile(session, self.w.org_id, self.client(), page_size=PAGE)
            assert not result.paused
        assert self.w.state().reconcile_phase is None
        assert self.cached(ReconcileSeen.xero_id) == []
        reconciled = cache(self.w)
        self.w.full(page_size=PAGE, client=self.client())
        assert cache(self.w) == reconciled

    def cached_that_xero_has(self) -> set[str]:
        cached = {c.lower() for c in self.cached(XeroContact.contact_id)}
        return cached & self.xero_contacts()

    @invariant()
    def no_contact_xero_has_leaves_the_cache(self) -> None:
        if not hasattr(self, "w"):
            return
        cached = {c.lower() for c in self.cached(XeroContact.contact_id)}
        assert self.kept <= cached, self.kept - cached


@pytest.mark.timeout(600)
def test_a_reconciliation_in_chunks_keeps_the_cache_true(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ReconcileInChunks, "database_url", database_url)
    run = ReconcileInChunks.TestCase
    run.settings = stateful_settings(examples=40, steps=16)
    run().runTest()

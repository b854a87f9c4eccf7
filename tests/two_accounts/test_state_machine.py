"""A stateful property test of what reps and admins see while Xero fails and recovers.

Hypothesis drives Acme's rep and admin against the emulator with faults injected and cleared
(dropped connections, 500, 503, 429 for the minute and for the day, slow answers, the grant
revoked), the clock moved, Xero changing an invoice and sending its webhook, and the rep
(view, *Refresh*) and admin (*Test connection*, *Refresh now*, *Reconnect* + *Save*) acting
in any order. After every step:

* the rep's panel has at most one notice, its ``data-reason`` is the admin's ``data-state``
  for the organisation (or there is no notice and the state is ``ok``), and no rep-facing text
  holds an HTTP status;
* "Updated just now" appears only after a call that completed and was stored;
* "needs reconnect" appears only when the grant was really revoked (outages never turn into
  it);

* no background job fails (a Xero problem is recorded, not raised);

and rules check recovery: once every fault is cleared (and a revoked grant reconnected),
within one retry interval (the backoff's cap, or Xero's Retry-After for a 429) and with no
admin action, the rep's next view has fresh data and no notice, and an invoice Xero changed
(its webhook arrived while Xero failed, or not) shows what Xero holds.

Set-ups: SQLite and PostgreSQL with the embedded thread runner, and PostgreSQL with Redis
(locks, rate budget, call counts) and RQ (jobs in Redis run by a real RQ worker, in a thread
of this process so that the test's stopped clock holds for it too; tests/two_accounts/
background.py). Each runs ``EXAMPLES`` examples of up to ``STEPS`` steps. Waiting for Xero's
budget (a full sync meeting a 429's Retry-After) moves the test's clock instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select

from tests import conftest
from tests.admin_support import connect, press_test_connection, save
from tests.clock import Clock
from tests.conftest import REDIS_URL, HostApp
from tests.stateful_settings import stateful_settings
from tests.two_accounts import SUPPLIES
from tests.two_accounts.background import RQWorkerThread, Threads
from tests.two_accounts.test_recovery import (
    SETTINGS,
    admin_state,
    notices,
    rep_refresh,
    rep_view,
)
from tests.webhook_support import payload
from tests.xero_flow import csrf_from, emulator_settings
from xero_panel.models import Invoice, SyncState
from xero_panel.records import CRMRecord
from xero_panel.state import get_state
from xero_panel.sync import state as sync_state
from xero_panel.web.webhook_routes import signature_of
from xero_panel.xero.client import XeroClient

EXAMPLES = 6
STEPS = 12
FAULTS = {
    "drop": {"endpoint": "Invoices", "drop": True},
    "500": {"endpoint": "Invoices", "status": 500},
    "503": {"endpoint": "Invoices", "status": 503},
    "429-minute": {"endpoint": "Invoices", "status": 429},
    "429-day": {"endpoint": "Invoices", "status": 429, "detail": "day"},
    # Every call answered after SLOW_AFTER + 0.3 s (SLOW_CALL is lowered to SLOW_AFTER).
    "slow": {"delay_ms": 600},
}
#: The test's threshold for a slow Xero answer (the plugin's SLOW_CALL is 5 s).
SLOW_AFTER = 0.3
#: The emulator's Retry-After on a 429.
RETRY_AFTER = 60
WEBHOOK_KEY = "state-machine-webhook-key"
RECORD_CONTACT = "Totara Events Group"
HTTP_STATUS = re.compile(r"\b(HTTP|[45]\d\d)\b")


class XeroTroubles(RuleBasedStateMachine):
    """Acme's rep and admin while Xero misbehaves (see the module's docs)."""

    host: HostApp
    xero: Any
    clock: Clock
    acme: Any
    background: Threads | RQWorkerThread
    #: The grant is revoked at Xero and not reconnected yet (kept across examples: they
    #: share the host).
    grant_gone = False

    def __init__(self) -> None:
        super().__init__()
        self.rep = self.host.client("rep-acme")
        self.faulty = False
        self.revoked = False
        self.page = ""
        #: Invoices Xero changed (and sent webhooks for) in this example.
        self.changed: set[str] = set()
        # Start each example from a healthy organisation, whatever the last one left.
        self.xero.faults.clear()
        if XeroTroubles.grant_gone:
            self.admin_reconnects_and_saves()
        self.clock.advance(seconds=3600)
        self.page = rep_view(self.host, self.rep)
        self.page = rep_view(self.host, self.rep)
        assert notices(self.page) == [], notices(self.page)

    # -- Xero misbehaves and recovers ------------------------------------------------------

    @rule(fault=st.sampled_from(sorted(FAULTS)))
    def xero_fails(self, fault: str) -> None:
        self.xero.add_fault(FAULTS[fault])
        self.faulty = True

    @rule()
    def xero_recovers(self) -> None:
        self.xero.faults.clear()
        self.faulty = False

    @precondition(lambda self: not self.revoked)
    @rule()
    def grant_revoked(self) -> None:
        self.xero.add_fault({"revoke_tenant": SUPPLIES})
        self.revoked = XeroTroubles.grant_gone = True

    @rule(seconds=st.sampled_from([1, 10, 30, 61, 600]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule(data=st.data())
    def xero_changes_an_invoice(self, data: st.DataObject) -> None:
        """A payment lands in Xero, which sends its webhook (whatever else it is failing)."""
        payable = self._payable()
        if not payable:
            return
        invoice = data.draw(st.sampled_from(payable))
        self.xero.add_payment(SUPPLIES, invoice["InvoiceID"], {"Amount": 1})
        event = {
            "resourceUrl": f"{self.xero.url}/api.xro/2.0/Invoices/{invoice['InvoiceID']}",
            "resourceId": invoice["InvoiceID"],
            "eventDateUtc": self.clock.now.strftime("%Y-%m-%dT%H:%M:%S.000"),
            "eventType": "UPDATE",
            "eventCategory": "INVOICE",
            "tenantId": SUPPLIES,
            "tenantType": "ORGANISATION",
        }
        body = payload(event)
        answer = self.host.app.test_client().post(
            "/integrations/xero/webhooks",
            data=body,
            headers={"x-xero-signature": signature_of(body, WEBHOOK_KEY)},
            content_type="application/json",
        )
        assert answer.status_code == 200, answer.status_code
        self.background.settle()
        self.changed.add(invoice["InvoiceID"])
        retry_at = self._sync_state().retry_at
        waiting = retry_at is not None and retry_at > self.clock.now
        if not (self.faulty or self.revoked or waiting):  # the webhook's fetch brought it
            at_xero = self.xero.get_object("Invoices", SUPPLIES, invoice["InvoiceID"])
            assert self._cached_paid(invoice["InvoiceID"]) == Decimal(str(at_xero["AmountPaid"]))

    # -- the rep ---------------------------------------------------------------------------

    @rule()
    def rep_views(self) -> None:
        self.page = self._view()

    @rule()
    def rep_refreshes(self) -> None:
        before = self.clock.now
        answer = rep_refresh(self.rep, self.page or self._view())
        self.background.settle()
        if "Updated just now" in answer:
            state = self._sync_state()
            assert state.trouble in (None, "slow"), state.trouble
            assert state.last_call_at is not None and state.last_call_at >= before
        self.page = answer

    # -- the admin -------------------------------------------------------------------------

    @rule()
    def admin_tests_the_connection(self) -> None:
        press_test_connection(self.acme)
        self.background.settle()

    @rule()
    def admin_refreshes_now(self) -> None:
        # A minute on: with this test's clock standing still, a background sync that finds
        # the minute's budget spent would wait for it in real time.
        self.clock.advance(seconds=61)
        token = csrf_from(self.acme.get(SETTINGS).text)
        self.acme.post("/integrations/xero/refresh", data={"csrf_token": token})
        self.background.settle()

    @precondition(lambda self: self.revoked)
    @rule()
    def admin_reconnects_and_saves(self) -> None:
        faults = [dict(f) for f in self.xero.faults.list()] if self.faulty else []
        self.xero.faults.clear()  # Xero's consent page works during an API outage too
        self.clock.advance(seconds=61)  # (see admin_refreshes_now)
        connect(self.acme, tenants=[SUPPLIES])
        save(self.acme, [SUPPLIES])
        self.background.settle()
        for fault in faults:
            self.xero.add_fault(fault)
        self.revoked = XeroTroubles.grant_gone = False

    # -- recovery ---------------------------------------------------------------------------

    @precondition(lambda self: not self.faulty and not self.revoked)
    @rule()
    def everyone_sees_the_recovery_without_an_admin(self) -> None:
        # One retry interval at most: the backoff's cap (the cache TTL) or Xero's own
        # Retry-After (60 s for the emulator's 429), whichever is later.
        retry_at = self._sync_state().retry_at
        if retry_at is not None:
            assert retry_at <= self.clock.now + dt.timedelta(seconds=RETRY_AFTER), (
                "waiting longer than Xero's Retry-After"
            )
        ttl = get_state(self.host.app).settings.cache_ttl
        self.clock.advance(seconds=max(ttl, RETRY_AFTER) + 1)
        self._view()
        self.page = self._view()
        assert notices(self.page) == [], notices(self.page)
        assert admin_state(self.acme) == "ok"
        assert self._sync_state().fresh_at == self.clock.now
        for invoice_id in self.changed:  # what the webhooks announced is in the cache
            cached = self._cached_paid(invoice_id)
            at_xero = self.xero.get_object("Invoices", SUPPLIES, invoice_id)["AmountPaid"]
            assert cached == Decimal(str(at_xero)), (invoice_id, cached, at_xero)

    # -- after every step ---------------------------------------------------------------------

    @invariant()
    def the_rep_and_the_admin_see_one_state(self) -> None:
        # A view may start a refresh; the second, once it has ended, shows its outcome.
        self._view()
        page = self._view()
        shown = notices(page)  # asserts at most one
        state = admin_state(self.acme)
        if shown:
            ((reason, text),) = shown
            assert reason == state, (reason, state)
            assert not HTTP_STATUS.search(text), text
        else:
            assert state == "ok", state
        if state == "needs-reconnect":
            assert self.revoked, "an outage turned into 'reconnect'"

    def _view(self) -> str:
        page = rep_view(self.host, self.rep)
        self.background.settle()
        return page

    def _payable(self) -> list[dict[str, Any]]:
        """The record's customer's invoices in Xero with at least 1 still to pay."""
        found = self.xero.list_objects("Invoices", SUPPLIES, {}, None)
        return [
            i
            for i in found.items
            if i["Contact"]["Name"] == RECORD_CONTACT
            and i["Type"] == "ACCREC"
            and i["Status"] == "AUTHORISED"
            and i["AmountDue"] >= 1
        ]

    def _cached_paid(self, invoice_id: str) -> Any:
        with self.host.app.app_context():
            found = select(Invoice.amount_paid).where(Invoice.xero_id == invoice_id)
            return self.host.db.session.scalars(found).one()

    def _sync_state(self) -> SyncState:
        with self.host.app.app_context():
            return self.host.db.session.scalars(select(SyncState)).one()


def run_machine(
    host: HostApp,
    xero: Any,
    clock: Clock,
    background: Threads | RQWorkerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Waiting for Xero's budget or its Retry-After (a full sync waits a while) moves the
    # stopped clock instead of sleeping.
    def time_passes(seconds: float) -> None:
        clock.advance(seconds=seconds)

    get_state(host.app).backends.budget._sleep = time_passes  # type: ignore[attr-defined]
    monkeypatch.setattr(sync_state, "SLOW_CALL", SLOW_AFTER)  # a slow Xero in 0.6 s, not 5
    monkeypatch.setitem(XeroClient.__init__.__kwdefaults__, "sleep", time_passes)
    acme = host.client("admin-acme")
    connect(acme, tenants=[SUPPLIES])
    save(acme, [SUPPLIES])
    background.settle()
    XeroTroubles.host, XeroTroubles.xero, XeroTroubles.clock = host, xero, clock
    XeroTroubles.acme, XeroTroubles.grant_gone = acme, False
    XeroTroubles.background = background
    run = XeroTroubles.TestCase
    run.settings = stateful_settings(EXAMPLES, STEPS)
    try:
        run().runTest()
    finally:
        background.close()


@pytest.fixture(autouse=True)
def _record_nine(monkeypatch: Any) -> None:
    """Acme's account 9, the record the rep views: Xero's Totara Events Group."""
    monkeypatch.setitem(conftest.RECORDS, ("acme", "account", "9"), CRMRecord(RECORD_CONTACT))


@pytest.mark.timeout(900)
def test_what_reps_and_admins_see_follows_xero(
    clock: Clock,
    make_host: Any,
    own_database_url: str,
    xero: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = make_host(
        own_database_url, XERO_PANEL_WEBHOOK_KEY=WEBHOOK_KEY, **emulator_settings(xero)
    )
    run_machine(host, xero, clock, Threads(host.app), monkeypatch)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(900)
def test_what_reps_and_admins_see_follows_xero_with_redis_and_rq(
    clock: Clock,
    make_host: Any,
    own_postgres_url: str,
    redis_prefix: str,
    xero: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = make_host(
        own_postgres_url,
        XERO_PANEL_WEBHOOK_KEY=WEBHOOK_KEY,
        XERO_PANEL_REDIS_URL=REDIS_URL,
        XERO_PANEL_REDIS_PREFIX=f"{redis_prefix}:",
        XERO_PANEL_RQ_QUEUE=f"{redis_prefix}-queue",
        **emulator_settings(xero),
    )
    background = RQWorkerThread(host.app)
    try:
        run_machine(host, xero, clock, background, monkeypatch)
    finally:
        for key in background.connection.scan_iter(f"rq:*{redis_prefix}-queue*"):
            background.connection.delete(key)

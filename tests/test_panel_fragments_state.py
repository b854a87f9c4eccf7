"""A stateful property test of the fragment cache: every panel it serves is the panel a fresh
render gives at that moment, and never another CRM account's.

Two host apps share one database: ``cached`` (the fragment cache on, as shipped) and
``fresh`` (``XERO_PANEL_FRAGMENT_CACHE = False``). Hypothesis interleaves syncs (the cache's
freshness moves, a new invoice arrives), webhook writes (Xero changes an invoice: a payment,
a new due date, with a newer ``UpdatedDateUTC``), changes of what matching reads (a
contact's name or email, a twin contact, merged or not, a customer or not, its first sale),
pins and unpins, links and unlinks (through the panel's own routes, with the CSRF token the
cached answer carried), locale changes, the clock moving across midnight in Auckland and in
UTC, and views (any view, sort, search, page, live reload) by Acme's rep and admin and
Globex's admin. Globex's contact 1 has the same record type and id as Acme's contact 1.
After every view, the cached app's answer equals the fresh
app's (status, ``HX-Replace-Url`` and HTML, the CSRF token aside) and holds no invoice of the
other account.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule
from sqlalchemy import select

from tests import conftest
from tests.clock import Clock
from tests.conftest import HostApp
from tests.panel_app import HX, PANEL
from tests.panel_fixtures import Cache, xero_contact, xero_sale
from tests.stateful_settings import stateful_settings
from xero_panel.models import Invoice, Organisation, SyncState
from xero_panel.records import CRMRecord
from xero_panel.state import get_state
from xero_panel.sync.cache_writer import CacheWriter
from xero_panel.sync.scheduling import CacheOnlyScheduler
from xero_panel.xero.types import Contact as XeroContactData
from xero_panel.xero.types import Invoice as XeroInvoiceData

EXAMPLES = 6
STEPS = 25
#: Who views which records (Globex's contact 1 shares Acme's contact 1's type and id).
VIEWS = {
    "rep-acme": ["/contact/1", "/account/1", "/deal/1"],
    "admin-acme": ["/contact/1", "/account/1"],
    "admin-globex": ["/contact/1"],
}
ACCOUNT_OF = {"rep-acme": "acme", "admin-acme": "acme", "admin-globex": "globex"}
#: Each account's contact (name and email) its records match.
CONTACT_OF = {
    "acme": ("Barney Rubble-83203", "kat.warren@clampett.com"),
    "globex": ("Lisa Parker", "lisa@parker.test"),
}
#: Every invoice number starts with its CRM account's word.
WORD = {"acme": "ACME-", "globex": "GLOBEX-"}
CSRF = re.compile(r'"X-CSRFToken": "([^"]*)"')
PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "view": st.sampled_from(["unpaid", "open", "overdue", "paid", "pinned", "all"]),
        "sort": st.sampled_from(["date", "due", "balance"]),
        "q": st.sampled_from(["1", "ACME", "GLOBEX", " 3 "]),
        "age": st.sampled_from(["current", "1-30"]),
        "page": st.sampled_from(["1", "2"]),
    },
)


def token_in(page: str) -> str | None:
    found = CSRF.search(html.unescape(page))
    return found.group(1) if found else None


class FragmentsFollowTheData(RuleBasedStateMachine):
    """Views through the fragment cache against fresh renders (see the module's docs)."""

    cached: HostApp
    fresh: HostApp
    clock: Clock
    locale: list[str]
    #: Xero's UpdatedDateUTC of the last change (every change is later than the last).
    stamp = 0

    def __init__(self) -> None:
        super().__init__()
        self.clients = {
            user: (self.cached.client(user), self.fresh.client(user)) for user in ACCOUNT_OF
        }
        self.tokens: dict[str, str] = {}
        #: Each user's last view (record and query), which a reload repeats.
        self.last: dict[str, tuple[str, str, bool]] = {}

    def _session(self) -> Any:
        return self.cached.db.session

    def _updated(self) -> dt.datetime:
        FragmentsFollowTheData.stamp += 1
        return self.clock.now + dt.timedelta(milliseconds=FragmentsFollowTheData.stamp)

    # -- what changes ----------------------------------------------------------------------

    @rule(account=st.sampled_from(["acme", "globex"]), new_invoice=st.booleans())
    def sync(self, account: str, new_invoice: bool) -> None:
        with self.cached.app.app_context():
            session = self._session()
            org = session.scalars(
                select(Organisation).where(Organisation.name == f"{account} books")
            ).one()
            session.get(SyncState, org.id).fresh_at = self.clock.now
            if new_invoice:
                contact = "c-acme" if account == "acme" else "c-globex"
                number = f"{WORD[account]}{FragmentsFollowTheData.stamp + 100}"
                invoice = Cache(session, today=self.clock.today).invoice(
                    org, contact, number=number, due=self.clock.days(1), total="12.00"
                )
                invoice.updated_at = self._updated()
            session.commit()

    @rule(pick=st.integers(0, 99), change=st.sampled_from(["pay", "due-earlier", "due-later"]))
    def webhook_write(self, pick: int, change: str) -> None:
        with self.cached.app.app_context():
            session = self._session()
            invoices = session.scalars(
                select(Invoice).where(Invoice.kind == "invoice").order_by(Invoice.id)
            ).all()
            invoice = invoices[pick % len(invoices)]  # drawn first: the rows vary by example
            if change == "pay" and invoice.balance > 0:
                invoice.amount_paid += Decimal("1.00")
                invoice.balance -= Decimal("1.00")
                if invoice.balance == 0:
                    invoice.status = "PAID"
                    invoice.fully_paid_on = self.clock.today
            elif invoice.due_date is not None:
                days = -1 if change == "due-earlier" else 1
                invoice.due_date += dt.timedelta(days=days)
            invoice.updated_at = self._updated()
            session.commit()

    @rule(
        pick=st.integers(0, 99),
        user=st.sampled_from(["rep-acme", "admin-globex"]),
        pin=st.booleans(),
    )
    def pin_or_unpin(self, pick: int, user: str, pin: bool) -> None:
        """Through the route, with the token of the user's cached answer just before."""
        self._compare(user, "/contact/1", "", False)
        token = self.tokens.get(user)
        if token is None:
            return
        with self.cached.app.app_context():
            account = ACCOUNT_OF[user]
            rows = self._session().execute(
                select(Invoice.organisation_id, Invoice.xero_id)
                .where(Invoice.number.startswith(WORD[account]))
                .order_by(Invoice.id)
            )
            found = rows.all()
            org_id, xero_id = found[pick % len(found)]
        client = self.clients[user][0]
        path = f"{PANEL}/contact/1/pins/{org_id}/{xero_id}"
        send = client.post if pin else client.delete
        answer = send(path, headers={**HX, "X-CSRFToken": token})
        # 404: an invoice of a contact the record is not linked to (Kauri's, unlinked).
        assert answer.status_code in (200, 404), answer.get_data(as_text=True)

    @rule(link=st.booleans())
    def link_or_unlink(self, link: bool) -> None:
        self._compare("admin-acme", "/contact/1", "", False)
        token = self.tokens.get("admin-acme")
        if token is None:
            return
        with self.cached.app.app_context():
            org_id = (
                self._session()
                .scalars(select(Organisation.id).where(Organisation.name == "acme books"))
                .one()
            )
        client = self.clients["admin-acme"][0]
        headers = {**HX, "X-CSRFToken": token}
        if link:
            data = {"organisation_id": str(org_id), "contact_id": "c-kauri"}
            answer = client.post(f"{PANEL}/contact/1/links", data=data, headers=headers)
        else:
            answer = client.delete(f"{PANEL}/contact/1/links/{org_id}/c-kauri", headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        self.tokens["admin-acme"] = token_in(answer.get_data(as_text=True)) or token

    @rule(
        account=st.sampled_from(["acme", "globex"]),
        change=st.sampled_from(["name", "email", "twin", "twin-sale"]),
        flag=st.booleans(),
        other=st.booleans(),
    )
    def contact_changes(self, account: str, change: str, flag: bool, other: bool) -> None:
        """Xero changes what matching reads, stored as a sync stores it (``CacheWriter``,
        which counts up the organisation's ``match_version``): the contact's name or email
        moves away or back; a twin with the record's email appears, a customer or not,
        merged into the contact or not; the twin gets a sales invoice (a contact that is
        not a customer matches once it has one)."""
        with self.cached.app.app_context():
            session = self._session()
            org_id = session.scalars(
                select(Organisation.id).where(Organisation.name == f"{account} books")
            ).one()
            writer = CacheWriter(session, org_id)
            name, email = CONTACT_OF[account]
            if change == "twin-sale":
                writer.write("invoices", [self._sale(account, f"c-{account}-twin")])
                return
            if change == "twin":
                contact_id, twin = f"c-{account}-twin", f"{name} (old)"
                merged = f"c-{account}" if other else None
                contact = self._contact(contact_id, twin, email, customer=flag, merged=merged)
            else:
                name = f"{name} Ltd" if change == "name" and flag else name
                email = "moved@elsewhere.test" if change == "email" and flag else email
                contact = self._contact(f"c-{account}", name, email, customer=True, merged=None)
            writer.write("contacts", [contact])

    def _contact(
        self, contact_id: str, name: str, email: str, *, customer: bool, merged: str | None
    ) -> XeroContactData:
        return xero_contact(
            contact_id, name, email, customer=customer, merged=merged, updated=self._updated()
        )

    def _sale(self, account: str, contact_id: str) -> XeroInvoiceData:
        stamp = FragmentsFollowTheData.stamp
        return xero_sale(
            f"i-{account}-{stamp}",
            f"{WORD[account]}T{stamp}",
            contact_id,
            today=self.clock.today,
            updated=self._updated(),
        )

    @rule(locale=st.sampled_from(["en", "en_NZ", "de_DE", "fr"]))
    def locale_changes(self, locale: str) -> None:
        self.locale[0] = locale

    @rule(hours=st.sampled_from([1, 5, 11, 13, 24, 24 * 31]))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)
        self.tokens.clear()  # Flask-WTF's tokens last an hour: the next view brings one

    # -- what is seen ----------------------------------------------------------------------

    @rule(data=st.data(), user=st.sampled_from(sorted(ACCOUNT_OF)), live=st.booleans())
    def view(self, data: st.DataObject, user: str, live: bool) -> None:
        record = data.draw(st.sampled_from(VIEWS[user]))
        params = data.draw(PARAMS)
        self._compare(user, record, "&".join(f"{k}={v}" for k, v in params.items()), live)

    @rule(user=st.sampled_from(sorted(ACCOUNT_OF)))
    def reload(self, user: str) -> None:
        """The user's last view again (a reload, a colleague, a switch back to it)."""
        if user in self.last:
            self._compare(user, *self.last[user])

    def _compare(self, user: str, record: str, query: str, live: bool) -> None:
        self.last[user] = (record, query, live)
        headers = {**HX, "HX-Current-URL": f"http://crm.test/crm{record}?tab=xero"}
        if live:
            headers["X-Xero-Panel-Live"] = "1"
        cached_client, fresh_client = self.clients[user]
        served = cached_client.get(f"{PANEL}{record}?{query}", headers=headers)
        rendered = fresh_client.get(f"{PANEL}{record}?{query}", headers=headers)
        page, expected = served.get_data(as_text=True), rendered.get_data(as_text=True)
        assert served.status_code == rendered.status_code, (page, expected)
        assert served.headers.get("HX-Replace-Url") == rendered.headers.get("HX-Replace-Url")
        assert CSRF.sub("TOKEN", page) == CSRF.sub("TOKEN", expected)
        others = [w for a, w in WORD.items() if a != ACCOUNT_OF[user]]
        assert not any(w in page for w in others), page
        if token_in(page):
            self.tokens[user] = token_in(page) or ""


def run_machine(cached: HostApp, fresh: HostApp, clock: Clock) -> None:
    seed(cached, fresh, clock)
    _run(cached)


def _books(cached: HostApp, fresh: HostApp, clock: Clock, locale: list[str]) -> None:
    for host in (cached, fresh):
        get_state(host.app).scheduler = CacheOnlyScheduler()
        host.panel.locale_selector(lambda: locale[0])
    with cached.app.app_context():
        session = cached.db.session
        cache = Cache(session, today=clock.today)
        for account, zone in (("acme", "Pacific/Auckland"), ("globex", "UTC")):
            org = cache.organisation(
                cache.connection(account), f"{account} books", timezone=zone, short_code=None
            )
            cache.synced(org, clock.now - dt.timedelta(minutes=5))
            name, email = CONTACT_OF[account]
            contact = cache.contact(org, name, email=email, contact_id=f"c-{account}")
            for n, due in enumerate((-40, -1, 0, 1, 30)):
                cache.invoice(
                    org,
                    contact,
                    number=f"{WORD[account]}{n}",
                    date=clock.days(-60 + n),
                    due=clock.days(due),
                    total=f"{10 * (n + 1)}.00",
                    payments=[(clock.days(-3), "5.00")] if n == 1 else (),
                ).updated_at = clock.now - dt.timedelta(days=1)
            if account == "acme":
                kauri = cache.contact(org, "Kauri Cafe", contact_id="c-kauri")
                cache.invoice(org, kauri, number="ACME-K1", due=clock.days(2))
        session.commit()


def seed(cached: HostApp, fresh: HostApp, clock: Clock) -> None:
    """Both apps on the cache only, one locale for both; the two accounts' books."""
    locale = ["en"]
    _books(cached, fresh, clock, locale)
    FragmentsFollowTheData.cached = cached
    FragmentsFollowTheData.fresh = fresh
    FragmentsFollowTheData.clock = clock
    FragmentsFollowTheData.locale = locale


def _run(cached: HostApp) -> None:
    run = FragmentsFollowTheData.TestCase
    run.settings = stateful_settings(EXAMPLES, STEPS)
    store = get_state(cached.app).backends.fragments
    hits: list[str] = []
    looked_up = store.get

    def get(key: str) -> str | None:
        found = looked_up(key)
        if found is not None:
            hits.append(key)
        return found

    store.get = get  # type: ignore[method-assign]
    run().runTest()
    # The test means something only if views were served from the cache.
    assert len(hits) >= EXAMPLES, len(hits)
    print(f"fragment cache: {len(hits)} hits over {EXAMPLES} examples")


@pytest.mark.timeout(600)
def test_served_fragments_equal_fresh_renders(
    make_host: Any, own_database_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        conftest.RECORDS,
        ("globex", "contact", "1"),
        CRMRecord("Lisa Parker", emails=["lisa@parker.test"]),
    )
    cached = make_host(own_database_url, XERO_PANEL_PAGE_SIZE=3)
    fresh = make_host(own_database_url, XERO_PANEL_PAGE_SIZE=3, XERO_PANEL_FRAGMENT_CACHE=False)
    run_machine(cached, fresh, clock)

"""Kept matches (xero_panel/known_matches.py): reused only while their stamp stands.

The stamp's counters move in the transaction of every write that can change a match
(``CacheWriter``: contacts, a sales invoice new to the cache or moved to another contact;
``link_contact``/``unlink_contact``), and not for writes that cannot (a payment on a known
invoice); a view after such a write works the match out again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tracemalloc

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.clock import TODAY
from tests.panel_app import Seeded, rows
from tests.panel_fixtures import Cache, xero_contact, xero_sale
from xero_panel.known_matches import (
    DEFAULT_MAX_ENTRIES,
    KnownMatches,
    MatchStamp,
    NoKnownMatches,
)
from xero_panel.matching import Match, MatchedContact, link_contact, unlink_contact
from xero_panel.models import Connection, SyncState
from xero_panel.state import get_state
from xero_panel.sync.cache_writer import CacheWriter
from xero_panel.xero.types import Contact as XeroContactData
from xero_panel.xero.types import Invoice as XeroInvoiceData

STAMP = MatchStamp("acme", "contact", "1", ("a@b.test",), (), ((1, None, 0),), 0)
MATCH = Match(contacts=(MatchedContact(1, "c-1", "A", "email", ("c-1",)),), linked=False)


def contact(contact_id: str, name: str, email: str, *, customer: bool) -> XeroContactData:
    return xero_contact(contact_id, name, email, customer=customer)


def sale(invoice_id: str, contact_id: str, *, paid: str = "0") -> XeroInvoiceData:
    return xero_sale(invoice_id, f"SALE-{invoice_id}", contact_id, today=TODAY, paid=paid)


# -- the store ------------------------------------------------------------------------------


def test_kept_matches_are_found_by_their_whole_stamp() -> None:
    known = KnownMatches()
    known.put(STAMP, MATCH)
    assert known.get(STAMP) is MATCH
    for change in (
        {"crm_account": "globex"},
        {"emails": ("other@b.test",)},
        {"organisations": ((1, None, 1),)},
        {"organisations": ((1, dt.datetime(2026, 1, 1), 0),)},
        {"links_version": 1},
    ):
        assert known.get(dataclasses.replace(STAMP, **change)) is None, change


def test_kept_matches_stay_within_their_count_least_recently_used_first_out() -> None:
    known = KnownMatches(max_entries=3)
    stamps = [dataclasses.replace(STAMP, record_id=str(n)) for n in range(5)]
    for stamp in stamps[:3]:
        known.put(stamp, MATCH)
    assert known.get(stamps[0]) is MATCH  # now the most recently used
    known.put(stamps[3], MATCH)
    known.put(stamps[4], MATCH)
    assert len(known) == 3
    assert [known.get(s) is not None for s in stamps] == [True, False, False, True, True]


def test_kept_matches_memory_stays_bounded_over_10000_records() -> None:
    """The default store over 10,000 distinct records keeps its 5,000 most recent, in about
    6 MB (the figure its docs give)."""
    known = KnownMatches()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for n in range(10_000):
            contact_id = f"8f2b6c1e-0000-4000-8000-{n:012d}"
            stamp = dataclasses.replace(
                STAMP, record_id=str(100_000 + n), emails=(f"someone.{n}@example.test",)
            )
            found = MatchedContact(1, contact_id, f"Customer {n} Ltd", "email", (contact_id,))
            known.put(stamp, Match(contacts=(found,), linked=False))
        held = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert len(known) == DEFAULT_MAX_ENTRIES
    assert held < 8 * 1024 * 1024, held


def test_no_kept_matches_keeps_nothing() -> None:
    nothing = NoKnownMatches()
    nothing.put(STAMP, MATCH)
    assert nothing.get(STAMP) is None


# -- the counters ---------------------------------------------------------------------------


def versions(session: Session, org_id: int) -> int:
    return session.scalars(
        select(SyncState.match_version).where(SyncState.organisation_id == org_id)
    ).one()


def test_writes_that_can_change_a_match_count_up_and_others_do_not(session: Session) -> None:
    cache = Cache(session, today=TODAY)
    org = cache.organisation(cache.connection("acme"))
    cache.synced(org, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    session.commit()
    writer = CacheWriter(session, org.id)
    start = versions(session, org.id)

    writer.write("contacts", [contact("c-1", "A", "a@b.test", customer=False)])
    assert versions(session, org.id) == start + 1  # a contact stored
    writer.write("invoices", [sale("i-1", "c-1")])
    assert versions(session, org.id) == start + 2  # a sales invoice new to the cache
    writer.write("invoices", [sale("i-1", "c-1", paid="10.00")])
    assert versions(session, org.id) == start + 2  # a payment on it: no match changes
    writer.write("invoices", [sale("i-1", "c-2", paid="10.00")])
    assert versions(session, org.id) == start + 3  # moved to another contact
    writer.remove_contacts_except({"c-1"})
    session.commit()
    assert versions(session, org.id) == start + 3  # nothing removed
    writer.remove_contacts_except(set())
    session.commit()
    assert versions(session, org.id) == start + 4


def test_links_and_unlinks_count_up_the_accounts_links_version(session: Session) -> None:
    cache = Cache(session, today=TODAY)
    acme = cache.connection("acme")
    globex = cache.connection("globex")
    org = cache.organisation(acme)
    session.commit()
    key = {
        "crm_account": "acme",
        "record_type": "contact",
        "record_id": "1",
        "organisation_id": org.id,
        "contact_id": "c-1",
    }
    link_contact(session, linked_by="admin", **key)  # type: ignore[arg-type]
    session.commit()
    link_contact(session, linked_by="admin", **key)  # type: ignore[arg-type] # already there
    session.commit()
    assert (acme.links_version, globex.links_version) == (1, 0)
    assert unlink_contact(session, **key) == 1  # type: ignore[arg-type]
    assert unlink_contact(session, **key) == 0  # type: ignore[arg-type] # already gone
    session.commit()
    session.refresh(acme)
    assert acme.links_version == 2
    assert session.get(Connection, globex.id).links_version == 0  # type: ignore[union-attr]


# -- through the panel ----------------------------------------------------------------------


def test_a_view_after_a_twins_first_sale_shows_it(seeded: Seeded) -> None:
    """A contact with the record's email that is not a customer is left out of the match;
    its first sales invoice, stored as a sync stores it, brings it in at the next view,
    though the match was kept."""
    with seeded.host.app.app_context():
        session = seeded.host.db.session
        twin = contact("c-twin", "Kat's other books", "kat.warren@clampett.com", customer=False)
        CacheWriter(session, seeded.org_id).write("contacts", [twin])
    before = {r["data-invoice-number"] for r in rows(seeded.html("/contact/1?view=all"))}
    assert len(get_state(seeded.host.app).backends.matches) == 1  # type: ignore[arg-type]
    with seeded.host.app.app_context():
        session = seeded.host.db.session
        CacheWriter(session, seeded.org_id).write("invoices", [sale("i-twin", "c-twin")])
    after = {r["data-invoice-number"] for r in rows(seeded.html("/contact/1?view=all"))}
    assert after == before | {"SALE-i-twin"}

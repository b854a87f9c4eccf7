"""A reconciliation in chunks (xero_panel/sync/reconcile.py): stopped at any page and
resumed at the next one, it reads each page once and leaves the cache as one run would, and
it removes no contact another sync stored while it was under way. Against the emulator."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests._sync_support import FakeTime, generated_seed
from tests.test_sync_engine import World
from xero_panel.exceptions import XeroPanelError
from xero_panel.models import Invoice, ReconcileSeen, XeroContact
from xero_panel.sync import engine
from xero_panel.sync.reconcile import reconcile

PAGE = 5


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    w = World(database_url, generated_seed(60, n_contacts=12))
    try:
        w.full(page_size=PAGE)
        yield w
    finally:
        w.close()


def run(w: World, pause: Callable[[int], bool] | None, **kwargs: Any) -> engine.SyncResult:
    client = kwargs.pop("client", None) or w.client()
    with w.session() as session:
        return reconcile(session, w.org_id, client, page_size=PAGE, pause=pause, **kwargs)


def in_chunks(w: World, pages: int, **kwargs: Any) -> int:
    """Reconcile ``pages`` calls at a time, as the job and its continuations do: the runs."""
    runs = 1
    result = run(w, lambda done: done >= pages, **kwargs)
    while result.paused:
        runs += 1
        result = run(w, lambda done: done >= pages, continuing=True, **kwargs)
    return runs


def pages(records: int) -> int:
    """The calls a list of ``records`` takes (a list of none still takes one)."""
    return max(1, math.ceil(records / PAGE))


def cache(w: World) -> dict[str, Any]:
    """What the panel would show of the organisation: every document and contact."""
    with w.session() as session:
        documents = session.execute(
            select(Invoice.xero_id, Invoice.status, Invoice.due_date, Invoice.balance)
        ).all()
        contacts = session.execute(
            select(XeroContact.contact_id, XeroContact.status, XeroContact.merged_to_contact_id)
        ).all()
    return {
        "documents": {i.lower(): rest for i, *rest in documents},
        "contacts": {c.lower(): rest for c, *rest in contacts},
    }


def silent_changes(w: World) -> dict[str, str]:
    """What ``If-Modified-Since`` misses (Xero does not bump ``UpdatedDateUTC``): a due date,
    an open invoice voided, a contact merged into another; and a contact in the cache that
    Xero no longer has. Returns their IDs."""
    tenant = w.seed["tenants"][0]
    with w.session() as session:
        open_ = session.scalars(
            select(Invoice.xero_id)
            .where(Invoice.status == "AUTHORISED", Invoice.kind == "invoice")
            .order_by(Invoice.xero_id)
        ).all()
    edited, voided = open_[0], open_[-1]
    merged, into = tenant["Contacts"][4]["ContactID"], tenant["Contacts"][5]["ContactID"]
    quiet = {"bump_updated": False, "fire_webhook": False}
    w.emulator.apply_change(
        "Invoices", w.tenant_id, {"InvoiceID": edited, "DueDate": "2030-01-31"}, **quiet
    )
    w.emulator.apply_change(
        "Invoices", w.tenant_id, {"InvoiceID": voided, "Status": "VOIDED"}, **quiet
    )
    w.emulator.apply_change(
        "Contacts",
        w.tenant_id,
        {"ContactID": merged, "ContactStatus": "ARCHIVED", "MergedToContactID": into},
        **quiet,
    )
    gone = "00000000-0000-0000-0000-00000000dead"
    with w.session() as session:
        session.add(
            XeroContact(
                organisation_id=w.org_id,
                contact_id=gone,
                name="Gone Ltd",
                name_key="gone ltd",
                updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
        )
        session.commit()
    return {"edited": edited, "voided": voided, "merged": merged, "into": into, "gone": gone}


def test_a_reconciliation_in_chunks_reads_each_page_once_and_ends_as_one_run_would(
    world: World,
) -> None:
    w = world
    ids = silent_changes(w)
    client = w.client()
    listed = {
        "Contacts": client.iter_contact_pages(w.tenant_id, include_archived=True),
        "CreditNotes": client.iter_credit_note_pages(w.tenant_id, where='Type=="ACCRECCREDIT"'),
        "Invoices": client.iter_invoice_pages(
            w.tenant_id, statuses=["AUTHORISED"], where='Type=="ACCREC"'
        ),
    }
    sizes = {kind: sum(len(list(page)) for page in pages) for kind, pages in listed.items()}
    before = w.calls()["by_endpoint"]

    runs = in_chunks(w, 2)

    after = w.calls()["by_endpoint"]
    made = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    # Every list's pages once (Xero's page count ends it), and the voided invoice by ID.
    assert made["Contacts"] == pages(sizes["Contacts"])
    assert made["CreditNotes"] == pages(sizes["CreditNotes"])
    assert made["Invoices"] == pages(sizes["Invoices"]) + 1
    assert sizes["Invoices"] >= 2 * PAGE and runs >= sum(made.values()) // 2

    reconciled = cache(w)
    assert reconciled["documents"][ids["edited"]][1] == dt.date(2030, 1, 31)
    assert reconciled["documents"][ids["voided"]][0] == "VOIDED"
    assert reconciled["contacts"][ids["merged"]] == ["ARCHIVED", ids["into"]]
    assert ids["gone"] not in reconciled["contacts"]
    state = w.state()
    assert state.reconciled_at is not None and state.reconcile_phase is None
    with w.session() as session:
        assert session.scalar(select(func.count()).select_from(ReconcileSeen)) == 0

    # What a full sync reads afresh is what the chunks left.
    w.full(page_size=PAGE)
    assert cache(w) == reconciled


def test_a_contact_stored_between_chunks_is_not_removed_at_the_end(world: World) -> None:
    """The first chunk reads the first page of contacts; Xero then gets a contact whose ID
    sorts on that page, and a webhook's fetch stores it. The reconciliation's end did not
    list it, but Xero changed it after the reconciliation began: it stays."""
    w = world
    began = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    first = run(w, lambda done: done >= 1, now=lambda: began)
    assert first.paused and w.state().reconcile_phase == "contacts"

    new = "00000000-0000-0000-0000-000000000001"
    w.emulator.apply_change(
        "Contacts", w.tenant_id, {"ContactID": new, "Name": "New Ltd"}, fire_webhook=False
    )
    with w.session() as session:
        engine.sync_by_ids(session, w.org_id, w.client(), contact_ids=[new], page_size=PAGE)
    assert new in cache(w)["contacts"]

    while run(w, lambda done: done >= 2, continuing=True, now=lambda: began).paused:
        pass
    assert w.state().reconcile_phase is None
    assert new in cache(w)["contacts"]


def test_a_continuation_with_nothing_unfinished_makes_no_call(world: World) -> None:
    calls = world.calls()["calls"]
    result = run(world, None, continuing=True)
    assert not result.paused and result.calls == 0
    assert world.calls()["calls"] == calls


def test_a_reconciliation_that_failed_resumes_at_the_phase_it_had_reached(
    world: World,
) -> None:
    """Xero fails the credit notes' first page (every try of it): the next reconciliation,
    a fresh job and not a continuation, goes on from there without reading the contacts
    again, and ends as one run would."""
    w = world
    fake = FakeTime(w.emulator)
    w.emulator.add_fault({"endpoint": "CreditNotes", "status": 500})
    with pytest.raises(XeroPanelError):
        run(w, None, client=w.client(fake=fake))
    assert (w.state().reconcile_phase, w.state().reconcile_page) == ("credit_notes", 0)
    w.emulator.faults.clear()
    contacts_before = w.calls()["by_endpoint"]["Contacts"]

    assert not run(w, None, client=w.client(fake=fake)).paused
    assert w.calls()["by_endpoint"]["Contacts"] == contacts_before
    assert w.state().reconcile_phase is None and w.state().reconciled_at is not None


def test_an_id_longer_than_an_id_can_be_is_not_kept(world: World) -> None:
    """The cache writer skips such a record; the list of IDs leaves it out too, instead of
    failing the page on PostgreSQL."""
    from xero_panel.sync.reconcile import _note_seen, _seen

    with world.session() as session:
        _note_seen(session, world.org_id, "contact", {"c" * 65, "c-1", ""})
        session.commit()
        assert _seen(session, world.org_id, "contact") == {"c-1"}

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from tests.panel_fixtures import Cache
from xero_panel.matching import (
    Match,
    find_contact,
    link_contact,
    match_record,
    name_key,
    search_contacts,
    unlink_contact,
)
from xero_panel.models import Organisation
from xero_panel.records import CRMRecord


@dataclass
class World:
    session: Session
    cache: Cache
    org: Organisation

    def match(
        self,
        record_type: str,
        record: CRMRecord,
        *,
        crm_account: str = "acme",
        record_id: str = "1",
        organisations: list[Organisation] | None = None,
    ) -> Match:
        return match_record(
            self.session,
            organisations if organisations is not None else [self.org],
            crm_account=crm_account,
            record_type=record_type,
            record_id=record_id,
            record=record,
        )

    def names(self, record_type: str, record: CRMRecord, **kw: object) -> list[str]:
        return sorted(c.name for c in self.match(record_type, record, **kw).contacts)  # type: ignore[arg-type]

    def link(self, contact_id: str, *, crm_account: str = "acme", record_id: str = "1") -> None:
        link_contact(
            self.session,
            crm_account=crm_account,
            record_type="contact",
            record_id=record_id,
            organisation_id=self.org.id,
            contact_id=contact_id,
            linked_by="admin@acme.test",
        )
        self.session.flush()


@pytest.fixture
def world(session: Session) -> World:
    cache = Cache(session)
    org = cache.organisation(cache.connection("acme"))
    return World(session, cache, org)


def person(email: str) -> CRMRecord:
    return CRMRecord("Someone", emails=[email])


def test_name_key_lowercases_and_drops_all_white_space() -> None:
    assert name_key(" Barney \t Rubble-83203\n") == "barneyrubble-83203"


def test_contact_matches_by_email_address(world: World) -> None:
    world.cache.contact(world.org, "Totara", email="AP@Totara.test")
    assert world.names("contact", person("ap@totara.TEST")) == ["Totara"]


def test_contact_matches_by_contact_person_email(world: World) -> None:
    world.cache.contact(world.org, "Totara", email="ap@totara.test", persons=["kat@totara.test"])
    assert world.names("contact", person(" Kat@Totara.test ")) == ["Totara"]


def test_contact_matches_several_xero_contacts(world: World) -> None:
    world.cache.contact(world.org, "A", email="same@x.test")
    world.cache.contact(world.org, "B", persons=["same@x.test"])
    assert world.names("contact", person("same@x.test")) == ["A", "B"]


def test_contact_does_not_match_by_name(world: World) -> None:
    world.cache.contact(world.org, "Someone", email="other@x.test")
    assert world.names("contact", person("me@x.test")) == []


def test_contact_without_emails_matches_nothing(world: World) -> None:
    world.cache.contact(world.org, "Someone")
    assert not world.match("contact", CRMRecord("Someone"))


def test_account_matches_by_name_ignoring_case_and_spaces(world: World) -> None:
    world.cache.contact(world.org, "Barney  Rubble-83203")
    assert world.names("account", CRMRecord("barney rubble-83203")) == ["Barney  Rubble-83203"]


def test_account_does_not_match_by_substring(world: World) -> None:
    world.cache.contact(world.org, "Barney Rubble Ltd")
    assert world.names("account", CRMRecord("Barney Rubble")) == []


def test_deal_matches_union_of_account_and_contacts(world: World) -> None:
    world.cache.contact(world.org, "Acct Co")
    world.cache.contact(world.org, "Person Co", email="p@p.test")
    world.cache.contact(world.org, "Unrelated", email="u@u.test")
    deal = CRMRecord("Deal", account=CRMRecord("ACCT co"), contacts=[person("p@p.test")])
    assert world.names("deal", deal) == ["Acct Co", "Person Co"]


def test_deal_same_contact_twice_listed_once(world: World) -> None:
    world.cache.contact(world.org, "Acct Co", email="p@p.test")
    deal = CRMRecord("Deal", account=CRMRecord("Acct Co"), contacts=[person("p@p.test")])
    assert world.names("deal", deal) == ["Acct Co"]


def test_supplier_only_contact_does_not_count(world: World) -> None:
    world.cache.contact(
        world.org, "Supplier", email="s@s.test", is_customer=False, is_supplier=True
    )
    assert world.names("contact", person("s@s.test")) == []


def test_contact_with_sales_invoice_counts_without_customer_flag(world: World) -> None:
    contact = world.cache.contact(world.org, "Lagging flag", email="l@l.test", is_customer=False)
    world.cache.invoice(world.org, contact)
    assert world.names("contact", person("l@l.test")) == ["Lagging flag"]


def test_contact_with_only_bills_does_not_count(world: World) -> None:
    contact = world.cache.contact(world.org, "Bills", email="b@b.test", is_customer=False)
    world.cache.invoice(world.org, contact, xero_type="ACCPAY")
    assert world.names("contact", person("b@b.test")) == []


def test_merged_contact_follows_merged_to(world: World) -> None:
    kept = world.cache.contact(world.org, "Kept Co", email="kept@k.test")
    world.cache.contact(world.org, "Old Co", email="old@k.test", merged_to=kept.contact_id)
    match = world.match("contact", person("old@k.test"))
    assert [c.name for c in match.contacts] == ["Kept Co"]


def test_merged_contact_keeps_its_own_invoices_in_keys(world: World) -> None:
    kept = world.cache.contact(world.org, "Kept Co")
    old = world.cache.contact(world.org, "Old Co", email="old@k.test", merged_to=kept.contact_id)
    keys = world.match("contact", person("old@k.test")).keys()
    assert sorted(keys) == sorted([(world.org.id, kept.contact_id), (world.org.id, old.contact_id)])


def test_merge_cycle_does_not_loop(world: World) -> None:
    a = world.cache.contact(world.org, "A", email="a@a.test", contact_id="a")
    world.cache.contact(world.org, "B", contact_id="b", merged_to="a")
    a.merged_to_contact_id = "b"
    world.session.flush()
    assert len(world.match("contact", person("a@a.test")).contacts) == 1


def test_merged_into_unknown_contact_keeps_the_merged_one(world: World) -> None:
    world.cache.contact(world.org, "Old Co", email="old@k.test", merged_to="not-cached")
    assert world.names("contact", person("old@k.test")) == ["Old Co"]


def test_no_organisations_matches_nothing(world: World) -> None:
    world.cache.contact(world.org, "Totara", email="ap@totara.test")
    assert not world.match("contact", person("ap@totara.test"), organisations=[])


def test_other_crm_accounts_organisation_not_matched(world: World) -> None:
    globex_org = world.cache.organisation(world.cache.connection("globex"), "Globex Org")
    world.cache.contact(globex_org, "Totara", email="ap@totara.test")
    assert world.names("contact", person("ap@totara.test")) == []


def test_link_replaces_matching(world: World) -> None:
    world.cache.contact(world.org, "Matched", email="m@m.test")
    linked = world.cache.contact(world.org, "Linked")
    world.link(linked.contact_id)
    match = world.match("contact", person("m@m.test"))
    assert ([c.name for c in match.contacts], match.linked) == (["Linked"], True)


def test_link_counts_even_for_non_customer(world: World) -> None:
    linked = world.cache.contact(world.org, "Not customer", is_customer=False)
    world.link(linked.contact_id)
    assert world.names("contact", person("x@x.test")) == ["Not customer"]


def test_link_to_contact_gone_from_cache_still_listed(world: World) -> None:
    world.link("gone-id")
    match = world.match("contact", person("x@x.test"))
    assert [(c.contact_id, c.name) for c in match.contacts] == [("gone-id", "gone-id")]


def test_link_to_merged_contact_includes_survivor(world: World) -> None:
    kept = world.cache.contact(world.org, "Kept")
    old = world.cache.contact(world.org, "Old", merged_to=kept.contact_id)
    world.link(old.contact_id)
    (contact,) = world.match("contact", person("x@x.test")).contacts
    assert (contact.contact_id, contact.name, set(contact.contact_ids)) == (
        old.contact_id,
        "Kept",
        {old.contact_id, kept.contact_id},
    )


def test_link_idempotent(world: World) -> None:
    linked = world.cache.contact(world.org, "Linked")
    world.link(linked.contact_id)
    world.link(linked.contact_id)
    assert len(world.match("contact", person("x@x.test")).contacts) == 1


def test_unlink_restores_matching(world: World) -> None:
    world.cache.contact(world.org, "Matched", email="m@m.test")
    linked = world.cache.contact(world.org, "Linked")
    world.link(linked.contact_id)
    removed = unlink_contact(
        world.session,
        crm_account="acme",
        record_type="contact",
        record_id="1",
        organisation_id=world.org.id,
        contact_id=linked.contact_id,
    )
    match = world.match("contact", person("m@m.test"))
    assert (removed, [c.name for c in match.contacts], match.linked) == (1, ["Matched"], False)


def test_links_isolated_between_crm_accounts(world: World) -> None:
    world.cache.contact(world.org, "Matched", email="m@m.test")
    linked = world.cache.contact(world.org, "Linked")
    world.link(linked.contact_id, crm_account="globex")
    assert world.names("contact", person("m@m.test")) == ["Matched"]


def test_links_isolated_between_records(world: World) -> None:
    linked = world.cache.contact(world.org, "Linked")
    world.link(linked.contact_id, record_id="2")
    assert world.names("contact", person("m@m.test")) == []


def test_search_contacts_by_name_or_email(world: World) -> None:
    world.cache.contact(world.org, "Totara Events", email="ap@totara.test")
    world.cache.contact(world.org, "Kauri Cafe", email="hello@kauri.test")
    world.cache.contact(world.org, "Other")
    found = [c.name for c in search_contacts(world.session, [world.org], "KAURI")]
    by_email = [c.name for c in search_contacts(world.session, [world.org], "ap@tot")]
    assert (found, by_email) == (["Kauri Cafe"], ["Totara Events"])


def test_search_contacts_leaves_out_merged(world: World) -> None:
    kept = world.cache.contact(world.org, "Kauri new")
    world.cache.contact(world.org, "Kauri old", merged_to=kept.contact_id)
    assert [c.name for c in search_contacts(world.session, [world.org], "kauri")] == ["Kauri new"]


def test_search_contacts_empty_text_finds_nothing(world: World) -> None:
    world.cache.contact(world.org, "Kauri")
    assert search_contacts(world.session, [world.org], "  ") == []


def test_search_contacts_limited(world: World) -> None:
    for n in range(5):
        world.cache.contact(world.org, f"Kauri {n}")
    assert len(search_contacts(world.session, [world.org], "kauri", limit=3)) == 3


def test_find_contact_of_unselected_organisation_is_none(world: World) -> None:
    contact = world.cache.contact(world.org, "Kauri")
    assert find_contact(world.session, [], world.org.id, contact.contact_id) is None


def test_find_contact_found(world: World) -> None:
    contact = world.cache.contact(world.org, "Kauri")
    found = find_contact(world.session, [world.org], world.org.id, contact.contact_id)
    assert found is not None and found.name == "Kauri"

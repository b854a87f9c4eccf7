"""Which cached Xero contacts a CRM record stands for.

Plain SQLAlchemy (no Flask). A contact record matches Xero contacts by email (the contact's
``EmailAddress`` or any ``ContactPersons`` email, case-insensitive); an account by name
(case- and white-space-insensitive); a deal by its account and its contacts (the union).
Only customers count: contacts Xero flags ``IsCustomer``, or that have at least one cached
sales invoice (Xero does not bump ``UpdatedDateUTC`` when ``IsCustomer`` changes, so the flag
in the cache can lag). A contact merged into another stands for the one it was merged into.

Explicit :class:`~xero_panel.models.RecordLink` rows for the record replace matching
entirely; removing them restores matching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from .models import Connection, ContactEmail, Invoice, Organisation, RecordLink, XeroContact
from .records import CRMRecord

#: How a contact came to stand for a record.
MatchedBy = Literal["link", "email", "name"]
#: Merges are followed this many times at most (Xero does not chain them, but a cache
#: with a cycle must not loop).
MAX_MERGE_HOPS = 5
#: Contacts the *Link Xero contact* search lists at most.
LINK_SEARCH_LIMIT = 20


@dataclass(frozen=True)
class MatchedContact:
    """A Xero contact whose invoices the record's panel lists.

    :ivar contact_ids: the ContactIDs whose invoices count: the contact's own, and those of
        contacts merged into it that matched.
    """

    organisation_id: int
    contact_id: str
    name: str
    matched_by: MatchedBy
    contact_ids: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """The result of matching one CRM record.

    :ivar linked: the contacts come from explicit links, not from matching.
    """

    contacts: tuple[MatchedContact, ...]
    linked: bool

    def keys(self) -> list[tuple[int, str]]:
        """``(organisation_id, ContactID)`` of every contact whose invoices count."""
        seen: dict[tuple[int, str], None] = {}
        for contact in self.contacts:
            for contact_id in contact.contact_ids:
                seen[(contact.organisation_id, contact_id)] = None
        return list(seen)

    def __bool__(self) -> bool:
        return bool(self.contacts)


def name_key(name: str) -> str:
    """A name lower-cased with all white space removed (how account names are compared)."""
    return "".join(name.split()).lower()


def email_key(email: str) -> str:
    """An email address as compared: stripped and lower-cased."""
    return email.strip().lower()


def record_keys(record_type: str, record: CRMRecord) -> tuple[set[str], set[str]]:
    """The email keys and name keys a record matches by."""
    emails: set[str] = set()
    names: set[str] = set()
    if record_type == "contact":
        emails.update(email_key(e) for e in record.emails)
    elif record_type == "account":
        names.add(name_key(record.name))
    else:
        if record.account is not None:
            names.add(name_key(record.account.name))
        for person in record.contacts:
            emails.update(email_key(e) for e in person.emails)
        emails.update(email_key(e) for e in record.emails)
    emails.discard("")
    names.discard("")
    return emails, names


def match_record(
    session: Session,
    organisations: Sequence[Organisation],
    *,
    crm_account: str,
    record_type: str,
    record_id: str,
    record: CRMRecord,
) -> Match:
    """The Xero contacts of ``organisations`` that the CRM record stands for.

    Runs a small, fixed number of queries (plus one per merge hop, rarely any).
    """
    org_ids = [o.id for o in organisations]
    if not org_ids:
        return Match(contacts=(), linked=False)
    links = session.execute(
        select(RecordLink.organisation_id, RecordLink.contact_id)
        .where(
            *RecordLink.of_record(crm_account, record_type, record_id, org_ids),
        )
        .order_by(RecordLink.id)
    ).all()
    if links:
        found = _contacts_by_id(session, [(o, c) for o, c in links])
        contacts = []
        for organisation_id, contact_id in links:
            final = _follow_merges(session, found, organisation_id, contact_id)
            name = final.name if final is not None else contact_id
            final_id = final.contact_id if final is not None else contact_id
            ids = tuple(dict.fromkeys((final_id, contact_id)))
            # contact_id stays the linked one, so the panel can offer to unlink it.
            contacts.append(MatchedContact(organisation_id, contact_id, name, "link", ids))
        return Match(contacts=tuple(contacts), linked=True)

    emails, names = record_keys(record_type, record)
    if not emails and not names:
        return Match(contacts=(), linked=False)
    conditions = []
    if emails:
        by_email = select(ContactEmail.contact_pk).where(
            ContactEmail.organisation_id.in_(org_ids), ContactEmail.email_key.in_(sorted(emails))
        )
        conditions.append(XeroContact.id.in_(by_email))
        conditions.append(func.lower(XeroContact.email).in_(sorted(emails)))
    if names:
        conditions.append(XeroContact.name_key.in_(sorted(names)))
    candidates = list(
        session.scalars(
            select(XeroContact)
            .where(XeroContact.organisation_id.in_(org_ids), or_(*conditions))
            .order_by(XeroContact.organisation_id, XeroContact.name, XeroContact.contact_id)
        )
    )
    found = {(c.organisation_id, c.contact_id): c for c in candidates}
    merged: dict[tuple[int, str], list[str]] = {}
    finals: dict[tuple[int, str], tuple[XeroContact, MatchedBy]] = {}
    for candidate in candidates:
        final = _follow_merges(session, found, candidate.organisation_id, candidate.contact_id)
        if final is None:  # pragma: no cover - the candidate itself is always found
            continue
        key = (final.organisation_id, final.contact_id)
        merged.setdefault(key, [final.contact_id])
        if candidate.contact_id not in merged[key]:
            merged[key].append(candidate.contact_id)
        by: MatchedBy = "name" if candidate.name_key in names else "email"
        finals.setdefault(key, (final, by))

    customers = _customers(session, finals, merged)
    contacts = [
        MatchedContact(key[0], contact.contact_id, contact.name, by, tuple(merged[key]))
        for key, (contact, by) in finals.items()
        if key in customers
    ]
    return Match(contacts=tuple(contacts), linked=False)


def _contacts_by_id(
    session: Session, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], XeroContact]:
    if not keys:
        return {}
    conditions = [
        (XeroContact.organisation_id == org) & (XeroContact.contact_id == cid) for org, cid in keys
    ]
    rows = session.scalars(select(XeroContact).where(or_(*conditions)))
    return {(c.organisation_id, c.contact_id): c for c in rows}


def _follow_merges(
    session: Session,
    found: dict[tuple[int, str], XeroContact],
    organisation_id: int,
    contact_id: str,
) -> XeroContact | None:
    contact = found.get((organisation_id, contact_id))
    for _ in range(MAX_MERGE_HOPS):
        if contact is None or not contact.merged_to_contact_id:
            return contact
        target_key = (organisation_id, contact.merged_to_contact_id)
        if target_key not in found:
            found.update(_contacts_by_id(session, [target_key]))
        target = found.get(target_key)
        if target is None:
            return contact
        contact = target
    return contact


def _customers(
    session: Session,
    finals: dict[tuple[int, str], tuple[XeroContact, MatchedBy]],
    merged: dict[tuple[int, str], list[str]],
) -> set[tuple[int, str]]:
    customers = {key for key, (contact, _) in finals.items() if contact.is_customer}
    unknown = [key for key in finals if key not in customers]
    if not unknown:
        return customers
    owner = {(key[0], cid): key for key in unknown for cid in merged[key]}
    conditions = [
        (Invoice.organisation_id == org) & (Invoice.contact_id == cid) for org, cid in owner
    ]
    rows = session.execute(
        select(Invoice.organisation_id, Invoice.contact_id)
        .where(Invoice.xero_type == "ACCREC", or_(*conditions))
        .distinct()
    ).all()
    customers.update(owner[(org, cid)] for org, cid in rows)
    return customers


@dataclass(frozen=True)
class ContactChoice:
    """A cached Xero contact offered by the *Link Xero contact* search."""

    organisation_id: int
    organisation_name: str
    contact_id: str
    name: str
    email: str | None
    is_customer: bool


def search_contacts(
    session: Session,
    organisations: Sequence[Organisation],
    text: str,
    *,
    limit: int = LINK_SEARCH_LIMIT,
) -> list[ContactChoice]:
    """Cached Xero contacts of ``organisations`` whose name or email contains ``text``
    (case-insensitive), contacts merged into others left out, by name."""
    text = text.strip()
    org_names = {o.id: o.name for o in organisations}
    if not text or not org_names:
        return []
    rows = session.scalars(
        select(XeroContact)
        .where(
            XeroContact.organisation_id.in_(list(org_names)),
            XeroContact.merged_to_contact_id.is_(None),
            or_(
                XeroContact.name.icontains(text, autoescape=True),
                XeroContact.email.icontains(text, autoescape=True),
            ),
        )
        .order_by(func.lower(XeroContact.name), XeroContact.organisation_id, XeroContact.id)
        .limit(limit)
    )
    return [
        ContactChoice(
            organisation_id=c.organisation_id,
            organisation_name=org_names[c.organisation_id],
            contact_id=c.contact_id,
            name=c.name,
            email=c.email,
            is_customer=c.is_customer,
        )
        for c in rows
    ]


def find_contact(
    session: Session, organisations: Sequence[Organisation], organisation_id: int, contact_id: str
) -> XeroContact | None:
    """The cached contact, if it belongs to one of ``organisations``."""
    if organisation_id not in {o.id for o in organisations}:
        return None
    return session.scalars(
        select(XeroContact).where(
            XeroContact.organisation_id == organisation_id, XeroContact.contact_id == contact_id
        )
    ).first()


class LinkKey(TypedDict):
    """Which link :func:`link_contact` and :func:`unlink_contact` mean: one CRM record's
    link to one Xero contact (all keyword arguments)."""

    crm_account: str
    record_type: str
    record_id: str
    organisation_id: int
    contact_id: str


def _the_link(key: LinkKey) -> tuple[ColumnElement[bool], ...]:
    """The conditions that select the link ``key`` names."""
    record = RecordLink.of_record(
        key["crm_account"], key["record_type"], key["record_id"], [key["organisation_id"]]
    )
    return (*record, RecordLink.contact_id == key["contact_id"])


def link_contact(session: Session, *, linked_by: str | None, **key: Unpack[LinkKey]) -> RecordLink:
    """Link a record to a Xero contact (idempotent). The caller commits."""
    existing = session.scalars(select(RecordLink).where(*_the_link(key))).first()
    if existing is not None:
        return existing
    link = RecordLink(**key, linked_by=linked_by)
    session.add(link)
    _links_changed(session, key["crm_account"])
    return link


def unlink_contact(session: Session, **key: Unpack[LinkKey]) -> int:
    """Remove a record's link to a Xero contact (idempotent); returns how many went. The
    caller commits."""
    result = session.execute(delete(RecordLink).where(*_the_link(key)))
    removed = int(getattr(result, "rowcount", 0) or 0)
    if removed:
        _links_changed(session, key["crm_account"])
    return removed


def _links_changed(session: Session, crm_account: str) -> None:
    """Count up the CRM account's ``links_version`` in the transaction that changes one of
    its links, so a view's kept match (:mod:`xero_panel.known_matches`) is never reused
    after it."""
    session.execute(
        update(Connection)
        .where(Connection.crm_account == crm_account)
        .values(links_version=Connection.links_version + 1)
    )

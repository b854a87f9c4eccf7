"""The demo data, rebuilt at each start: CRM accounts, users, and records mirroring the seed.

Acme's records mirror the seed's first Xero organisation and Globex's its second, in seed
order, so ids are the same at every start for a given seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from flask import Flask
from werkzeug.security import generate_password_hash

from .hooks import panel
from .models import Account, Contact, CrmAccount, Deal, Role, User, db

if TYPE_CHECKING:
    from xero_emulator import Emulator

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "connect_acme",
    "rebuild_database",
    "remember_seed",
    "seed_of",
]

#: The password of every demo user.
DEMO_PASSWORD = "demo"
#: Cheap on purpose: it is a demo, and tests build many apps.
_PASSWORD_METHOD = "pbkdf2:sha256:10000"
_EXTENSION_KEY = "demo_app"


@dataclass(frozen=True)
class _DemoUser:
    email: str
    name: str
    role: Role
    crm_account: str


class _Deal(NamedTuple):
    name: str
    stage: str
    amount: Decimal
    currency: str


class _Person(NamedTuple):
    name: str
    email: str
    title: str | None


@dataclass(frozen=True)
class _DemoCrmAccount:
    slug: str
    name: str
    #: Which of the seed's tenants (Xero organisations) this CRM account's records mirror.
    tenant_index: int
    #: An account, its contact and its deal that match nothing in Xero.
    extra_account: str
    extra_domain: str
    extra_contact: _Person
    extra_deal: str


_CRM_ACCOUNTS = (
    _DemoCrmAccount(
        slug="acme",
        name="Acme",
        tenant_index=0,
        extra_account="Bluefin Harbour Logistics",
        extra_domain="bluefin-harbour.test",
        extra_contact=_Person(
            "Morgan Quill", "morgan.quill@bluefin-harbour.test", "Head of Operations"
        ),
        extra_deal="Bluefin Harbour pilot",
    ),
    _DemoCrmAccount(
        slug="globex",
        name="Globex",
        tenant_index=1,
        extra_account="Quarry Lane Studios",
        extra_domain="quarrylane.test",
        extra_contact=_Person("Sasha Ferreira", "sasha@quarrylane.test", "Creative Director"),
        extra_deal="Quarry Lane rebrand",
    ),
)

#: The demo's users, in the order they are created (so ``admin@acme.test`` is user 1).
DEMO_USERS: tuple[_DemoUser, ...] = (
    _DemoUser("admin@acme.test", "Alex Admin", "admin", "acme"),
    _DemoUser("rep@acme.test", "Riley Rep", "rep", "acme"),
    _DemoUser("admin@globex.test", "Gale Globex", "admin", "globex"),
)

_DEAL_STAGES = ("Qualified", "Proposal", "Negotiation", "Closed won")


def remember_seed(app: Flask, seed: dict[str, Any]) -> None:
    """Keep the Xero seed on the app, for :func:`rebuild_database` and :func:`connect_acme`."""
    app.extensions[_EXTENSION_KEY] = seed


def seed_of(app: Flask) -> dict[str, Any]:
    """The Xero seed the app was built with."""
    seed: dict[str, Any] = app.extensions[_EXTENSION_KEY]
    return seed


def _flag(contact: Mapping[str, Any], key: str) -> bool:
    return contact.get(key) is True


def _is_customer_or_unflagged(contact: Mapping[str, Any]) -> bool:
    """Supplier-only Xero contacts have no sales invoices; the CRM does not know them."""
    return not (_flag(contact, "IsSupplier") and not _flag(contact, "IsCustomer"))


def _person_name(first: Any, last: Any, fallback: str) -> str:
    name = " ".join(str(part).strip() for part in (first, last) if part and str(part).strip())
    return name or fallback


def _emails_of(xero_contact: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(name, email)`` for the contact's own email, then each contact person's, deduplicated."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    company = str(xero_contact.get("Name") or "").strip()
    people = [xero_contact] + [
        person for person in xero_contact.get("ContactPersons") or [] if isinstance(person, Mapping)
    ]
    for person in people:
        address = str(person.get("EmailAddress") or "").strip()
        if not address or address.casefold() in seen:
            continue
        seen.add(address.casefold())
        local = address.split("@", 1)[0].replace(".", " ").replace("_", " ").replace("-", " ")
        fallback = company if not found else local.strip().title() or address
        name = _person_name(person.get("FirstName"), person.get("LastName"), fallback)
        found.append((name, address))
    return found


def _domain_of(emails: Iterable[tuple[str, str]]) -> str | None:
    for _name, email in emails:
        if "@" in email:
            return email.rsplit("@", 1)[1].lower()
    return None


def _add_account(
    crm_account: CrmAccount, name: str, domain: str | None, people: Sequence[_Person], deal: _Deal
) -> None:
    """An account, its contacts and one deal with all of them, added in that order so ids
    follow the seed."""
    account = Account(name=name, domain=domain, crm_account_id=crm_account.id)
    db.session.add(account)
    db.session.flush()
    owner = {"account": account, "crm_account_id": crm_account.id}
    contacts = []
    for person in people:
        contact = Contact(**person._asdict(), **owner)
        db.session.add(contact)
        db.session.flush()
        contacts.append(contact)
    db.session.add(Deal(**deal._asdict(), **owner, contacts=contacts))
    db.session.flush()


def _seed_crm_account(
    spec: _DemoCrmAccount, crm_account: CrmAccount, tenant: Mapping[str, Any] | None
) -> None:
    organisation = (tenant or {}).get("Organisation") or {}
    base_currency = str(organisation.get("BaseCurrency") or "USD")
    xero_contacts = [
        c
        for c in (tenant or {}).get("Contacts") or []
        if isinstance(c, Mapping) and str(c.get("Name") or "").strip()
    ]
    for index, xero_contact in enumerate(c for c in xero_contacts if _is_customer_or_unflagged(c)):
        name = str(xero_contact["Name"]).strip()
        emails = _emails_of(xero_contact)
        people = [
            _Person(person, email, "Accounts payable" if position == 0 else None)
            for position, (person, email) in enumerate(emails)
        ]
        stage = _DEAL_STAGES[index % len(_DEAL_STAGES)]
        currency = str(xero_contact.get("DefaultCurrency") or base_currency)
        deal = _Deal(f"{name}: annual renewal", stage, Decimal(2400 + 1350 * index), currency)
        _add_account(crm_account, name, _domain_of(emails), people, deal)

    # Records that match nothing in Xero: the panel shows its empty state on them.
    extra_deal = _Deal(spec.extra_deal, _DEAL_STAGES[0], Decimal(5000), base_currency)
    _add_account(
        crm_account, spec.extra_account, spec.extra_domain, [spec.extra_contact], extra_deal
    )


def rebuild_database(app: Flask) -> None:
    """Drop and recreate every table (the demo's and the plugin's), then add the demo data.

    The CRM accounts, users, and the accounts, contacts and deals that mirror the seed's
    first (Acme) and second (Globex) organisations, in seed order, so ids are the same at
    every start.
    """
    tenants = [t for t in seed_of(app).get("tenants") or [] if isinstance(t, Mapping)]
    with app.app_context():
        db.drop_all()
        db.create_all()
        crm_accounts: dict[str, CrmAccount] = {}
        for spec in _CRM_ACCOUNTS:
            crm_account = CrmAccount(slug=spec.slug, name=spec.name)
            db.session.add(crm_account)
            db.session.flush()
            crm_accounts[spec.slug] = crm_account
        password_hash = generate_password_hash(DEMO_PASSWORD, method=_PASSWORD_METHOD)
        for user in DEMO_USERS:
            db.session.add(
                User(
                    email=user.email,
                    name=user.name,
                    password_hash=password_hash,
                    role=user.role,
                    crm_account_id=crm_accounts[user.crm_account].id,
                )
            )
            db.session.flush()
        for spec in _CRM_ACCOUNTS:
            tenant = tenants[spec.tenant_index] if spec.tenant_index < len(tenants) else None
            _seed_crm_account(spec, crm_accounts[spec.slug], tenant)
        db.session.commit()


def connect_acme(app: Flask, emulator: Emulator) -> None:
    """Connect Acme to the seed's first Xero organisation, as the seed's first Xero user.

    The emulator must be served at the app's ``XERO_PANEL_API_URL``: storing the connection
    asks Xero for the grant's organisations.

    :raises ValueError: the seed has no organisation or no user.
    """
    from xero_emulator import DEMO_CLIENT_ID

    seed = seed_of(app)
    tenants = seed.get("tenants") or []
    users = seed.get("users") or []
    if not tenants or not users:
        raise ValueError("The Xero seed needs a tenant and a user to connect Acme to.")
    tenant_id = str(tenants[0]["tenantId"])
    # The seed's first user, unless another one is the one who can see that organisation.
    user = next((u for u in users if tenant_id in (u.get("tenants") or [])), users[0])
    user_email = str(user["email"])
    with app.app_context():
        token = emulator.issue_tokens(
            client_id=DEMO_CLIENT_ID, user_email=user_email, tenant_ids=[tenant_id]
        )
        panel.store_connection("acme", token, tenant_ids=[tenant_id])

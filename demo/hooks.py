"""The plugin and its hooks: what the CRM tells the panel about records, CRM accounts and admins.

This is the integration a host CRM writes; the rest of the package is the CRM itself.
"""

from __future__ import annotations

from flask import Flask
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from xero_panel import CRMRecord, XeroPanel

from .models import Account, Contact, Deal, Record, User, db
from .sessions import session_ended

__all__ = [
    "csrf",
    "current_crm_account",
    "exempt_webhook_from_csrf",
    "is_admin",
    "list_records",
    "load_record",
    "login_manager",
    "owned",
    "panel",
]

_MAX_ID = 2**31 - 1  # larger ids cannot exist, and SQLite/PostgreSQL reject them in queries

panel = XeroPanel(db=db)
login_manager = LoginManager()
csrf = CSRFProtect()


def _parse_id(value: str | int) -> int | None:
    text = str(value)
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= _MAX_ID else None


def owned(model: type[Record], record_id: str | int) -> Record | None:
    """The record if it exists and belongs to the current user's CRM account."""
    number = _parse_id(record_id)
    if number is None or not current_user.is_authenticated:
        return None
    record = db.session.get(model, number)
    if record is None or record.crm_account_id != current_user.crm_account_id:
        return None
    return record


def _contact_record(contact: Contact) -> CRMRecord:
    return CRMRecord(name=contact.name, emails=[contact.email])


@panel.record_loader
def load_record(record_type: str, record_id: str) -> CRMRecord | None:
    """Tell the panel what the CRM knows about a record the current user may see."""
    if record_type == "contact":
        contact = owned(Contact, record_id)
        return None if contact is None else _contact_record(contact)
    if record_type == "account":
        account = owned(Account, record_id)
        return None if account is None else CRMRecord(name=account.name)
    if record_type == "deal":
        deal = owned(Deal, record_id)
        if deal is None:
            return None
        return CRMRecord(
            name=deal.name,
            account=CRMRecord(name=deal.account.name),
            contacts=[_contact_record(c) for c in deal.contacts],
        )
    return None


@panel.record_lister
def list_records(record_type: str) -> list[tuple[int, CRMRecord]]:
    """The current CRM account's contacts or accounts, for the match coverage on the
    plugin's health page."""
    if not current_user.is_authenticated:
        return []
    account_id = current_user.crm_account_id
    if record_type == "contact":
        contacts = db.session.scalars(
            select(Contact).where(Contact.crm_account_id == account_id).order_by(Contact.id)
        )
        return [(c.id, _contact_record(c)) for c in contacts]
    if record_type == "account":
        accounts = db.session.scalars(
            select(Account).where(Account.crm_account_id == account_id).order_by(Account.id)
        )
        return [(a.id, CRMRecord(name=a.name)) for a in accounts]
    return []


@panel.account_resolver
def current_crm_account() -> str | None:
    """The current user's CRM account key (``acme`` or ``globex``); None when logged out."""
    if not current_user.is_authenticated:
        return None
    slug: str = current_user.crm_account.slug
    return slug


@panel.admin_check
def is_admin() -> bool:
    """Whether the current user is an admin of their CRM account."""
    return bool(current_user.is_authenticated and current_user.is_admin)


def _load_user(user_id: str) -> User | None:
    number = _parse_id(user_id)
    if number is None or session_ended():
        return None
    return db.session.get(User, number)


login_manager.user_loader(_load_user)


def exempt_webhook_from_csrf(app: Flask) -> None:
    """Xero's webhook POSTs carry a signature instead of our CSRF token."""
    prefix = str(app.config.get("XERO_PANEL_URL_PREFIX") or "").rstrip("/")
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix + "/") and rule.rule.rstrip("/").endswith(
            ("/webhooks", "/webhook")
        ):
            csrf.exempt(app.view_functions[rule.endpoint])

"""A small demo CRM that embeds the Xero invoice panel, running offline on the Xero emulator.

Run it with ``python demo_app.py`` (``--help`` lists the options): it starts the CRM and the
Xero emulator, rebuilds the demo database, and prints both URLs and the logins.

Two CRM accounts (tenants of the CRM) share the app:

* **Acme**: ``admin@acme.test`` (an admin) and ``rep@acme.test`` (a sales rep). Acme starts
  connected to the seed's first Xero organisation.
* **Globex**: ``admin@globex.test`` (an admin). Globex starts not connected, so an admin can
  try the install flow (*Settings > Marketplace Apps > Xero*) with the seed's second
  organisation.

The password is ``demo`` for every user. The CRM's accounts, contacts and deals mirror the
Xero contacts of the account's organisation, plus a few records that match nothing in Xero.

Tests build the app with :func:`create_app` and a seed, then call :func:`rebuild_database`;
nothing here starts a server or touches a database at import time.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import Column, ForeignKey, Numeric, String, Table, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash, generate_password_hash

from xero_panel import CRMRecord, XeroPanel

if TYPE_CHECKING:
    from xero_emulator import Emulator

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "Account",
    "Contact",
    "CrmAccount",
    "Deal",
    "User",
    "build_arg_parser",
    "connect_acme",
    "create_app",
    "db",
    "main",
    "panel",
    "rebuild_database",
]

#: The password of every demo user.
DEMO_PASSWORD = "demo"
#: Cheap on purpose: it is a demo, and tests build many apps.
_PASSWORD_METHOD = "pbkdf2:sha256:10000"

Role = Literal["admin", "rep"]


@dataclass(frozen=True)
class _DemoUser:
    email: str
    name: str
    role: Role
    crm_account: str


@dataclass(frozen=True)
class _DemoCrmAccount:
    slug: str
    name: str
    #: Which of the seed's tenants (Xero organisations) this CRM account's records mirror.
    tenant_index: int
    extra_account: str
    extra_domain: str
    extra_contact: tuple[str, str, str]
    extra_deal: str


_CRM_ACCOUNTS = (
    _DemoCrmAccount(
        slug="acme",
        name="Acme",
        tenant_index=0,
        extra_account="Bluefin Harbour Logistics",
        extra_domain="bluefin-harbour.test",
        extra_contact=("Morgan Quill", "morgan.quill@bluefin-harbour.test", "Head of Operations"),
        extra_deal="Bluefin Harbour pilot",
    ),
    _DemoCrmAccount(
        slug="globex",
        name="Globex",
        tenant_index=1,
        extra_account="Quarry Lane Studios",
        extra_domain="quarrylane.test",
        extra_contact=("Sasha Ferreira", "sasha@quarrylane.test", "Creative Director"),
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
_MAX_ID = 2**31 - 1  # larger ids cannot exist, and SQLite/PostgreSQL reject them in queries

_MARKETPLACE_APPS = (
    ("Mailbox sync", "Communication", "Log emails from Gmail and Outlook on contacts and deals."),
    ("Calendar", "Productivity", "See meetings on records and book them from the CRM."),
    ("E-signature", "Sales", "Send quotes and contracts for signature and track them."),
    ("Phone dialer", "Communication", "Call from the browser; calls are logged automatically."),
    ("Lead enrichment", "Data", "Fill in company size, industry and location for new accounts."),
)


# --------------------------------------------------------------------------------------------
# Models: the demo CRM's own tables, on the same ``db`` the plugin gets.


db = SQLAlchemy()


class CrmAccount(db.Model):  # type: ignore[name-defined,misc]
    """A tenant of the CRM (a company using it): Acme or Globex."""

    __tablename__ = "demo_crm_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """A CRM user; belongs to one CRM account and sees only its records."""

    __tablename__ = "demo_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    crm_account_id: Mapped[int] = mapped_column(ForeignKey("demo_crm_account.id"))
    crm_account: Mapped[CrmAccount] = relationship()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


deal_contacts = Table(
    "demo_deal_contact",
    db.metadata,
    Column("deal_id", ForeignKey("demo_deal.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("demo_contact.id", ondelete="CASCADE"), primary_key=True),
)


class Account(db.Model):  # type: ignore[name-defined,misc]
    """A company in the CRM."""

    __tablename__ = "demo_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255))
    crm_account_id: Mapped[int] = mapped_column(ForeignKey("demo_crm_account.id"), index=True)
    contacts: Mapped[list[Contact]] = relationship(back_populates="account", order_by="Contact.id")
    deals: Mapped[list[Deal]] = relationship(back_populates="account", order_by="Deal.id")


class Contact(db.Model):  # type: ignore[name-defined,misc]
    """A person in the CRM, at an account."""

    __tablename__ = "demo_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(120))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("demo_account.id"))
    crm_account_id: Mapped[int] = mapped_column(ForeignKey("demo_crm_account.id"), index=True)
    account: Mapped[Account | None] = relationship(back_populates="contacts")
    deals: Mapped[list[Deal]] = relationship(
        secondary=deal_contacts, back_populates="contacts", order_by="Deal.id"
    )


class Deal(db.Model):  # type: ignore[name-defined,misc]
    """An opportunity on an account, with the contacts involved."""

    __tablename__ = "demo_deal"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    stage: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    account_id: Mapped[int] = mapped_column(ForeignKey("demo_account.id"))
    crm_account_id: Mapped[int] = mapped_column(ForeignKey("demo_crm_account.id"), index=True)
    account: Mapped[Account] = relationship(back_populates="deals")
    contacts: Mapped[list[Contact]] = relationship(
        secondary=deal_contacts, back_populates="deals", order_by="Contact.id"
    )


_R = TypeVar("_R", Account, Contact, Deal)


# --------------------------------------------------------------------------------------------
# The plugin and its hooks: what the CRM tells the panel.


panel = XeroPanel(db=db)
login_manager = LoginManager()
csrf = CSRFProtect()


def _parse_id(value: str | int) -> int | None:
    text = str(value)
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= _MAX_ID else None


def _owned(model: type[_R], record_id: str | int) -> _R | None:
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
        contact = _owned(Contact, record_id)
        return None if contact is None else _contact_record(contact)
    if record_type == "account":
        account = _owned(Account, record_id)
        return None if account is None else CRMRecord(name=account.name)
    if record_type == "deal":
        deal = _owned(Deal, record_id)
        if deal is None:
            return None
        return CRMRecord(
            name=deal.name,
            account=CRMRecord(name=deal.account.name),
            contacts=[_contact_record(c) for c in deal.contacts],
        )
    return None


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


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    number = _parse_id(user_id)
    return None if number is None else db.session.get(User, number)


# --------------------------------------------------------------------------------------------
# The app factory.


@dataclass(frozen=True)
class _DemoState:
    seed: dict[str, Any]


def _state(app: Flask) -> _DemoState:
    state: _DemoState = app.extensions["demo_app"]
    return state


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    seed: dict[str, Any] | None = None,
    emulator_url: str | None = None,
) -> Flask:
    """Build the demo CRM app. Starts no server and does not touch the database.

    Settings come, lowest first, from the demo's defaults, every ``XERO_PANEL_*`` environment
    variable (as a string; the plugin converts types), then ``config``.

    :param config: Flask settings, e.g. ``SQLALCHEMY_DATABASE_URI`` (default: a SQLite file in
        the instance folder).
    :param seed: the Xero emulator's seed, whose organisations the CRM records mirror
        (default: the emulator's built-in sample).
    :param emulator_url: the Xero emulator's base URL; when given, the plugin talks to it
        instead of Xero.
    """
    from cryptography.fernet import Fernet
    from xero_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        # The emulator runs on the same host name; its own session cookie must not
        # overwrite ours (cookies ignore the port).
        SESSION_COOKIE_NAME="xero_panel_demo_session",
        SQLALCHEMY_DATABASE_URI=None,
        XERO_PANEL_CLIENT_ID=DEMO_CLIENT_ID,
        XERO_PANEL_CLIENT_SECRET=DEMO_CLIENT_SECRET,
        XERO_PANEL_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        XERO_PANEL_WEBHOOK_KEY=secrets.token_urlsafe(32),
    )
    if emulator_url is not None:
        base = emulator_url.rstrip("/")
        app.config.update(
            XERO_PANEL_LOGIN_URL=base,
            XERO_PANEL_IDENTITY_URL=base,
            XERO_PANEL_API_URL=base,
        )
    app.config.update({k: v for k, v in os.environ.items() if k.startswith("XERO_PANEL_")})
    if config is not None:
        app.config.update(config)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "demo.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"

    if seed is None:
        from xero_emulator import sample_seed

        seed = sample_seed()
    app.extensions["demo_app"] = _DemoState(seed=seed)

    db.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    panel.init_app(app)
    _exempt_webhook_from_csrf(app)

    _register_routes(app)
    _register_error_handlers(app)
    app.context_processor(_template_globals)
    return app


def _exempt_webhook_from_csrf(app: Flask) -> None:
    """Xero's webhook POSTs carry a signature instead of our CSRF token."""
    prefix = str(app.config.get("XERO_PANEL_URL_PREFIX") or "").rstrip("/")
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix + "/") and rule.rule.rstrip("/").endswith(
            ("/webhooks", "/webhook")
        ):
            csrf.exempt(app.view_functions[rule.endpoint])


def _template_globals() -> dict[str, Any]:
    return {"format_money": _format_money}


def _format_money(amount: Decimal | float | int | None, currency: str) -> str:
    if amount is None:
        return ""
    return f"{currency} {Decimal(amount):,.2f}"


# --------------------------------------------------------------------------------------------
# Routes.

_P = ParamSpec("_P")


def admin_required(view: Callable[_P, ResponseReturnValue]) -> Callable[_P, ResponseReturnValue]:
    """Logged-out users go to the login page; signed-in users who are not admins get 403."""

    @wraps(view)
    @login_required
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> ResponseReturnValue:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so ``?next=`` cannot send users to another site."""
    if target:
        parts = urlsplit(target)
        same_site = not parts.scheme and not parts.netloc and "\\" not in target
        if same_site and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("contacts")


def _register_routes(app: Flask) -> None:
    @app.get("/")
    def index() -> ResponseReturnValue:
        if current_user.is_authenticated:
            return redirect(url_for("contacts"))
        return redirect(url_for("login"))

    @app.get("/favicon.ico")
    def favicon() -> ResponseReturnValue:
        # Pages that do not link the icon (the plugin's own) make browsers ask for this path.
        return app.send_static_file("favicon.svg")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        if request.method == "GET" and current_user.is_authenticated:
            return redirect(_safe_next(request.args.get("next")))
        error = None
        email = ""
        status = 200
        if request.method == "POST":
            email = request.form.get("email", "").strip()
            password = request.form.get("password", "")
            user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
            if user is not None and check_password_hash(user.password_hash, password):
                login_user(user)
                return redirect(_safe_next(request.args.get("next")))
            error = "Wrong email or password. Every demo user's password is 'demo'."
            status = 401
        return render_template("demo/login.html", error=error, email=email), status

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        logout_user()
        flash("You are signed out.", "info")
        return redirect(url_for("login"))

    @app.get("/contacts")
    @login_required
    def contacts() -> ResponseReturnValue:
        rows = _list(Contact)
        return render_template("demo/contacts.html", contacts=rows, section="contacts")

    @app.get("/contacts/<record_id>")
    @login_required
    def contact_detail(record_id: str) -> ResponseReturnValue:
        contact = _owned_or_404(Contact, record_id)
        return render_template("demo/contact.html", contact=contact, section="contacts")

    @app.get("/accounts")
    @login_required
    def accounts() -> ResponseReturnValue:
        rows = _list(Account)
        return render_template("demo/accounts.html", accounts=rows, section="accounts")

    @app.get("/accounts/<record_id>")
    @login_required
    def account_detail(record_id: str) -> ResponseReturnValue:
        account = _owned_or_404(Account, record_id)
        return render_template("demo/account.html", account=account, section="accounts")

    @app.get("/deals")
    @login_required
    def deals() -> ResponseReturnValue:
        rows = _list(Deal)
        return render_template("demo/deals.html", deals=rows, section="deals")

    @app.get("/deals/<record_id>")
    @login_required
    def deal_detail(record_id: str) -> ResponseReturnValue:
        deal = _owned_or_404(Deal, record_id)
        return render_template("demo/deal.html", deal=deal, section="deals")

    @app.get("/settings")
    @admin_required
    def settings() -> ResponseReturnValue:
        users = db.session.scalars(
            select(User).where(User.crm_account_id == current_user.crm_account_id).order_by(User.id)
        ).all()
        return render_template(
            "demo/settings.html", users=users, section="settings", settings_page="general"
        )

    @app.get("/settings/marketplace")
    @admin_required
    def marketplace() -> ResponseReturnValue:
        query = request.args.get("q", "").strip()[:100]
        words = query.casefold().split()
        apps = [
            {"name": name, "category": category, "description": description}
            for name, category, description in _MARKETPLACE_APPS
            if all(word in f"{name} {category} {description}".casefold() for word in words)
        ]
        return render_template(
            "demo/marketplace.html",
            apps=apps,
            q=query,
            section="settings",
            settings_page="marketplace",
        )


def _list(model: type[_R]) -> Sequence[_R]:
    return db.session.scalars(
        select(model).where(model.crm_account_id == current_user.crm_account_id).order_by(model.id)
    ).all()


def _owned_or_404(model: type[_R], record_id: str) -> _R:
    record = _owned(model, record_id)
    if record is None:
        abort(404)
    return record


_ERROR_TEXT = {
    400: ("Something was wrong with that request", "Please go back and try again."),
    403: (
        "Only admins can open this page",
        "Settings and marketplace apps are managed by your CRM account's admins."
        " Ask one of them if you need an app installed.",
    ),
    404: (
        "We could not find that page",
        "The record may have been removed, or it belongs to another CRM account.",
    ),
    405: ("That action is not allowed here", "Please use the links and buttons on the page."),
}


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        if _is_plugin_or_htmx_request(app):
            return error
        if request.endpoint == "login":
            message = "Your form expired. Please sign in again."
            return render_template("demo/login.html", error=message, email=""), 400
        return _error_page(400, "Your form expired", "Please reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        if code not in _ERROR_TEXT or _is_plugin_or_htmx_request(app):
            return error
        title, text = _ERROR_TEXT[code]
        return _error_page(code, title, text)


def _is_plugin_or_htmx_request(app: Flask) -> bool:
    """The plugin's routes and htmx partials answer errors their own way, not with our page."""
    prefix = str(app.config.get("XERO_PANEL_URL_PREFIX") or "").rstrip("/")
    in_plugin = bool(prefix) and (request.path == prefix or request.path.startswith(prefix + "/"))
    return in_plugin or request.headers.get("HX-Request") == "true"


def _error_page(code: int, title: str, text: str) -> ResponseReturnValue:
    return render_template("demo/error.html", code=code, title=title, text=text), code


# --------------------------------------------------------------------------------------------
# Demo data: rebuilt at each start from the seed.


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
    candidates: list[tuple[Any, Any, Any]] = [
        (
            xero_contact.get("FirstName"),
            xero_contact.get("LastName"),
            xero_contact.get("EmailAddress"),
        )
    ]
    for person in xero_contact.get("ContactPersons") or []:
        if isinstance(person, Mapping):
            candidates.append(
                (person.get("FirstName"), person.get("LastName"), person.get("EmailAddress"))
            )
    for first, last, email in candidates:
        address = str(email or "").strip()
        if not address or address.casefold() in seen:
            continue
        seen.add(address.casefold())
        local = address.split("@", 1)[0].replace(".", " ").replace("_", " ").replace("-", " ")
        fallback = company if not found else local.strip().title() or address
        found.append((_person_name(first, last, fallback), address))
    return found


def _domain_of(emails: Iterable[tuple[str, str]]) -> str | None:
    for _name, email in emails:
        if "@" in email:
            return email.rsplit("@", 1)[1].lower()
    return None


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
        account = Account(name=name, domain=_domain_of(emails), crm_account_id=crm_account.id)
        db.session.add(account)
        db.session.flush()
        people = []
        for position, (person, email) in enumerate(emails):
            contact = Contact(
                name=person,
                email=email,
                title="Accounts payable" if position == 0 else None,
                account_id=account.id,
                crm_account_id=crm_account.id,
            )
            db.session.add(contact)
            db.session.flush()
            people.append(contact)
        currency = str(xero_contact.get("DefaultCurrency") or base_currency)
        deal = Deal(
            name=f"{name}: annual renewal",
            stage=_DEAL_STAGES[index % len(_DEAL_STAGES)],
            amount=Decimal(2400 + 1350 * index),
            currency=currency,
            account_id=account.id,
            crm_account_id=crm_account.id,
            contacts=people,
        )
        db.session.add(deal)
        db.session.flush()

    # Records that match nothing in Xero: the panel shows its empty state on them.
    extra = Account(
        name=spec.extra_account, domain=spec.extra_domain, crm_account_id=crm_account.id
    )
    db.session.add(extra)
    db.session.flush()
    person, email, title = spec.extra_contact
    contact = Contact(
        name=person, email=email, title=title, account_id=extra.id, crm_account_id=crm_account.id
    )
    db.session.add(contact)
    db.session.flush()
    db.session.add(
        Deal(
            name=spec.extra_deal,
            stage=_DEAL_STAGES[0],
            amount=Decimal(5000),
            currency=base_currency,
            account_id=extra.id,
            crm_account_id=crm_account.id,
            contacts=[contact],
        )
    )
    db.session.flush()


def rebuild_database(app: Flask) -> None:
    """Drop and recreate every table (the demo's and the plugin's), then add the demo data.

    The CRM accounts, users, and the accounts, contacts and deals that mirror the seed's
    first (Acme) and second (Globex) organisations, in seed order, so ids are the same at
    every start.
    """
    seed = _state(app).seed
    tenants = [t for t in seed.get("tenants") or [] if isinstance(t, Mapping)]
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

    seed = _state(app).seed
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


# --------------------------------------------------------------------------------------------
# The command line.


def build_arg_parser() -> argparse.ArgumentParser:
    """The ``python demo_app.py`` options."""
    parser = argparse.ArgumentParser(
        prog="demo_app.py",
        description=(
            "Run the demo CRM with the Xero panel, on a local Xero emulator. The demo database"
            " is rebuilt at each start. Every XERO_PANEL_* setting can come from the environment."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=5000, help="the CRM's port (default 5000)")
    parser.add_argument(
        "--xero-seed",
        metavar="FILE",
        help="JSON seed for the Xero emulator (default: the built-in sample)",
    )
    parser.add_argument(
        "--emulator-port", type=int, default=5055, help="the Xero emulator's port (default 5055)"
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help=(
            "SQLAlchemy URL of the demo database, e.g."
            " postgresql+psycopg://postgres@127.0.0.1:5432/test"
            " (default: a SQLite file in the instance folder)"
        ),
    )
    return parser


def _browser_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def main(argv: Sequence[str] | None = None) -> None:
    """Start the emulator and the CRM, rebuild the demo database, and serve until stopped."""
    from xero_emulator import Emulator, load_seed, sample_seed

    parser = build_arg_parser()
    args = parser.parse_args(argv)
    try:
        seed = load_seed(args.xero_seed) if args.xero_seed else sample_seed()
    except (OSError, ValueError) as exc:
        parser.error(f"--xero-seed: {exc}")
    public_host = _browser_host(args.host)
    crm_url = f"http://{public_host}:{args.port}"
    emulator_url = f"http://{public_host}:{args.emulator_port}"
    config: dict[str, Any] = {}
    if args.database_url:
        config["SQLALCHEMY_DATABASE_URI"] = args.database_url
    app = create_app(config, seed=seed, emulator_url=emulator_url)

    prefix = str(app.config["XERO_PANEL_URL_PREFIX"]).rstrip("/")
    emulator = Emulator(
        seed,
        webhook_url=f"{crm_url}{prefix}/webhooks",
        webhook_key=app.config["XERO_PANEL_WEBHOOK_KEY"],
        control_enabled=True,
    )
    server = emulator.serve(host=args.host, port=args.emulator_port)
    try:
        rebuild_database(app)
        connect_acme(app, emulator)
        _print_banner(crm_url, server.url, seed)
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    finally:
        server.shutdown()


def _print_banner(crm_url: str, emulator_url: str, seed: Mapping[str, Any]) -> None:
    tenants = seed.get("tenants") or []
    names = [str(t.get("tenantName") or t.get("tenantId")) for t in tenants[:2]]
    lines = [
        "",
        f"  Demo CRM:       {crm_url}",
        f"  Xero emulator:  {emulator_url}",
        "",
        f"  CRM users (password '{DEMO_PASSWORD}'):",
    ]
    for user in DEMO_USERS:
        lines.append(f"    {user.email:<20} {user.role:<6} {user.crm_account}")
    if names:
        lines.append(f"  Acme is connected to the Xero organisation {names[0]!r}.")
    if len(names) > 1:
        lines.append(f"  Globex is not connected: install Xero to connect {names[1]!r}.")
    lines.append("")
    lines.append("  Xero logins (on the emulator's sign-in page):")
    tenant_names = {
        str(t.get("tenantId")): str(t.get("tenantName") or t.get("tenantId")) for t in tenants
    }
    for xero_user in seed.get("users") or []:
        orgs = ", ".join(tenant_names.get(str(t), str(t)) for t in xero_user.get("tenants") or [])
        lines.append(
            f"    {xero_user.get('email')}  password {xero_user.get('password')!r}  ({orgs})"
        )
    lines.append("")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

"""The CRM's pages: sign-in, one list and one detail page per record type, and settings.

The list and detail pages of contacts, accounts and deals are one view each, registered once
per :data:`RECORD_PAGES` entry under the same URLs and endpoint names (``contacts``,
``contact_detail``, ...) the templates link to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec
from urllib.parse import urlsplit

import flask_login
from flask import Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from .hooks import owned
from .models import Account, Contact, Deal, User, db
from .sessions import end_session, start_session, throttle

__all__ = ["RECORD_PAGES", "RecordPage", "admin_required", "login_required", "register_routes"]

_P = ParamSpec("_P")

_MARKETPLACE_APPS = (
    ("Mailbox sync", "Communication", "Log emails from Gmail and Outlook on contacts and deals."),
    ("Calendar", "Productivity", "See meetings on records and book them from the CRM."),
    ("E-signature", "Sales", "Send quotes and contracts for signature and track them."),
    ("Phone dialer", "Communication", "Call from the browser; calls are logged automatically."),
    ("Lead enrichment", "Data", "Fill in company size, industry and location for new accounts."),
)


@dataclass(frozen=True)
class RecordPage:
    """A CRM record type's pages: ``/<plural>`` lists them, ``/<plural>/<id>`` shows one.

    The list renders ``demo/<plural>.html`` with ``records``; the detail page renders
    ``demo/<record_type>.html`` with the record as both ``record`` and ``<record_type>``.
    """

    record_type: str
    plural: str
    model: type[Account] | type[Contact] | type[Deal]


RECORD_PAGES = (
    RecordPage("contact", "contacts", Contact),
    RecordPage("account", "accounts", Account),
    RecordPage("deal", "deals", Deal),
)


def login_required(view: Callable[_P, ResponseReturnValue]) -> Callable[_P, ResponseReturnValue]:
    """Flask-Login's ``login_required`` (logged-out users go to the login page), typed."""
    wrapped: Callable[_P, ResponseReturnValue] = flask_login.login_required(view)
    return wrapped


def admin_required(view: Callable[_P, ResponseReturnValue]) -> Callable[_P, ResponseReturnValue]:
    """Logged-out users go to the login page; signed-in users who are not admins get 403."""

    @wraps(view)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> ResponseReturnValue:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return login_required(wrapper)


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so ``?next=`` cannot send users to another site."""
    if target:
        parts = urlsplit(target)
        same_site = not parts.scheme and not parts.netloc and "\\" not in target
        if same_site and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("contacts")


def register_routes(app: Flask) -> None:
    """Add the CRM's pages to ``app``."""
    app.add_url_rule("/", view_func=_index, endpoint="index")
    app.add_url_rule("/favicon.ico", view_func=_favicon, endpoint="favicon")
    app.add_url_rule("/login", view_func=_login, methods=["GET", "POST"], endpoint="login")
    app.add_url_rule("/logout", view_func=_logout, methods=["POST"], endpoint="logout")
    for page in RECORD_PAGES:
        app.add_url_rule(
            f"/{page.plural}", endpoint=page.plural, view_func=login_required(_list_view(page))
        )
        app.add_url_rule(
            f"/{page.plural}/<record_id>",
            endpoint=f"{page.record_type}_detail",
            view_func=login_required(_detail_view(page)),
        )
    app.add_url_rule("/settings", view_func=admin_required(_settings), endpoint="settings")
    app.add_url_rule(
        "/settings/marketplace", view_func=admin_required(_marketplace), endpoint="marketplace"
    )


def _index() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("contacts"))
    return redirect(url_for("login"))


def _favicon() -> ResponseReturnValue:
    # Pages that do not link the icon (the plugin's own) make browsers ask for this path.
    return current_app.send_static_file("favicon.svg")


def _login() -> ResponseReturnValue:
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    error = None
    email = ""
    status = 200
    retry_after = 0
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        retry_after = throttle().wait(email)
        if retry_after:
            # Repeated failures: no password is checked until the wait is over.
            error = f"Too many failed sign-ins for this email. Try again in {retry_after} s."
            status = 429
        else:
            user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
            if user is not None and check_password_hash(user.password_hash, password):
                throttle().succeeded(email)
                login_user(user)
                start_session()
                return redirect(_safe_next(request.args.get("next")))
            throttle().failed(email)
            error = "Wrong email or password. Every demo user's password is 'demo'."
            status = 401
    response = current_app.make_response(
        (render_template("demo/login.html", error=error, email=email), status)
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _logout() -> ResponseReturnValue:
    logout_user()
    end_session()  # a copy of the session cookie stops working too
    flash("You are signed out.", "info")
    return redirect(url_for("login"))


def _list_view(page: RecordPage) -> Callable[[], ResponseReturnValue]:
    def view() -> ResponseReturnValue:
        model = page.model
        records = db.session.scalars(
            select(model)
            .where(model.crm_account_id == current_user.crm_account_id)
            .order_by(model.id)
        ).all()
        return render_template(f"demo/{page.plural}.html", records=records, section=page.plural)

    return view


def _detail_view(page: RecordPage) -> Callable[[str], ResponseReturnValue]:
    def view(record_id: str) -> ResponseReturnValue:
        record = owned(page.model, record_id)
        if record is None:
            abort(404)
        context = {page.record_type: record}
        return render_template(
            f"demo/{page.record_type}.html",
            record=record,
            record_type=page.record_type,
            section=page.plural,
            **context,
        )

    return view


def _settings() -> ResponseReturnValue:
    users = db.session.scalars(
        select(User).where(User.crm_account_id == current_user.crm_account_id).order_by(User.id)
    ).all()
    return render_template(
        "demo/settings.html", users=users, section="settings", settings_page="general"
    )


def _marketplace() -> ResponseReturnValue:
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

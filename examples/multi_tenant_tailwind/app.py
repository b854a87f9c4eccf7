"""A multi-tenant CRM on Tailwind CSS with a dark mode: each company connects its own Xero.

What it needs from xero-panel, and nothing else: the three hooks (records and the CRM
account both scoped to the signed-in user's company, an admin check), its settings from the
environment, one layout override (templates/xero_panel/base.html) and the widget call. Its
dark mode is Tailwind's `dark` class on <html>, which the panel follows too.

    npm ci && npm run build                  # Tailwind, pinned by package-lock.json
    pip install xero-panel                   # into this example's own virtualenv
    XERO_PANEL_CLIENT_ID=... XERO_PANEL_CLIENT_SECRET=... XERO_PANEL_ENCRYPTION_KEYS=... \
    FLASK_SECRET_KEY=... flask --app app run

Its own tests (tests/) need no Xero app: TESTING on, and the emulator in-process from
xero-emulator's pytest fixture (pip install xero-emulator pytest; then pytest tests).
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, abort, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from xero_panel import CRMRecord, XeroPanel

db = SQLAlchemy()
panel = XeroPanel(db=db)
login_manager = LoginManager()
login_manager.login_view = "login"
HERE = Path(__file__).parent


class Company(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)


class User(UserMixin, db.Model):
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(200), unique=True, nullable=False)
    company_id = db.Column(db.Integer, db.ForeignKey(Company.id), nullable=False)
    is_admin = db.Column(db.Boolean, default=False, nullable=False)


class Contact(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    company_id = db.Column(db.Integer, db.ForeignKey(Company.id), nullable=False)
    name = db.Column(db.String(200), nullable=False)
    email = db.Column(db.String(200), nullable=False)


def my_contacts():
    return Contact.query.filter_by(company_id=current_user.company_id)


# -- the three hooks --------------------------------------------------------------------------


@panel.record_loader
def load_record(record_type: str, record_id: str) -> CRMRecord | None:
    # record_id is a string; another company's contact is "not found" (None).
    if record_type != "contact" or not record_id.isdigit():
        return None
    contact = my_contacts().filter_by(id=int(record_id)).first()
    return contact and CRMRecord(contact.name, emails=[contact.email])


@panel.account_resolver
def crm_account() -> str | None:
    # Multi-tenant: each company is a CRM account with its own Xero connection.
    return str(current_user.company_id) if current_user.is_authenticated else None


@panel.admin_check
def is_admin() -> bool:
    return current_user.is_authenticated and current_user.is_admin


# -- the app ----------------------------------------------------------------------------------


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{HERE / 'crm.db'}"
    app.config.from_prefixed_env()  # FLASK_SECRET_KEY, FLASK_SQLALCHEMY_DATABASE_URI, ...
    # from_prefixed_env() reads FLASK_* only: the plugin's XERO_PANEL_* keys need this line.
    app.config.update({k: v for k, v in os.environ.items() if k.startswith("XERO_PANEL_")})
    db.init_app(app)
    login_manager.init_app(app)
    CSRFProtect(app)
    panel.init_app(app)
    with app.app_context():
        db.create_all()
        if Company.query.count() == 0:
            add_sample_data()

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id))

    @app.route("/login", methods=["GET", "POST"])
    def login():
        # An example's sign-in: pick a user (a real CRM checks a password).
        if request.method == "POST":
            login_user(User.query.filter_by(email=request.form["email"]).first_or_404())
            return redirect(url_for("contacts"))
        return render_template("login.html", users=User.query.all())

    @app.route("/")
    @login_required
    def contacts():
        return render_template("contacts.html", contacts=my_contacts().all())

    @app.route("/contacts/<int:contact_id>")
    @login_required
    def contact(contact_id: int):
        found = my_contacts().filter_by(id=contact_id).first() or abort(404)
        return render_template("contact.html", contact=found)

    return app


def add_sample_data() -> None:
    kiwi, harbour = Company(name="Kiwi Garden"), Company(name="Harbour Audio")
    db.session.add_all([kiwi, harbour])
    db.session.flush()
    db.session.add_all(
        [
            User(email="admin@kiwi.test", company_id=kiwi.id, is_admin=True),
            User(email="admin@harbour.test", company_id=harbour.id, is_admin=True),
            Contact(company_id=kiwi.id, name="Totara Events Group",
                    email="accounts@totaraeventsgroup.test"),
            Contact(company_id=harbour.id, name="Southern Landscaping Group",
                    email="accounts@southernlandscapinggroup.test"),
        ]
    )  # fmt: skip
    db.session.commit()

"""A single-tenant CRM on Bootstrap 5 whose reps see only their own customers.

What it needs from xero-panel, and nothing else: the three hooks (a role filter in the
record loader, a constant CRM account, an admin check), its settings from the environment,
one layout override (templates/xero_panel/base.html) and the widget call.

    npm ci                                   # Bootstrap, pinned by package-lock.json
    pip install xero-panel                   # into this example's own virtualenv
    XERO_PANEL_CLIENT_ID=... XERO_PANEL_CLIENT_SECRET=... XERO_PANEL_ENCRYPTION_KEYS=... \
    FLASK_SECRET_KEY=... flask --app app run

Its own tests (tests/) need no Xero app: TESTING on, and the emulator in-process from
xero-emulator's pytest fixture (pip install xero-emulator pytest; then pytest tests).
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, abort, redirect, render_template, request, send_from_directory, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from xero_panel import CRMRecord, XeroPanel

db = SQLAlchemy()
panel = XeroPanel(db=db)
login_manager = LoginManager()
login_manager.login_view = "login"
HERE = Path(__file__).parent


class User(UserMixin, db.Model):
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(200), unique=True, nullable=False)
    role = db.Column(db.String(20), nullable=False)  # "manager" or "rep"


class Customer(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    email = db.Column(db.String(200), nullable=False)
    owner_id = db.Column(db.Integer, db.ForeignKey(User.id), nullable=False)


def visible_customers():
    """The CRM's one role rule: managers see every customer, reps their own."""
    if current_user.role == "manager":
        return Customer.query
    return Customer.query.filter_by(owner_id=current_user.id)


# -- the three hooks --------------------------------------------------------------------------


@panel.record_loader
def load_record(record_type: str, record_id: str) -> CRMRecord | None:
    # record_id arrives as a string (it comes from the panel's URL). The role filter belongs
    # here: None means "not found", so a rep gets no panel for another rep's customer.
    if record_type != "contact" or not record_id.isdigit():
        return None
    customer = visible_customers().filter_by(id=int(record_id)).first()
    return customer and CRMRecord(customer.name, emails=[customer.email])


@panel.account_resolver
def crm_account() -> str | None:
    # Single-tenant: the whole CRM is one account, connected to one Xero grant.
    return "crm" if current_user.is_authenticated else None


@panel.admin_check
def is_admin() -> bool:
    return current_user.is_authenticated and current_user.role == "manager"


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
        if User.query.count() == 0:
            add_sample_data()

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id))

    @app.route("/login", methods=["GET", "POST"])
    def login():
        # An example's sign-in: pick a user (a real CRM checks a password).
        if request.method == "POST":
            user = User.query.filter_by(email=request.form["email"]).first_or_404()
            login_user(user)
            return redirect(url_for("customers"))
        return render_template("login.html", users=User.query.all())

    @app.route("/")
    @login_required
    def customers():
        return render_template("customers.html", customers=visible_customers().all())

    @app.route("/customers/<int:customer_id>")
    @login_required
    def customer(customer_id: int):
        found = visible_customers().filter_by(id=customer_id).first() or abort(404)
        return render_template("customer.html", customer=found)

    @app.route("/vendor/<path:filename>")
    def vendor(filename: str):
        # Bootstrap from npm (npm ci), served as it is.
        return send_from_directory(HERE / "node_modules/bootstrap/dist", filename)

    return app


def add_sample_data() -> None:
    manager = User(email="manager@example.test", role="manager")
    rep = User(email="rep@example.test", role="rep")
    db.session.add_all([manager, rep])
    db.session.flush()
    db.session.add_all(
        [
            Customer(name="Totara Events Group", email="accounts@totaraeventsgroup.test",
                     owner_id=rep.id),
            Customer(name="Coastal Studios Pty Ltd", email="accounts@coastalstudiosptyltd.test",
                     owner_id=manager.id),
        ]
    )  # fmt: skip
    db.session.commit()

"""The app factory: the demo CRM with the plugin, configured for the Xero emulator."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask

from .errors import register_error_handlers
from .hooks import csrf, exempt_webhook_from_csrf, login_manager, panel
from .models import db
from .routes import register_routes
from .seeding import remember_seed
from .sessions import install_throttle

__all__ = ["ROOT", "create_app"]

#: The repository: the demo's ``templates/``, ``static/`` and ``instance/`` folders are here.
ROOT = Path(__file__).resolve().parent.parent


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

    app = Flask(
        "demo_app",
        root_path=str(ROOT),
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
    )
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        # The emulator runs on the same host name; its own session cookie must not
        # overwrite ours (cookies ignore the port).
        SESSION_COOKIE_NAME="xero_panel_demo_session",
        # Sent on top-level navigation to the CRM, never on another site's POST or frame.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
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
            # Invoice numbers open the emulator's stand-in for Xero's web app, offline too.
            XERO_PANEL_DEEP_LINK_URL=base,
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
    remember_seed(app, seed)

    db.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    panel.init_app(app)
    exempt_webhook_from_csrf(app)

    install_throttle(app)
    register_routes(app)
    register_error_handlers(app)
    app.context_processor(_template_globals)
    return app


def _template_globals() -> dict[str, Any]:
    return {"format_money": _format_money}


def _format_money(amount: Decimal | float | int | None, currency: str) -> str:
    if amount is None:
        return ""
    return f"{currency} {Decimal(amount):,.2f}"

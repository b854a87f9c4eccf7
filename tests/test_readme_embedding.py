"""The README's embedding section, run as it stands: its Python blocks are one host's
``app.py``, its settings come from the environment as it says, and its templates render."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import render_template_string
from flask_login import FlaskLoginClient, UserMixin
from werkzeug.security import generate_password_hash

from tests.readme_support import README, SECTION, blocks, write_readme_app


class User(UserMixin):
    def __init__(self, user_id: int, tenant_id: int, is_manager: bool) -> None:
        self.id, self.tenant_id, self.is_manager = user_id, tenant_id, is_manager


USERS = {1: User(1, 1, True), 2: User(2, 1, False), 3: User(3, 2, True)}
EMAILS = {1: "boss@one.test", 2: "rep@one.test", 3: "boss@two.test"}


@pytest.fixture
def readme_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The README's app.py, imported from a fresh folder with the README's environment."""
    write_readme_app(tmp_path)
    for key, value in {
        "FLASK_SECRET_KEY": "readme",
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/crm.db",
        "XERO_PANEL_CLIENT_ID": "client-from-the-environment",
        "XERO_PANEL_CLIENT_SECRET": "secret",
        "XERO_PANEL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "XERO_PANEL_CACHE_TTL": "7",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("app", None)
    import app as module  # the README's file

    yield module
    sys.modules.pop("app", None)


def make(module: ModuleType) -> Any:
    app = module.create_app()
    app.test_client_class = FlaskLoginClient
    with app.app_context():
        module.db.session.add_all(
            module.User(
                id=u.id,
                email=EMAILS[u.id],
                password_hash=generate_password_hash("pw", method="pbkdf2:sha256:1000"),
                tenant_id=u.tenant_id,
                is_manager=u.is_manager,
            )
            for u in USERS.values()
        )
        module.db.session.add_all(
            [
                module.Contact(id=1, tenant_id=1, owner_id=1, name="Kat", email="k@x.test"),
                module.Contact(id=2, tenant_id=1, owner_id=2, name="Rep's", email=None),
                module.Contact(id=3, tenant_id=2, owner_id=3, name="Other CRM", email=None),
            ]
        )
        module.db.session.commit()
    return app


def test_the_settings_come_from_the_environment(readme_app: ModuleType) -> None:
    from xero_panel.state import get_state

    app = make(readme_app)
    settings = get_state(app).settings
    assert settings.client_id == "client-from-the-environment"
    assert settings.cache_ttl == 7
    assert app.config["SECRET_KEY"] == "readme"


def test_the_hooks_filter_by_tenant_and_role(readme_app: ModuleType) -> None:
    app = make(readme_app)

    def status(user_id: int, record_id: str) -> int:
        with app.test_client(user=USERS[user_id]) as client:
            code: int = client.get(f"/integrations/xero/panel/contact/{record_id}").status_code
            return code

    # The manager sees every contact of their CRM account, the rep only their own, and no
    # one another account's; record ids that are not numbers are "not found".
    assert [status(1, "1"), status(1, "2"), status(1, "3")] == [200, 200, 404]
    assert [status(2, "1"), status(2, "2")] == [404, 200]
    assert [status(3, "3"), status(3, "1"), status(1, "x")] == [200, 404, 404]


def test_the_widget_the_card_and_the_layout_override_render(readme_app: ModuleType) -> None:
    app = make(readme_app)
    (widget,) = [b for b in blocks("jinja") if "xero_panel_widget" in b]
    with app.test_request_context():
        html = render_template_string(widget, contact=readme_app.Contact(id=1))
        card = render_template_string("{{ xero_panel_marketplace_card() }}")
    assert 'data-record-type="contact" data-record-id="1"' in html
    assert 'data-testid="xero-card"' in card
    with app.test_client(user=USERS[1]) as client:
        page = client.get("/integrations/xero/settings")
    assert page.status_code == 200
    assert b'data-testid="host-layout"' in page.data  # the settings page in the host's layout
    assert b"<title>Xero integration - Donor CRM</title>" in page.data  # and its title
    with app.test_client(user=USERS[2]) as client:
        assert client.get("/integrations/xero/settings").status_code == 403  # not an admin


def test_one_name_for_the_layout_override() -> None:
    assert "admin_base.html" not in README
    assert "templates/xero_panel/base.html" in SECTION


def csrf_of(html: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1).decode()


def test_signing_in_on_the_login_page_opens_the_panel(readme_app: ModuleType) -> None:
    app = make(readme_app)
    with app.test_client() as client:
        panel_url = "/integrations/xero/panel/contact/2"
        # Logged out: the plugin sends the browser to the host's login page.
        assert client.get(panel_url).headers["Location"].startswith("/login")
        page = client.get(f"/login?next={panel_url}")
        assert page.status_code == 200
        wrong = client.post(
            "/login",
            data={"email": "rep@one.test", "password": "no", "csrf_token": csrf_of(page.data)},
        )
        assert wrong.status_code == 200  # the form again, not signed in
        signed_in = client.post(
            f"/login?next={panel_url}",
            data={"email": "rep@one.test", "password": "pw", "csrf_token": csrf_of(page.data)},
        )
        assert signed_in.status_code == 302
        assert signed_in.headers["Location"] == panel_url
        # The README's user loader finds the rep: the panel answers, not 500.
        assert client.get(panel_url).status_code == 200
        assert client.get("/integrations/xero/panel/contact/1").status_code == 404  # a manager's
        assert client.get("/").data == b"Signed in as rep@one.test"


def test_login_sends_only_to_this_site(readme_app: ModuleType) -> None:
    app = make(readme_app)
    with app.test_client() as client:
        token = csrf_of(client.get("/login").data)
        for target in ("https://evil.test/", "//evil.test/", "/\\evil.test/"):
            response = client.post(
                f"/login?next={target}",
                data={"email": "rep@one.test", "password": "pw", "csrf_token": token},
            )
            assert response.headers["Location"] == "/", target


def test_login_form_needs_its_csrf_token(readme_app: ModuleType) -> None:
    app = make(readme_app)
    with app.test_client() as client:
        response = client.post("/login", data={"email": "rep@one.test", "password": "pw"})
    assert response.status_code == 400


def without_xero_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("XERO_PANEL_CLIENT_ID", "XERO_PANEL_CLIENT_SECRET", "XERO_PANEL_ENCRYPTION_KEYS"):
        monkeypatch.delenv(key)


def test_a_hosts_tests_start_without_xero_credentials(
    readme_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Testing your host with xero-panel": TESTING on, no Xero app, and the app starts."""
    without_xero_credentials(monkeypatch)
    monkeypatch.setenv("FLASK_TESTING", "true")
    app = make(readme_app)
    with app.test_client(user=USERS[1]) as client:
        page = client.get("/integrations/xero/settings")
        assert page.status_code == 200
        assert b'data-testid="connection-status" data-status="not_configured"' in page.data
        assert b"Xero is not configured: set XERO_PANEL_CLIENT_ID" in page.data
        assert b'data-testid="connect-xero"' not in page.data
        token = csrf_of(client.get("/login").data)  # one token per session, Flask-WTF's
        refused = client.post("/integrations/xero/connect", data={"csrf_token": token})
        assert refused.status_code == 400
        assert b"Xero is not configured" in refused.data
        # The panel itself answers as for any account that has not connected Xero.
        assert client.get("/integrations/xero/panel/contact/1").status_code == 200


def test_outside_tests_missing_credentials_stop_the_start(
    readme_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_xero_credentials(monkeypatch)
    with pytest.raises(RuntimeError) as error:
        readme_app.create_app()
    assert str(error.value) == (
        "XERO_PANEL_CLIENT_ID is not set: xero-panel needs it to connect to Xero."
    )

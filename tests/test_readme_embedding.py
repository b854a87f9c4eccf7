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

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SECTION = README[
    README.index("## Embedding the panel in your CRM") : README.index("### Database tables")
]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", SECTION, flags=re.S)


class User(UserMixin):
    def __init__(self, user_id: int, tenant_id: int, is_manager: bool) -> None:
        self.id, self.tenant_id, self.is_manager = user_id, tenant_id, is_manager


USERS = {1: User(1, 1, True), 2: User(2, 1, False), 3: User(3, 2, True)}


@pytest.fixture
def readme_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The README's app.py, imported from a fresh folder with the README's environment."""
    (tmp_path / "app.py").write_text("\n".join(blocks("python")))
    templates = tmp_path / "templates"
    for source in blocks("jinja"):
        named = re.match(r"\{# (templates/\S+) #\}\n", source)
        if named:
            target = tmp_path / named.group(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source)
    (templates / "layout.html").write_text(
        "<title>{% block title %}{% endblock %} - Donor CRM</title>"
        '<main data-testid="host-layout">{% block content %}{% endblock %}</main>'
    )
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
    module.login_manager.user_loader(lambda user_id: USERS.get(int(user_id)))
    with app.app_context():
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

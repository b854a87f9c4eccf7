"""The marketplace card: Installed and Manage once the CRM account connected Xero, Install
before; the host's classes give it the look of the cards beside it."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string, request

from tests.conftest import HostApp
from xero_panel.models import Connection


def card(host: HostApp, user: str, **classes: str) -> str:
    """The card as ``user`` sees it, rendered in a request of theirs."""
    if "_card" not in host.app.view_functions:
        host.app.add_url_rule(
            "/_card",
            "_card",
            lambda: render_template_string(
                "{{ xero_panel_marketplace_card('', classes=classes) }}",
                classes={k: v for k, v in request.args.items()} or None,
            ),
        )
    return str(host.client(user).get("/_card", query_string=classes).text)


def test_card_says_install_before_and_installed_manage_after(host: HostApp) -> None:
    before = card(host, "admin-acme")
    assert 'data-testid="xero-card" data-app="xero" data-installed="false"' in before
    assert ">Install</a>" in before and "Manage" not in before
    with host.app.app_context():
        host.db.session.add(Connection(crm_account="acme", status="active"))
        host.db.session.commit()
    after = card(host, "admin-acme")
    assert 'data-installed="true"' in after
    assert re.search(r'data-testid="xero-card-status">Installed</span>', after)
    assert ">Manage</a>" in after and ">Install</a>" not in after
    assert 'data-installed="false"' in card(host, "admin-globex")  # per CRM account


def test_card_takes_the_host_classes(host: HostApp) -> None:
    html = card(host, "admin-acme", card="app-card", icon="app-icon", button="btn btn-primary")
    assert '<article class="app-card"' in html
    assert '<div class="app-icon" aria-hidden="true">' in html
    assert 'class="btn btn-primary"' in html


def test_card_refuses_unknown_class_keys(host: HostApp) -> None:
    with host.app.test_request_context(), pytest.raises(ValueError, match="unknown classes"):
        render_template_string("{{ xero_panel_marketplace_card('', classes={'buton': 'x'}) }}")

"""Every plugin route's responses carry ``Cache-Control: private, no-store`` (they show
invoices or the integration's settings), ``X-Content-Type-Options: nosniff`` and
``Vary: HX-Request``, whatever the answer: a page, a partial, an error, a redirect. The
routes are read from the app's URL map, so a new route is walked too."""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.routing import Rule

from tests.conftest import HostApp
from tests.panel_app import HX, Seeded, token_of

VALUES = {
    "record_type": "contact",
    "record_id": "1",
    "organisation_id": "1",
    "invoice_id": "x",
    "contact_id": "c-1",
    "filename": "xero_panel/panel.css",
}


def plugin_rules(host: HostApp) -> list[Rule]:
    rules = [r for r in host.app.url_map.iter_rules() if r.endpoint.startswith("xero_panel.")]
    assert len(rules) >= 15
    return rules


def path_of(rule: Rule) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: VALUES[m.group(1)], rule.rule)


@pytest.fixture
def seeded(host: HostApp) -> Seeded:
    from flask_wtf.csrf import generate_csrf

    host.app.add_template_global(generate_csrf, "csrf_token")
    return Seeded(host)


def requests_of(seeded: Seeded) -> list[tuple[str, str, str | None, dict[str, str]]]:
    """(method, path, user, headers) for every method of every plugin route, signed in and
    out, with and without htmx."""
    out = []
    for rule in plugin_rules(seeded.host):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for user in ("admin-acme", "rep-acme", None):
                for headers in ({}, HX):
                    out.append((method, path_of(rule) + "?view=paid", user, headers))
    return out


def test_every_plugin_response_has_the_headers(seeded: Seeded) -> None:
    statuses = set()
    walked = 0
    for method, path, user, headers in requests_of(seeded):
        client = seeded.host.client(user)
        extra = {"X-CSRFToken": token_of(client)} if user else {}
        response: Any = client.open(path, method=method, headers={**headers, **extra})
        response.close()
        statuses.add(response.status_code)
        where = (method, path, user, headers, response.status_code)
        assert response.headers["X-Content-Type-Options"] == "nosniff", where
        if path.startswith("/integrations/xero/static/"):
            continue
        assert response.headers["Cache-Control"] == "private, no-store", where
        assert "HX-Request" in response.headers.get("Vary", ""), where
        walked += 1
    assert walked > 60
    assert {200, 302, 400, 403, 404} <= statuses


def test_guard_refusals_carry_the_headers_too(seeded: Seeded) -> None:
    response = seeded.get("/contact/1?q=%00")
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]


def test_host_pages_are_left_alone(seeded: Seeded) -> None:
    response = seeded.host.client().get("/login")
    assert "X-Content-Type-Options" not in response.headers
    assert "Cache-Control" not in response.headers

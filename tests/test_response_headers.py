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
        assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'", where
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN", where
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
    assert "X-Frame-Options" not in response.headers
    assert "Content-Security-Policy" not in response.headers


def test_framing_origins_set_by_the_host(make_host: Any, tmp_path: Any) -> None:
    framer = "'self' https://crm.example.com"
    host = make_host(f"sqlite:///{tmp_path}/h.db", XERO_PANEL_FRAME_ANCESTORS=framer)
    response = host.client("admin-acme").get("/integrations/xero/settings")
    assert response.headers["Content-Security-Policy"] == f"frame-ancestors {framer}"
    assert "X-Frame-Options" not in response.headers


def test_a_views_own_policy_is_kept_and_framing_added(host: HostApp) -> None:
    from flask import Response

    from xero_panel.web.request_guard import secure_headers

    with host.app.test_request_context("/integrations/xero/settings"):
        response = Response("x")
        response.headers["Content-Security-Policy"] = "default-src 'self'"
        secure_headers(response)
        assert response.headers.getlist("Content-Security-Policy") == [
            "default-src 'self'",
            "frame-ancestors 'self'",
        ]

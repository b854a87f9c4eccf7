"""A strict Content Security Policy (``script-src 'self'``, no ``'unsafe-inline'``, no
``'unsafe-eval'``) works with the plugin: no template and no response carries an inline
script body, an ``on*=`` handler or an ``hx-on`` attribute. Its one script is panel.js."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import render_template_string

from tests.panel_app import HX, PANEL, Seeded

PACKAGE = Path(__file__).resolve().parent.parent / "xero_panel"
TEMPLATES = sorted((PACKAGE / "templates").rglob("*.html"))

#: An opening tag's attribute that runs script: onclick=, hx-on:..., hx-on::before-swap=.
INLINE_HANDLER = re.compile(r"<[^>]*\s(on[a-z]+|hx-on[\w:.-]*|data-hx-on[\w:.-]*)\s*=", re.I)
#: A script element with a body (``<script src=...></script>`` has none).
INLINE_SCRIPT = re.compile(r"<script\b[^>]*>\s*[^<\s]", re.I)
#: htmx's other ways of running script from an attribute.
EVAL_ATTRIBUTE = re.compile(r"""(hx-vals|hx-vars)\s*=\s*['"]\s*js:|javascript:""", re.I)


def inline_script_in(html: str) -> list[str]:
    found = [m.group(0) for m in INLINE_HANDLER.finditer(html)]
    found += [m.group(0) for m in INLINE_SCRIPT.finditer(html)]
    found += [m.group(0) for m in EVAL_ATTRIBUTE.finditer(html)]
    return found


@pytest.mark.parametrize(
    "html",
    [
        '<button onclick="x()">',
        '<section hx-on::before-swap="if(1){}">',
        '<div\n   hx-on:htmx:after-swap="y">',
        "<script>alert(1)</script>",
        '<a href="javascript:void(0)">',
        "<div hx-vals='js:{a: 1}'>",
    ],
)
def test_checker_finds_inline_script(html: str) -> None:
    assert inline_script_in(html)


def test_checker_accepts_script_files_and_data_attributes() -> None:
    html = '<script src="/static/panel.js" defer></script><p data-online="x" hx-get="/p">'
    assert inline_script_in(html) == []


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_template_has_inline_script(template: Path) -> None:
    assert inline_script_in(template.read_text()) == []


def responses(seeded: Seeded) -> dict[str, str]:
    """Every kind of page and partial the plugin answers with, by a short name."""
    host = seeded.host
    rep, admin = host.client("rep-acme"), host.client("admin-acme")
    out: dict[str, str] = {}
    for name, client, path, headers in [
        ("panel", rep, "/contact/1", HX),
        ("panel page", rep, "/contact/1", {}),
        ("panel as admin", admin, "/account/1?view=all", HX),
        ("pinned view", rep, "/contact/1?view=pinned", HX),
        ("load more", rep, "/contact/1?view=all&page=2", HX),
        ("bad parameter", rep, "/contact/1?view=nope", HX),
        ("unknown record", rep, "/contact/999", HX),
        ("error page", rep, "/contact/999", {}),
        ("link search", admin, "/contact/1/links/search?contact_q=a", HX),
    ]:
        out[name] = client.get(PANEL + path, headers=headers).get_data(as_text=True)
    base = PANEL.rsplit("/", 1)[0]
    out["settings"] = admin.get(base + "/settings").get_data(as_text=True)
    out["remove"] = admin.get(base + "/remove").get_data(as_text=True)
    out["not connected"] = (
        host.client("admin-globex").get(base + "/settings").get_data(as_text=True)
    )
    with host.app.test_request_context("/contacts/1?xp_view=paid"):
        out["widget"] = render_template_string('{{ xero_panel_widget("contact", 1) }}')
        out["marketplace card"] = render_template_string("{{ xero_panel_marketplace_card() }}")
    return out


def test_no_response_has_inline_script(seeded: Seeded) -> None:
    found = {name: inline_script_in(html) for name, html in responses(seeded).items()}
    assert {name: hits for name, hits in found.items() if hits} == {}
    # The pages really were rendered (not login redirects or empty answers).
    pages = responses(seeded)
    assert 'data-testid="invoice-row"' in pages["panel"]
    assert 'data-testid="xero-settings"' in pages["settings"]
    assert 'data-testid="remove-confirm"' in pages["remove"]
    assert 'data-testid="panel-error"' in pages["error page"]
    assert "xero_panel/panel.js" in pages["widget"]
    assert "xero_panel/panel.js" in pages["panel page"]

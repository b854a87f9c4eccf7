"""The web layer's shape: the blueprint comes from a factory, importing a route module
registers nothing (``register(bp)`` does), and only web/htmx.py touches htmx headers.
(Which modules stay Flask-free is tests/test_architecture.py's one check.)"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Flask

from xero_panel.web import admin_routes, panel_routes, webhook_routes
from xero_panel.web.blueprint import make_blueprint

PACKAGE = Path(__file__).resolve().parent.parent / "xero_panel"


def imported_modules(path: Path) -> set[str]:
    """The absolute modules a file imports, and their top-level packages."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names | {name.split(".")[0] for name in names}


def routes_of(register: Callable[[Blueprint], None] | None) -> set[str]:
    app = Flask(__name__)
    blueprint = make_blueprint()
    if register is not None:
        register(blueprint)
    app.register_blueprint(blueprint)
    return {r.endpoint for r in app.url_map.iter_rules() if r.endpoint != "static"}


def test_importing_route_modules_registers_nothing() -> None:
    # The route modules are imported above; a new blueprint still has only its static route.
    assert routes_of(None) == {"xero_panel.static"}


def test_each_route_module_registers_its_routes() -> None:
    assert routes_of(panel_routes.register) - {"xero_panel.static"} == {
        "xero_panel.panel",
        "xero_panel.refresh",
        "xero_panel.version",
        "xero_panel.pin",
        "xero_panel.link_search",
        "xero_panel.links",
        "xero_panel.unlink",
    }
    assert routes_of(admin_routes.register) - {"xero_panel.static"} == {
        "xero_panel.settings_page",
        "xero_panel.connect",
        "xero_panel.callback",
        "xero_panel.save",
        "xero_panel.test_connection",
        "xero_panel.refresh_now",
        "xero_panel.remove_confirm",
        "xero_panel.remove",
        "xero_panel.health_page",
    }
    assert routes_of(webhook_routes.register) - {"xero_panel.static"} == {"xero_panel.webhook"}


def test_two_blueprints_are_independent() -> None:
    first, second = make_blueprint(), make_blueprint()
    panel_routes.register(first)
    assert first is not second
    assert routes_of(None) == {"xero_panel.static"}


def test_only_the_htmx_module_reads_or_writes_htmx_headers() -> None:
    others = [p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "web" / "htmx.py"]
    found = [
        str(p.relative_to(PACKAGE))
        for p in others
        if "HX-" in p.read_text() or "htmx_flask" in imported_modules(p)
    ]
    assert found == []

"""The emulator stands on its own: no Flask and no xero_panel behind it, and every URL the
docs list is a rule in its one URL map."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import xero_emulator
from xero_emulator.urls import URL_MAP


def test_importing_every_module_loads_neither_flask_nor_xero_panel():
    names = [m.name for m in pkgutil.walk_packages(xero_emulator.__path__, "xero_emulator.")]
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'flask', 'xero_panel'})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert "xero_emulator.views.control" in names and "xero_emulator.backend" in names
    assert json.loads(out.stdout) == []


def test_url_map_has_every_documented_url():
    rules = {rule.rule for rule in URL_MAP.iter_rules()}
    assert {
        "/identity/connect/authorize",
        "/connect/token",
        "/identity/connect/token",
        "/connect/revocation",
        "/identity/connect/revocation",
        "/.well-known/openid-configuration",
        "/.well-known/openid-configuration/jwks",
        "/connections",
        "/connections/<cid>",
        "/api.xro/2.0/<path:rest>",
        "/in/<token>",
        "/_emulator/stats",
        "/_emulator/stats/reset",
        "/_emulator/reset",
        "/_emulator/tenants",
        "/_emulator/tenants/<tenant_id>/<kind>",
        "/_emulator/tenants/<tenant_id>/<kind>/<object_id>/payments",
        "/_emulator/tenants/<tenant_id>/<kind>/<object_id>/silent",
        "/_emulator/faults",
        "/_emulator/limits",
        "/_emulator/clock",
        "/_emulator/webhooks",
        "/_emulator/webhooks/intent-to-receive",
        "/_emulator/webhooks/flush",
        "/_emulator/tokens",
    } <= rules

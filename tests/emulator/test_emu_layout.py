"""The emulator stands on its own: no Flask and no xero_panel behind it, and every URL
docs/emulator.md lists is served by a rule of its one URL map."""

from __future__ import annotations

import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import xero_emulator
from werkzeug.exceptions import MethodNotAllowed, NotFound
from xero_emulator.urls import URL_MAP
from xero_emulator.views import control

DOCS = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"
API = "/api.xro/2.0"


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


def documented_urls(text: str) -> set[tuple[str | None, str]]:
    """(method or None, path) for every URL the emulator's docs give: ``{url}/path``
    anywhere, and ``METHOD /path`` (``GET/POST /path``) in code spans. Under "Accounting
    API", paths are below ``/api.xro/2.0``, and its table's bare ``/Path`` spans are GETs.
    A span after "no " (``no `GET /Payments```) says what is not served; placeholders
    (``<tenantId>``, ``{id}``) become a sample value."""
    methods = "(?:GET|POST|DELETE|PUT|PATCH)"
    found: set[tuple[str | None, str]] = set()
    in_api = False
    for line in text.splitlines():
        if line.startswith("## "):
            in_api = line.startswith("## Accounting API")
        line = re.sub(r"\{(?!url\})[^}]*\}|<[^>]*>", "x1", line)
        found.update((None, m[1]) for m in re.finditer(r"\{url\}(/[^\s`\"'?)]*)", line))
        for m in re.finditer(rf"(?<!no )`({methods}(?:/{methods})*) (\{{url\}})?(/[^\s`?]*)", line):
            path = API + m[3] if in_api and not m[2] and not m[3].startswith(API) else m[3]
            found.update((method, path) for method in m[1].split("/"))
        if in_api and line.startswith("|"):
            found.update(("GET", API + m[1]) for m in re.finditer(r"`(/[A-Z][^\s`?]*)`", line))
    return found


def unserved(documented: set[tuple[str | None, str]]) -> list[str]:
    """The documented URLs no rule of URL_MAP serves (the catch-all for unknown control
    endpoints does not count). A URL given without a method may be served for any; the
    API's base URL is served when what is below it is."""
    adapter = URL_MAP.bind("emulator.test")
    missing = []
    for method, path in sorted(documented, key=lambda d: (d[1], d[0] or "")):
        tries = [path, f"{path}/x1"] if method is None else [path]
        served = False
        for candidate in tries:
            try:
                view, _ = adapter.match(candidate, method=method or "GET")
            except MethodNotAllowed:
                served = method is None
            except NotFound:
                continue
            else:
                served = view is not control.no_such_endpoint
            break
        if not served:
            missing.append(f"{method or 'any'} {path}")
    return missing


def test_url_map_has_every_documented_url():
    documented = documented_urls(DOCS.read_text(encoding="utf-8"))
    paths = {path for _, path in documented}
    # The parse sees every part of the docs: identity, connections, the API, control.
    assert {"/connect/token", "/connections", f"{API}/Invoices", "/_emulator/faults"} <= paths
    assert len(documented) >= 40
    assert unserved(documented) == []


def test_unserved_finds_what_the_url_map_lacks():
    documented = documented_urls(
        "`POST /_emulator/clocks` and `GET {url}/connect/token2`, but no `GET /Payments`\n"
        "## Accounting API\n| `GET /Invoices/{id}` | `DELETE /connections/<id>` |\n"
    )
    assert documented == {
        ("POST", "/_emulator/clocks"),
        ("GET", "/connect/token2"),
        (None, "/connect/token2"),
        ("GET", f"{API}/Invoices/x1"),
        ("DELETE", f"{API}/connections/x1"),
    }
    assert unserved(documented) == [
        "POST /_emulator/clocks",
        f"DELETE {API}/connections/x1",
        "any /connect/token2",
        "GET /connect/token2",
    ]

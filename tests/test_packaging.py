from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "xero_panel" / "static" / "xero_panel"


def locked_htmx_version() -> str:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    return str(lock["packages"]["node_modules/htmx.org"]["version"])


def test_htmx_pinned_exactly_in_package_json() -> None:
    wanted = json.loads((ROOT / "package.json").read_text())["dependencies"]["htmx.org"]
    assert wanted == locked_htmx_version()


def test_served_htmx_matches_lockfile() -> None:
    head = (STATIC / "htmx.min.js").read_text()[:20000]
    assert f'version:"{locked_htmx_version()}"' in head.replace(" ", "")


def test_docs_name_the_pinned_htmx_version() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"htmx {locked_htmx_version()}" in readme


def test_htmx_copy_not_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "xero_panel/static"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert "htmx.min.js" not in tracked


def test_no_minified_or_vendored_files_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert [f for f in tracked if re.search(r"\.min\.(js|css)$|node_modules/", f)] == []


@pytest.mark.timeout(180)
def test_wheel_carries_templates_static_and_py_typed(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("xero_panel-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "xero_panel/py.typed" in names
    assert "xero_panel/templates/xero_panel/widget.html" in names
    assert "xero_panel/templates/xero_panel/partials/panel.html" in names
    assert "xero_panel/static/xero_panel/panel.css" in names
    assert "xero_panel/static/xero_panel/htmx.min.js" in names

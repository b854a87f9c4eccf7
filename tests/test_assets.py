from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from tests.conftest import base_config
from xero_panel import XeroPanel, assets
from xero_panel.state import EXTENSION_NAME


@pytest.fixture
def hidden_htmx(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    missing = tmp_path / "static" / "xero_panel" / "htmx.min.js"
    monkeypatch.setattr(assets, "BUNDLED_HTMX", missing)
    return missing


def expected_message(path: Path) -> str:
    return (
        f"xero-panel's bundled htmx is missing ({path}), so the panel could not load."
        " Reinstall xero-panel from a built wheel (python -m build makes one with htmx);"
        " in a clone of the repository, run 'npm ci && python scripts/copy_htmx.py';"
        " or set XERO_PANEL_HTMX_URL to a URL that serves htmx 2, or to 'none' when the"
        " host page loads htmx itself."
    )


def test_bundled_htmx_is_installed() -> None:
    assert assets.BUNDLED_HTMX.is_file()
    assert assets.check_bundled_htmx("") is None


def test_check_bundled_htmx_missing_names_the_fix(hidden_htmx: Path) -> None:
    with pytest.raises(RuntimeError) as error:
        assets.check_bundled_htmx("")
    assert str(error.value) == expected_message(hidden_htmx)


@pytest.mark.parametrize("htmx_url", [None, "https://cdn.example.test/htmx.js", "/js/htmx.js"])
def test_check_bundled_htmx_missing_but_not_used(hidden_htmx: Path, htmx_url: Any) -> None:
    assert assets.check_bundled_htmx(htmx_url) is None


def test_init_app_refuses_to_start_without_bundled_htmx(hidden_htmx: Path, tmp_path: Path) -> None:
    app = Flask(__name__)
    app.config.update(base_config(f"sqlite:///{tmp_path}/x.db"))
    with pytest.raises(RuntimeError) as error:
        XeroPanel(app, db=SQLAlchemy(app))
    assert str(error.value) == expected_message(hidden_htmx)
    assert EXTENSION_NAME not in app.extensions


@pytest.mark.parametrize("htmx_url", ["none", "https://cdn.example.test/htmx.js"])
def test_init_app_starts_without_bundled_htmx_when_loaded_elsewhere(
    hidden_htmx: Path, tmp_path: Path, htmx_url: str
) -> None:
    app = Flask(__name__)
    app.config.update(base_config(f"sqlite:///{tmp_path}/x.db"), XERO_PANEL_HTMX_URL=htmx_url)
    XeroPanel(app, db=SQLAlchemy(app))
    assert EXTENSION_NAME in app.extensions


def test_public_custom_properties_are_the_documented_ones() -> None:
    """panel.css reads one public set of colour properties, ``--xero-panel-*``, and the
    README and docs/panel.md list exactly those; no doc offers the internal ``--xp-*``."""
    import re

    root = Path(__file__).resolve().parent.parent
    css = (root / "xero_panel/static/xero_panel/panel.css").read_text()
    read = set(re.findall(r"var\((--xero-panel-[a-z-]+)", css))
    assert len(read) == 13
    for doc in ("README.md", "docs/panel.md"):
        text = (root / doc).read_text()
        assert set(re.findall(r"`(--xero-panel-[a-z-]+)`", text)) == read, doc
        assert not re.search(r"--xp-[a-z]+:", text), doc

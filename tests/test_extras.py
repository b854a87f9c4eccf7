"""A missing extra says which one to install, instead of a bare ModuleNotFoundError."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.config_support import config
from xero_panel.backends import make_backends
from xero_panel.config import read_settings
from xero_panel.extras import MissingExtra, create_engine, require


def test_redis_url_without_the_redis_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # as if not installed
    settings = read_settings(config(XERO_PANEL_REDIS_URL="redis://127.0.0.1:6379/0"))
    with pytest.raises(MissingExtra) as error:
        make_backends(settings)
    assert str(error.value) == (
        "XERO_PANEL_REDIS_URL needs the Python package 'redis', which is not installed:"
        ' pip install "xero-panel[redis]"'
    )
    assert isinstance(error.value, RuntimeError)
    assert isinstance(error.value.__cause__, ModuleNotFoundError)


def test_redis_url_without_rq_names_the_redis_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rq", None)
    settings = read_settings(config(XERO_PANEL_REDIS_URL="redis://127.0.0.1:6379/0"))
    with pytest.raises(
        MissingExtra, match=r'\'rq\', which is not installed: pip install "xero-panel\[redis\]"'
    ):
        make_backends(settings)


def test_no_redis_url_needs_no_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "rq", None)
    assert make_backends(read_settings(config())).redis is None


def test_a_dependency_missing_inside_an_installed_extra_is_not_blamed_on_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Only the extra's own module missing means the extra is missing; a module it
    imports missing is a broken install, shown as it is."""
    (tmp_path / "xp_installed.py").write_text("import xp_not_installed_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="xp_not_installed_anywhere"):
        require("xp_installed", "test")
    assert require("json", "test").__name__ == "json"


def test_postgres_url_without_psycopg_names_the_postgres_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingExtra) as error:
        create_engine("postgresql+psycopg://user:secret@db.example/crm")
    assert str(error.value) == (
        "the database URL postgresql+psycopg://... needs the Python package 'psycopg',"
        ' which is not installed: pip install "xero-panel[postgres]"'
    )
    assert "secret" not in str(error.value)


def test_schema_command_without_psycopg_says_the_extra_and_exits_1() -> None:
    """Was a traceback ending in ``ModuleNotFoundError: No module named 'psycopg'``."""
    hide_psycopg = (
        "import sys, runpy; sys.modules['psycopg'] = None; sys.argv = ['x', '--database-url',"
        " 'postgresql+psycopg://u@127.0.0.1/db', 'current'];"
        " runpy.run_module('xero_panel.schema', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", hide_psycopg], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "the database URL postgresql+psycopg://... needs the Python package 'psycopg',"
        ' which is not installed: pip install "xero-panel[postgres]"'
    )

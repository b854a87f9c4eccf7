"""The demo's configuration and its command line (``python demo_app.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import requests

from tests.demo.conftest import (
    CSRF_RE,
    ROOT,
    SEED_FILE,
    USERS,
    demo_app,
    free_port,
)

# -- configuration ---------------------------------------------------------------------------


def test_create_app_copies_xero_panel_env_vars_as_strings(tmp_path, seed, monkeypatch):
    monkeypatch.setenv("XERO_PANEL_CACHE_TTL", "2")
    app = demo_app.create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.db"}, seed=seed)
    assert app.config["XERO_PANEL_CACHE_TTL"] == "2"


def test_create_app_config_wins_over_env(tmp_path, seed, monkeypatch):
    monkeypatch.setenv("XERO_PANEL_CACHE_TTL", "2")
    app = demo_app.create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.db", "XERO_PANEL_CACHE_TTL": 5},
        seed=seed,
    )
    assert app.config["XERO_PANEL_CACHE_TTL"] == 5


def test_create_app_emulator_url_points_plugin_at_emulator(tmp_path, seed):
    app = demo_app.create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.db"},
        seed=seed,
        emulator_url="http://127.0.0.1:5999/",
    )
    for key in ("XERO_PANEL_LOGIN_URL", "XERO_PANEL_IDENTITY_URL", "XERO_PANEL_API_URL"):
        assert app.config[key] == "http://127.0.0.1:5999"


def test_create_app_webhook_route_not_csrf_protected(app):
    prefix = app.config["XERO_PANEL_URL_PREFIX"]
    response = app.test_client().post(f"{prefix}/webhooks", data=b"{}")
    assert "CSRF" not in response.get_data(as_text=True)


# -- the command line ------------------------------------------------------------------------


def test_arg_parser_accepts_contract_flags():
    args = demo_app.build_arg_parser().parse_args(
        [
            "--host",
            "localhost",
            "--port",
            "5001",
            "--xero-seed",
            "seed.json",
            "--emulator-port",
            "5056",
            "--database-url",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        ]
    )
    assert (args.host, args.port, args.xero_seed, args.emulator_port, args.database_url) == (
        "localhost",
        5001,
        "seed.json",
        5056,
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )


def test_arg_parser_defaults():
    args = demo_app.build_arg_parser().parse_args([])
    assert (args.host, args.port, args.xero_seed, args.emulator_port, args.database_url) == (
        "127.0.0.1",
        5000,
        None,
        5055,
        None,
    )


def test_import_has_no_side_effects(tmp_path):
    code = "import demo_app, os; print(sorted(os.listdir('.')))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def wait_until_up(url, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            requests.get(url, timeout=2).close()
            return True
        except requests.ConnectionError:
            time.sleep(0.2)
    return False


def test_cli_serves_crm_and_emulator(tmp_path):
    port, emulator_port = free_port(), free_port()
    out = (tmp_path / "demo.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "demo_app.py"),
            "--port",
            str(port),
            "--emulator-port",
            str(emulator_port),
            "--xero-seed",
            str(SEED_FILE),
            "--database-url",
            f"sqlite:///{tmp_path}/cli.db",
        ],
        cwd=tmp_path,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    crm = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        up = wait_until_up(f"{crm}/login", proc, deadline) and wait_until_up(
            f"http://127.0.0.1:{emulator_port}/", proc, deadline
        )
        assert up, (tmp_path / "demo.log").read_text()
        with requests.Session() as session:
            page = session.get(f"{crm}/login", timeout=10).text
            token = CSRF_RE.search(page).group(1)
            session.post(
                f"{crm}/login",
                data={"email": "admin@acme.test", "password": "demo", "csrf_token": token},
                timeout=10,
            )
            response = session.get(f"{crm}/contacts/1", timeout=10)
        assert response.status_code == 200
        assert "data-xero-panel" in response.text
        log = (tmp_path / "demo.log").read_text()
        assert crm in log and f"127.0.0.1:{emulator_port}" in log
        # the emulator's control API takes the token the demo printed, and nothing else
        token = os.environ["XERO_EMULATOR_CONTROL_TOKEN"]
        assert f"Emulator control token (header X-Emulator-Token): {token}" in log
        stats = f"http://127.0.0.1:{emulator_port}/_emulator/stats"
        assert requests.get(stats, headers={"X-Emulator-Token": token}, timeout=10).ok
        assert requests.get(stats, timeout=10).status_code == 401
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        out.close()


def test_banner_prints_both_urls_the_users_and_the_xero_logins(seed):
    from demo.cli import banner

    text = banner("http://127.0.0.1:5000", "http://127.0.0.1:5055", seed, "tok-123")
    assert "  Demo CRM:       http://127.0.0.1:5000\n" in text
    assert "  Emulator control token (header X-Emulator-Token): tok-123\n" in text
    assert "  Xero emulator:  http://127.0.0.1:5055\n" in text
    for email in USERS:
        assert f"    {email}" in text
    assert (
        f"Acme is connected to the Xero organisation {seed['tenants'][0]['tenantName']!r}" in text
    )
    for xero_user in seed["users"]:
        assert f"{xero_user['email']}  password {xero_user['password']!r}" in text


# -- the package's layout --------------------------------------------------------------------

#: demo/'s modules, each importing only those before it (as demo/__init__.py says).
DEMO_LAYERS = ["models", "sessions", "hooks", "seeding", "errors", "routes", "app", "cli", "live"]


def test_demo_modules_import_only_modules_above_them():
    import ast

    package = ROOT / "demo"
    assert sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__") == sorted(
        DEMO_LAYERS
    )
    for position, name in enumerate(DEMO_LAYERS):
        tree = ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1
        }
        assert imported <= set(DEMO_LAYERS[:position]), (name, imported)


def test_demo_modules_stay_small():
    for path in [ROOT / "demo_app.py", *(ROOT / "demo").glob("*.py")]:
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines <= 400, f"{path.name} has {lines} lines"

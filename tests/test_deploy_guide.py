"""docs/deploy.md, run as written: the commands of deploy/Procfile (release, web, worker) serve
the README's app.py with gunicorn (2 workers) on PostgreSQL and Redis, an RQ worker syncs, and
the Xero emulator runs as its own process (``python -m xero_emulator``) sending webhooks.

One test walks the guide: connect Xero through the OAuth pages, ``kill -9`` the RQ worker in
the middle of the first sync and see a new worker resume it, see a webhook reach the cache,
then reload gunicorn (``HUP``, the guide's rolling restart) under a request loop with no
failed request. The systemd units must run the Procfile's commands."""

from __future__ import annotations

import configparser
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet
from werkzeug.security import generate_password_hash
from xero_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, sample_seed
from xero_emulator.testing import consent

from tests.conftest import REDIS_URL
from tests.readme_support import write_readme_app

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
KIWI_NZ = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7a9c0d11"  # the sample seed's first organisation
BIN = Path(sys.executable).parent  # the virtualenv's flask and gunicorn
#: Generous bounds on waits for work that takes a second or two (the machine may be busy).
#: The resume waits for the killed worker's lock to expire: 30 s, the production value.
WAIT = 60.0


def procfile() -> dict[str, str]:
    lines = (DEPLOY / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / name)
    return parser


def test_the_systemd_units_run_the_procfiles_commands() -> None:
    venv = "/srv/crm/venv/bin/"
    web, worker = unit("crm-web.service"), unit("crm-xero-worker@.service")
    assert web["Service"]["ExecStart"] == venv + procfile()["web"]
    assert web["Service"]["ExecStartPre"] == venv + procfile()["release"]
    assert web["Service"]["ExecReload"] == "/bin/kill -HUP $MAINPID"  # the rolling restart
    assert worker["Service"]["ExecStart"] == venv + procfile()["worker"]
    for parsed in (web, worker):
        assert parsed["Service"]["EnvironmentFile"] == "/etc/crm/environment"


def test_the_guide_shows_the_procfiles_commands() -> None:
    guide = (ROOT / "docs/deploy.md").read_text()
    for command in procfile().values():
        assert f"`{command}`" in guide, command
    example = (DEPLOY / "environment.example").read_text()
    for variable in sorted(set(re.findall(r"\$\{(\w+)\}", " ".join(procfile().values())))):
        assert f"\n{variable}=" in example, variable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(
    check: Callable[[], Any], what: str, timeout: float = WAIT, *, logs: Callable[[], str] = str
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}\n{logs()}")
        time.sleep(0.1)


class Deployment:
    """The processes of the guide, each started from the Procfile's command in ``sh``."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, command: str | None = None) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("ab") as log:  # the child keeps its copy
            process = subprocess.Popen(
                ["sh", "-c", f"exec {command or procfile()[name]}"],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def run(self, name: str) -> None:
        process = self.start(name)
        assert process.wait(timeout=WAIT) == 0, self.logs()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.folder.glob("*.log")
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def children(pid: int) -> set[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return {int(p) for p in out.stdout.split()}


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=10).status_code < 500
    except requests.RequestException:  # not listening yet, or still booting its workers
        return False


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def start_emulator(d: Deployment, webhook_url: str, webhook_key: str) -> str:
    """Start the emulator and wait until it answers; its URL. If it exits instead, the test
    fails at once with its log."""
    port = free_port()
    command = [sys.executable, "-m", "xero_emulator", "--port", str(port), "--enable-control"]
    # "--webhook-key=...": a random key may start with "-", which argparse takes for an option.
    command += ["--webhook-url", webhook_url, f"--webhook-key={webhook_key}"]
    emulator, url = d.start("emulator", shlex.join(command)), f"http://127.0.0.1:{port}"
    wait_for(lambda: emulator.poll() is not None or answers(f"{url}/"), "the emulator", logs=d.logs)
    if emulator.poll() is not None:
        pytest.fail(f"the emulator exited\n{d.logs()}")
    return url


@pytest.fixture
def deployment(
    tmp_path: Path, own_postgres_url: str, redis_client: Any, redis_prefix: str
) -> Iterator[tuple[Deployment, str, str, sa.Engine]]:
    """The README's app.py in a folder, the emulator running, the environment of the guide;
    yields the deployment, the web URL, the emulator's URL and an engine on the database.
    The database is a PostgreSQL schema of this test's own: the app's host tables (``user``,
    ``contact``) would otherwise stay behind for the tests that compare every table."""
    write_readme_app(tmp_path)
    web_port = free_port()
    web = f"http://127.0.0.1:{web_port}"
    webhook_key, control_token = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("XERO_PANEL_", "FLASK_"))},
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "XERO_EMULATOR_CONTROL_TOKEN": control_token,
        # deploy/environment.example's settings, for this machine:
        "BIND": f"127.0.0.1:{web_port}",
        "WEB_CONCURRENCY": "2",
        "FLASK_SECRET_KEY": secrets.token_hex(32),
        "FLASK_SQLALCHEMY_DATABASE_URI": own_postgres_url,
        "FLASK_SQLALCHEMY_ENGINE_OPTIONS": json.dumps(
            {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 5, "pool_recycle": 1800}
        ),
        "XERO_PANEL_CLIENT_ID": DEMO_CLIENT_ID,
        "XERO_PANEL_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "XERO_PANEL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "XERO_PANEL_REDIS_URL": REDIS_URL,
        "XERO_PANEL_WEBHOOK_KEY": webhook_key,
        # The emulator stands in for Xero; its own prefix and queue keep parallel runs apart.
        "XERO_PANEL_REDIS_PREFIX": f"{redis_prefix}:",
        "XERO_PANEL_RQ_QUEUE": redis_prefix,
        # Pages of 50: a first sync of several pages, to kill the worker in the middle.
        "XERO_PANEL_SYNC_PAGE_SIZE": "50",
    }
    d = Deployment(tmp_path, env)
    emulator_url = start_emulator(d, f"{web}/integrations/xero/webhooks", webhook_key)
    for name in ("LOGIN", "IDENTITY", "API"):
        env[f"XERO_PANEL_{name}_URL"] = emulator_url
    engine = sa.create_engine(own_postgres_url)
    try:
        yield d, web, emulator_url, engine
    finally:
        d.stop()
        engine.dispose()
        keys = list(redis_client.scan_iter(match=f"rq:*{redis_prefix}*", count=500))
        if keys:
            redis_client.delete(*keys)


def sync_state(engine: sa.Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT s.status, s.resume_phase, s.resume_page, s.full_sync_completed_at"
                " FROM xero_panel_sync_state s JOIN xero_panel_organisation o"
                " ON o.id = s.organisation_id WHERE o.tenant_id = :t"
            ),
            {"t": KIWI_NZ},
        ).first()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(240)
def test_the_deploy_guide_runs_as_written(
    deployment: tuple[Deployment, str, str, sa.Engine],
) -> None:
    d, web, emulator_url, engine = deployment
    control = {"X-Emulator-Token": d.env["XERO_EMULATOR_CONTROL_TOKEN"]}

    def emulator_control(method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(
            method,
            f"{emulator_url}/_emulator/{path}",
            json=body if body is not None else {},
            headers=control,
            timeout=10,
        )
        assert answer.ok, answer.text
        return answer

    # Release, then the web and worker processes, as the Procfile says.
    d.run("release")
    with engine.begin() as conn:  # the host's own users and contacts (README's models)
        conn.execute(
            sa.text(
                'INSERT INTO "user" (id, email, password_hash, tenant_id, is_manager)'
                " VALUES (1, 'boss@crm.test', :pw, 1, true)"
            ),
            {"pw": generate_password_hash("pw", method="pbkdf2:sha256:1000")},
        )
        conn.execute(
            sa.text(
                "INSERT INTO contact (id, tenant_id, owner_id, name, email) VALUES"
                " (1, 1, 1, 'Totara Events Group', 'accounts@totaraeventsgroup.test')"
            )
        )
    gunicorn = d.start("web")
    worker = d.start("worker")
    wait_for(lambda: answers(f"{web}/login"), "gunicorn", logs=d.logs)
    assert len(children(gunicorn.pid)) == 2, d.logs()  # WEB_CONCURRENCY workers

    # Sign in, and connect Xero through the OAuth pages. Each request may reach either
    # worker: the shared FLASK_SECRET_KEY keeps the session and the OAuth state valid.
    browser = requests.Session()
    token = csrf_of(browser.get(f"{web}/login", timeout=10).text)
    form = {"email": "boss@crm.test", "password": "pw", "csrf_token": token}
    assert browser.post(f"{web}/login", data=form, timeout=10).ok
    to_xero = browser.post(
        f"{web}/integrations/xero/connect",
        data={"csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert to_xero.status_code == 302, to_xero.text[:500]
    back = urlsplit(consent(to_xero.headers["Location"], "owner@kiwi-garden.test", "kiwi-demo"))
    assert browser.get(f"{web}{back.path}?{back.query}", timeout=10).ok
    # Xero answers slowly, so the first sync is still reading invoices when its worker dies.
    emulator_control("POST", "faults", {"endpoint": "Invoices", "delay_ms": 300})
    saved = browser.post(
        f"{web}/integrations/xero/save",
        data={"csrf_token": token, "tenant": [KIWI_NZ]},
        timeout=10,
    )
    assert saved.ok, saved.text[:500]

    def mid_invoices() -> bool:
        state = sync_state(engine)
        return bool(state and state.resume_phase == "invoices" and state.resume_page >= 2)

    wait_for(mid_invoices, "the first sync to store two pages of invoices")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = sync_state(engine)
    assert killed_at.status == "running" and killed_at.full_sync_completed_at is None
    emulator_control("DELETE", "faults")

    # A new worker; the next panel views notice the dead sync once its lock has expired and
    # queue it again, and the new worker resumes it.
    d.start("worker")
    panel = f"{web}/integrations/xero/panel/contact/1"

    def finished() -> bool:
        assert browser.get(panel, timeout=10).status_code == 200
        state = sync_state(engine)
        return bool(state.status == "idle" and state.full_sync_completed_at is not None)

    wait_for(finished, "a new worker to finish the killed sync", timeout=WAIT + 30)
    assert b'data-testid="invoice-row"' in browser.get(panel, timeout=10).content
    with engine.connect() as conn:
        cached = conn.execute(
            sa.text("SELECT count(*), count(DISTINCT xero_id) FROM xero_panel_invoice")
        ).one()
    (seeded,) = [t for t in sample_seed()["tenants"] if t["tenantId"] == KIWI_NZ]
    sales = [i for i in seeded["Invoices"] if i["Type"] == "ACCREC"]
    sales += [c for c in seeded["CreditNotes"] if c["Type"] == "ACCRECCREDIT"]
    assert tuple(cached) == (len(sales), len(sales))  # every sales document, once

    # A change in Xero reaches the cache through the webhook, the queue and the worker.
    with engine.connect() as conn:
        invoice_id = conn.scalar(sa.text("SELECT xero_id FROM xero_panel_invoice LIMIT 1"))
    emulator_control(
        "POST",
        f"tenants/{KIWI_NZ}/invoices",
        {"InvoiceID": invoice_id, "Reference": "deploy-guide-webhook"},
    )

    def reference() -> str | None:
        with engine.connect() as conn:
            return conn.scalar(
                sa.text("SELECT reference FROM xero_panel_invoice WHERE xero_id = :i"),
                {"i": invoice_id},
            )

    wait_for(lambda: reference() == "deploy-guide-webhook", "the webhook's change in the cache")

    # The monitor's check: every organisation ok, exit 0.
    status = subprocess.run(
        ["sh", "-c", "flask --app app xero-panel status --json"],
        cwd=d.folder,
        env=d.env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout.strip().splitlines()[-1])
    assert [(o["tenant_id"], o["state"]) for o in report["organisations"]] == [(KIWI_NZ, "ok")]

    # The rolling restart: HUP under a request loop, until every old worker is replaced.
    old = children(gunicorn.pid)
    failures: list[str] = []
    count = 0
    deadline = time.monotonic() + WAIT
    replaced = False
    while count < 60 or not replaced:
        assert time.monotonic() < deadline, "gunicorn's workers were not replaced"
        url = panel if count % 2 else f"{web}/"
        try:
            answer = browser.get(url, timeout=10)
            if answer.status_code != 200:
                failures.append(f"{url}: {answer.status_code}")
        except requests.RequestException as exc:
            failures.append(f"{url}: {exc}")
        count += 1
        if count == 20:
            gunicorn.send_signal(signal.SIGHUP)
        if count > 20:
            now = children(gunicorn.pid)
            replaced = len(now) == 2 and not now & old
    assert replaced, f"old workers {old}, now {children(gunicorn.pid)}"
    for _ in range(20):  # and the new workers serve too
        answer = browser.get(panel, timeout=10)
        if answer.status_code != 200:
            failures.append(f"{panel}: {answer.status_code}")
    assert failures == [], d.logs()


def test_the_guides_db_command_leaves_the_demos_database_alone(tmp_path: Path) -> None:
    """docs/deploy.md's `flask xero-panel db` against the demo, as written: the demo's
    database keeps its data (python demo_app.py would rebuild it)."""
    import demo_app

    guide = (ROOT / "docs/deploy.md").read_text()
    (command,) = re.findall(
        r"^flask --app \"demo_app:create_app\(.*\" xero-panel db current", guide, re.M
    )
    url = f"sqlite:///{tmp_path}/demo.sqlite3"
    app = demo_app.create_app({"SQLALCHEMY_DATABASE_URI": url})
    demo_app.rebuild_database(app)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        users = conn.scalar(sa.text("SELECT count(*) FROM demo_user"))
        conn.execute(sa.text("UPDATE demo_user SET name = 'kept' WHERE id = 1"))
        conn.commit()
    command = re.sub(r"'postgresql\+psycopg://[^']*'", repr(url), command)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XERO_PANEL_", "FLASK_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(
        ["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=WAIT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "none\n"  # tables made by create_all(): no revision recorded
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM demo_user")) == users > 0
        assert conn.scalar(sa.text("SELECT name FROM demo_user WHERE id = 1")) == "kept"
    engine.dispose()

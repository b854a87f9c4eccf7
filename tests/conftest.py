"""Shared fixtures: a small host app, databases (SQLite always, PostgreSQL when reachable).

``XP_TEST_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns a missing PostgreSQL or Redis
into a failure instead of a skip. ``XP_TEST_POSTGRES_URL`` and ``XP_TEST_REDIS_URL``
point the tests at other servers.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask_login import FlaskLoginClient, LoginManager, UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from tests.clock import RUN_START, Clock
from tests.clock_shift import xp_clock_shift
from tests.panel_app import Seeded
from xero_panel import CRMRecord, XeroPanel
from xero_panel.models import Base
from xero_panel.sync.runners import ThreadRunner

REQUIRE_SERVICES = os.environ.get("XP_TEST_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "XP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("XP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_KEY = Fernet.generate_key().decode()
# The Xero emulator's control token for this run: every Emulator the tests (and the
# processes they start) make takes it from here, and tests/emulator/helpers.py sends it.
os.environ.setdefault("XERO_EMULATOR_CONTROL_TOKEN", secrets.token_urlsafe(24))


def pytest_configure(config: pytest.Config) -> None:
    """Refuse a run whose clock shift was asked for but is not in force (the virtualenv
    lacks xp_clock_shift.pth: run scripts/bootstrap.sh)."""
    days = xp_clock_shift.shift_days()
    if not days:
        return
    import time_machine

    if not time_machine.escape_hatch.is_travelling():
        raise pytest.UsageError(
            f"{xp_clock_shift.VARIABLE}={days} is set, but this Python's clock is not moved:"
            " run scripts/bootstrap.sh (it writes xp_clock_shift.pth into the virtualenv)"
        )


def pytest_report_header(config: pytest.Config) -> str:
    days = xp_clock_shift.shift_days()
    shift = f"moved {days} days ahead" if days else "not moved"
    return f"wall clock: {shift}, today is {dt.datetime.now(dt.UTC).date().isoformat()} (UTC)"


@pytest.fixture
def clock(time_machine: Any) -> Clock:
    """The wall clock stopped at 10:00 UTC of the day the run started (a later day under
    XP_CLOCK_SHIFT_DAYS), for every thread of this process; ``clock.advance`` moves it."""
    return Clock(time_machine, RUN_START)


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> None:
    """Skip (or, under CI, fail) when a service the test needs is not reachable."""
    if _reachable(url, default_port):
        return
    message = f"{name} is not reachable at {url}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}, and XP_TEST_REQUIRE_SERVICES=1 makes that a failure")
    pytest.skip(message)


def _postgres_schema(prefix: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new schema, dropped (with what is in it) at
    the end."""
    require_service("PostgreSQL", POSTGRES_URL, 5432)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema of its own for this test run,
    so parallel runs on one server never see each other's tables."""
    yield from _postgres_schema("xp_test")


@pytest.fixture(autouse=True)
def shared_schema_left_empty(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test on the run's shared PostgreSQL schema leaves no table in it: a table left
    behind would be counted by the tests that compare every table. Autouse fixtures are
    set up first and so torn down last, after the test's own fixtures dropped theirs."""
    yield
    if "postgres_url" not in request.fixturenames:
        return
    engine = sa.create_engine(request.getfixturevalue("postgres_url"), poolclass=NullPool)
    try:
        left = sorted(sa.inspect(engine).get_table_names())
        with engine.begin() as conn:  # only the test that left them fails, not the ones after
            for table in left:
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    finally:
        engine.dispose()
    assert not left, (
        f"{request.node.nodeid} left {left} in the run's shared PostgreSQL schema: drop "
        "them at teardown, or use own_postgres_url for a schema of the test's own"
    )


@pytest.fixture
def own_postgres_url() -> Iterator[str]:
    """Like ``postgres_url`` but a schema of this test's own, dropped after it: for a test
    that compares every table there is (whatever another test left in the run's schema)."""
    yield from _postgres_schema("xp_own")


def _database_url(request: pytest.FixtureRequest, tmp_path: Any, postgres_fixture: str) -> str:
    """A SQLite file, or the URL of ``postgres_fixture``, by the test's parameter."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/test.db"
    url = request.getfixturevalue(postgres_fixture)
    assert isinstance(url, str)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """``database_url`` with :func:`own_postgres_url` for PostgreSQL."""
    return _database_url(request, tmp_path, "own_postgres_url")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Each test that uses it runs on SQLite and on PostgreSQL."""
    return _database_url(request, tmp_path, "postgres_url")


@dataclass
class HostUser(UserMixin):
    """A user of the little host CRM the plugin tests run in."""

    id: str
    email: str
    crm_account: str
    is_admin: bool = False


USERS = {
    "admin-acme": HostUser("admin-acme", "admin@acme.test", "acme", is_admin=True),
    "rep-acme": HostUser("rep-acme", "rep@acme.test", "acme"),
    "admin-globex": HostUser("admin-globex", "admin@globex.test", "globex", is_admin=True),
}

#: The host's records: (crm_account, record_type, record_id) -> CRMRecord
RECORDS: dict[tuple[str, str, str], CRMRecord] = {
    ("acme", "contact", "1"): CRMRecord("Kat Warren", emails=["kat.warren@clampett.com"]),
    ("acme", "account", "1"): CRMRecord("Barney Rubble-83203"),
    ("acme", "deal", "1"): CRMRecord(
        "Fish deal",
        account=CRMRecord("Barney Rubble-83203"),
        contacts=[CRMRecord("Kat Warren", emails=["kat.warren@clampett.com"])],
    ),
    ("globex", "contact", "2"): CRMRecord("Lisa Parker", emails=["lparker@parkerandco.com"]),
}


def base_config(database_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "XERO_PANEL_CLIENT_ID": "test-client",
        "XERO_PANEL_CLIENT_SECRET": "test-secret",
        "XERO_PANEL_ENCRYPTION_KEYS": TEST_KEY,
    }


@dataclass
class HostApp:
    app: Flask
    db: SQLAlchemy
    panel: XeroPanel
    loader_calls: list[tuple[str, str]]

    def client(self, user: str | None = None) -> Any:
        return self.app.test_client(user=USERS[user]) if user else self.app.test_client()


def build_host_app(database_url: str, *, sync: bool = True, **config: Any) -> HostApp:
    """A minimal host CRM: Flask-Login users, three records, the plugin with its hooks.

    With ``sync=False`` the plugin only reads its cache (no background sync), for tests of
    tokens and storage that must see no Xero calls but their own.
    """
    # Its own root path, so the demo's templates/ (which overrides ours) is not found.
    app = Flask("hostapp", root_path=str(Path(__file__).parent))
    app.config.update(base_config(database_url))
    app.config.update(config)
    app.test_client_class = FlaskLoginClient
    db = SQLAlchemy()
    db.init_app(app)
    login = LoginManager(app)
    login.login_view = "login"
    login.user_loader(USERS.get)

    @app.get("/login")
    def login() -> str:
        return "login page"

    panel = XeroPanel(db=db)
    calls: list[tuple[str, str]] = []

    @panel.record_loader
    def load(record_type: str, record_id: str) -> CRMRecord | None:
        from flask_login import current_user

        calls.append((record_type, record_id))
        return RECORDS.get((current_user.crm_account, record_type, record_id))

    @panel.account_resolver
    def account() -> str | None:
        from flask_login import current_user

        return current_user.crm_account if current_user.is_authenticated else None

    @panel.admin_check
    def admin() -> bool:
        from flask_login import current_user

        return bool(current_user.is_authenticated and current_user.is_admin)

    panel.init_app(app)
    if not sync:
        from xero_panel.sync.scheduling import CacheOnlyScheduler

        app.extensions["xero_panel"].scheduler = CacheOnlyScheduler()
    with app.app_context():
        db.create_all()
    return HostApp(app=app, db=db, panel=panel, loader_calls=calls)


def build_host_from_env(prefix: str, **config: Any) -> HostApp:
    """The host app as a worker process of a multi-process run builds it, from the
    environment its parent set: ``{prefix}_DB``, ``_KEY`` (the encryption keys),
    ``_EMULATOR`` (Xero's API, identity and login URLs), ``_REDIS`` and ``_PREFIX``."""
    env = os.environ
    emulator = env[f"{prefix}_EMULATOR"]
    return build_host_app(
        env[f"{prefix}_DB"],
        XERO_PANEL_ENCRYPTION_KEYS=env[f"{prefix}_KEY"],
        XERO_PANEL_API_URL=emulator,
        XERO_PANEL_IDENTITY_URL=emulator,
        XERO_PANEL_LOGIN_URL=emulator,
        XERO_PANEL_REDIS_URL=env[f"{prefix}_REDIS"],
        XERO_PANEL_REDIS_PREFIX=env[f"{prefix}_PREFIX"],
        **config,
    )


@pytest.fixture
def make_host() -> Iterator[Callable[..., HostApp]]:
    built: list[HostApp] = []

    def make(database_url: str, *, sync: bool = True, **config: Any) -> HostApp:
        host = build_host_app(database_url, sync=sync, **config)
        built.append(host)
        return host

    yield make
    for host in built:
        state = host.app.extensions.get("xero_panel")
        runner = getattr(getattr(state, "scheduler", None), "runner", None)
        if isinstance(runner, ThreadRunner):  # no retry fires into the next test
            runner.cancel_later()
        with host.app.app_context():
            host.db.session.remove()
            host.db.drop_all()
            host.db.engine.dispose()


@pytest.fixture
def host(make_host: Callable[..., HostApp], tmp_path: Any) -> HostApp:
    """The host app on SQLite (most view tests need no second database)."""
    return make_host(f"sqlite:///{tmp_path}/host.db")


#: ``XP_LOAD=1`` adds the bounded load run (tests marked ``load``) to the run; without it
#: they are deselected, not skipped.
RUN_LOAD = os.environ.get("XP_LOAD") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if RUN_LOAD:
        return
    load = [item for item in items if item.get_closest_marker("load") is not None]
    if load:
        config.hook.pytest_deselected(items=load)
        items[:] = [item for item in items if item.get_closest_marker("load") is None]


@pytest.fixture
def seeded(host: HostApp, clock: Clock) -> Seeded:
    """The host app with Acme's cache seeded (tests/panel_app.py), the clock stopped on the
    day its rows were built for."""
    return Seeded(host)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A plain SQLAlchemy session on SQLite and PostgreSQL, tables created (no Flask)."""
    engine = sa.create_engine(database_url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def redis_client() -> Iterator[Any]:
    """A Redis client on ``XP_TEST_REDIS_URL`` (skipped, or failed under CI, when Redis is
    unreachable)."""
    require_service("Redis", REDIS_URL, 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        client.close()
        client.connection_pool.disconnect()


@pytest.fixture
def redis_prefix(redis_client: Any) -> Iterator[str]:
    """A random key prefix; every key under it is deleted after the test."""
    prefix = f"xp_test_{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            redis_client.delete(*keys)

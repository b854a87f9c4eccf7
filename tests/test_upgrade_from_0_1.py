"""A 0.1 database, as 0.1 itself made and filled it, upgraded the way the README and the
CHANGELOG tell a 0.1 host to: the host's ``create_app()`` calls ``db.create_all()`` (which,
with this release installed, adds the tables 0.1 did not have beside 0.1's), then
``flask xero-panel db upgrade``. Every row, pin, link and token is kept.

The dumps under tests/fixtures/ were written by scripts/dump_0_1_database.py, which runs
0.1's own code (commit 6e4e8ca) to create and fill the tables.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import HostApp
from tests.test_migrations import (
    assert_rows_kept,
    differences,
    enforce_sqlite_foreign_keys,
    snapshot,
)
from tests.test_readme_embedding import blocks as readme_blocks
from xero_panel import models as m
from xero_panel import schema
from xero_panel.crypto import TokenCipher

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def load_dump_script() -> ModuleType:
    path = ROOT / "scripts" / "dump_0_1_database.py"
    spec = importlib.util.spec_from_file_location("dump_0_1_database", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DUMP = load_dump_script()


def load_0_1(url: str) -> None:
    """Run the dump of 0.1's database for this kind of database."""
    engine = sa.create_engine(url)
    kind = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
    sql = (FIXTURES / f"xero_panel_0_1.{kind}.sql").read_text()
    raw = engine.raw_connection()
    try:
        if kind == "sqlite":
            raw.driver_connection.executescript(sql)  # type: ignore[union-attr]
        else:
            with raw.cursor() as cursor:
                cursor.execute(sql)
            raw.commit()
    finally:
        raw.close()
        engine.dispose()


@pytest.fixture
def database_url(own_database_url: str) -> str:
    """A database of this test's own: adoption compares every table there is."""
    return own_database_url


@pytest.fixture
def database_0_1(database_url: str) -> Iterator[str]:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        there = set(sa.inspect(connection).get_table_names())
    load_0_1(database_url)
    yield database_url
    with engine.begin() as connection:
        m.Base.metadata.drop_all(connection)
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {schema.VERSION_TABLE}"))
        # The host's own tables (the README's app makes "user"): PostgreSQL's schema is
        # the whole session's, and other tests compare every table in it.
        cascade = " CASCADE" if connection.dialect.name == "postgresql" else ""
        for table in set(sa.inspect(connection).get_table_names()) - there:
            connection.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"{cascade}'))
    engine.dispose()


def rows_of(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = sa.create_engine(url)
    try:
        return snapshot(engine)
    finally:
        engine.dispose()


def test_the_dumps_are_revision_0001_and_hold_a_row_in_every_0_1_table(
    database_0_1: str,
) -> None:
    """Revision 0001 is "the schema of 0.1": adoption finds exactly it in 0.1's own tables."""
    rows = rows_of(database_0_1)
    assert all(rows.values()), [table for table, found in rows.items() if not found]
    engine = sa.create_engine(database_0_1)
    assert schema.adopt(engine) == "0001"
    engine.dispose()


def test_a_0_1_host_upgrades_as_the_readme_says_keeping_every_row_pin_link_and_token(
    database_0_1: str, make_host: Callable[..., HostApp]
) -> None:
    before = rows_of(database_0_1)

    # create_app() of the README's host: db.create_all() runs before any command.
    host = make_host(database_0_1, sync=False, XERO_PANEL_ENCRYPTION_KEYS=DUMP.FIXTURE_KEY)
    runner = host.app.test_cli_runner()
    upgraded = runner.invoke(args=["xero-panel", "db", "upgrade"])

    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.output.splitlines() == [
        "adopted the tables db.create_all() made, at revision 0001",
        f"xero-panel tables: 0001 -> {schema.head()}",
    ]
    assert runner.invoke(args=["xero-panel", "db", "check"]).exit_code == 0
    assert_rows_kept(before, rows_of(database_0_1))
    with host.app.app_context():
        assert differences(host.db.engine) == []
        session = host.db.session
        acme = session.scalars(sa.select(m.Connection).filter_by(crm_account="acme")).one()
        token = TokenCipher([DUMP.FIXTURE_KEY]).decrypt(acme.token_ciphertext or "")
        assert token["refresh_token"] == "fixture-refresh-0.1"
        assert acme.activated_at == dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
        pins = session.execute(sa.select(m.Pin.record_type, m.Pin.xero_invoice_id)).all()
        assert sorted(pins) == [("account", "invoice-1"), ("contact", "invoice-2")]
        links = session.execute(sa.select(m.RecordLink.record_id, m.RecordLink.contact_id)).all()
        assert links == [("7", "contact-bo")]
        paid = session.scalars(sa.select(m.Invoice).filter_by(number="INV-0002")).one()
        assert (paid.total, paid.balance) == (Decimal("2300.50"), Decimal("1300.25"))
        assert sorted(p.amount for p in paid.payments) == [Decimal("500.00"), Decimal("500.25")]


def test_the_readmes_own_app_upgrades_a_0_1_database_with_the_readmes_command(
    database_0_1: str, tmp_path: Path
) -> None:
    """What a 0.1 host following only the README does: its ``app.py`` (the Embedding
    section's, whose ``create_app()`` calls ``db.create_all()``), the settings in the
    environment, and ``flask --app app xero-panel db upgrade`` in a shell."""
    before = rows_of(database_0_1)
    (tmp_path / "app.py").write_text("\n".join(readme_blocks("python")))
    env = {
        **os.environ,
        "FLASK_SECRET_KEY": "readme",
        "FLASK_SQLALCHEMY_DATABASE_URI": database_0_1,
        "XERO_PANEL_CLIENT_ID": "client",
        "XERO_PANEL_CLIENT_SECRET": "secret",
        "XERO_PANEL_ENCRYPTION_KEYS": DUMP.FIXTURE_KEY,
    }

    def flask(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "xero-panel", "db", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    try:
        upgraded = flask("upgrade")
        assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
        assert upgraded.stdout.splitlines() == [
            "adopted the tables db.create_all() made, at revision 0001",
            f"xero-panel tables: 0001 -> {schema.head()}",
        ]
        assert flask("check").stdout.strip() == f"up to date at {schema.head()}"
        assert_rows_kept(before, rows_of(database_0_1))
        engine = sa.create_engine(database_0_1)
        try:
            with engine.connect() as connection:
                token = connection.scalar(
                    sa.select(m.Connection.token_ciphertext).filter_by(crm_account="acme")
                )
            assert differences(engine) == []
        finally:
            engine.dispose()
        assert TokenCipher([DUMP.FIXTURE_KEY]).decrypt(token)["access_token"] == (
            "fixture-access-0.1"
        )
    finally:
        engine = sa.create_engine(database_0_1)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS contact"))  # the README's model
        engine.dispose()


def test_a_0_1_database_on_sqlite_survives_a_failed_upgrade_and_the_retry(
    make_host: Callable[..., HostApp], tmp_path: Path
) -> None:
    """Inject a failure in the middle of revision 0002 (after it altered the first of its
    two tables): the database stays at 0001 as it was, and running the command again
    upgrades it. It used to keep 0002's first columns at revision 0001 and fail on every
    retry with "duplicate column name: last_error_at"."""
    url = f"sqlite:///{tmp_path}/crm.db"
    load_0_1(url)
    before = rows_of(url)
    host = make_host(url, sync=False, XERO_PANEL_ENCRYPTION_KEYS=DUMP.FIXTURE_KEY)
    runner = host.app.test_cli_runner()
    with host.app.app_context():
        engine = host.db.engine
    enforce_sqlite_foreign_keys(engine)

    def fail(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith("ALTER TABLE xero_panel_organisation"):
            raise RuntimeError("injected: the disk filled up")

    sa.event.listen(engine, "before_cursor_execute", fail)
    failed = runner.invoke(args=["xero-panel", "db", "upgrade"])
    sa.event.remove(engine, "before_cursor_execute", fail)

    assert failed.exit_code != 0
    assert "injected: the disk filled up" in str(failed.exception)
    assert schema.current(engine) == "0001"
    columns = {c["name"] for c in sa.inspect(engine).get_columns("xero_panel_connection")}
    assert "last_error_at" not in columns
    assert_rows_kept(before, rows_of(url))

    retried = runner.invoke(args=["xero-panel", "db", "upgrade"])

    assert retried.exit_code == 0, retried.output
    assert retried.output.strip() == f"xero-panel tables: 0001 -> {schema.head()}"
    assert_rows_kept(before, rows_of(url))
    assert differences(engine) == []

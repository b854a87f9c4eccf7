"""The plugin's own migrations: they build exactly the models' schema, keep every row from
any revision up to the newest, adopt tables that ``db.create_all()`` made, and stay out of
the host's own Alembic history.

The "rows kept" tests run for every revision in ``xero_panel/migrations/versions``, so a new
revision is covered the moment it is added: its database is filled with generated rows (a
value for every column, by type) and upgraded to the newest revision, and every row must
still be there with the same values in the columns that still exist.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.pool import StaticPool

from tests.conftest import TEST_KEY, HostApp
from xero_panel import models as m
from xero_panel import schema
from xero_panel.crypto import TokenCipher
from xero_panel.models import Base
from xero_panel.schema import migrate
from xero_panel.schema.adoption import fingerprint as fingerprint_of
from xero_panel.schema.adoption import fingerprint_at
from xero_panel.schema.base import context_options
from xero_panel.schema.commands import run_command

ROOT = Path(__file__).resolve().parent.parent
Rows = dict[str, list[dict[str, Any]]]


def enforce_sqlite_foreign_keys(engine: sa.Engine) -> None:
    """Make SQLite enforce foreign keys, as many hosts do (PostgreSQL always does)."""
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON"))


@pytest.fixture
def database_url(own_database_url: str) -> str:
    """A database of each test's own: these tests compare every table there is, so a table
    another test left in the run's shared schema must not count."""
    return own_database_url


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    """The database, with foreign keys enforced: a revision that copies a table on SQLite
    (batch mode) must not lose the rows that refer to it."""
    engine = sa.create_engine(database_url)
    enforce_sqlite_foreign_keys(engine)
    yield engine
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {schema.VERSION_TABLE}"))
    engine.dispose()


@pytest.fixture
def host(make_host: Callable[..., HostApp], database_url: str) -> Iterator[HostApp]:
    """The test host app; its tables come from ``db.create_all()``."""
    host = make_host(database_url, sync=False)
    yield host
    with host.app.app_context(), host.db.engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {schema.VERSION_TABLE}"))


def plugin_tables(engine: sa.Engine) -> set[str]:
    return {t for t in sa.inspect(engine).get_table_names() if schema.is_plugin_table(t)}


def differences(engine: sa.Engine) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=context_options())
        return list(compare_metadata(context, Base.metadata))


# -- generated rows: a value for every column of every plugin table, by type -----------------


def value_for(column: sa.Column[Any], n: int) -> Any:
    if column.foreign_keys or column.primary_key:
        return n  # row n refers to row n of its parent table
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return n % 2 == 0
    if isinstance(kind, sa.Integer):
        return 1000 * n + 7
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2026, 1, n, 12, 30, 15, tzinfo=dt.UTC)
    if isinstance(kind, sa.Date):
        return dt.date(2026, 2, n)
    if isinstance(kind, sa.String):  # Text included
        return f"{n}{column.name}"[: kind.length or None]
    raise AssertionError(f"no test value for {column.table.name}.{column.name} ({kind!r})")


def reflect(connection: sa.Connection) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(
        connection,
        only=lambda name, _: schema.is_plugin_table(name) and name != schema.VERSION_TABLE,
    )
    return metadata


def fill_every_table(engine: sa.Engine, rows_per_table: int = 2) -> None:
    with engine.begin() as connection:
        for table in reflect(connection).sorted_tables:
            connection.execute(
                table.insert(),
                [
                    {c.name: value_for(c, n) for c in table.columns}
                    for n in range(1, rows_per_table + 1)
                ],
            )


def snapshot(engine: sa.Engine) -> Rows:
    with engine.connect() as connection:
        return {
            table.name: [
                dict(row._mapping)
                for row in connection.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for table in reflect(connection).sorted_tables
        }


def assert_rows_kept(before: Rows, after: Rows) -> None:
    for table, rows in before.items():
        assert table in after, f"{table} was dropped with its rows"
        assert len(after[table]) == len(rows), table
        for old, new in zip(rows, after[table], strict=True):
            assert {k: new[k] for k in old if k in new} == old, table


# -- the schema the migrations build ---------------------------------------------------------


def test_revisions_form_one_line_in_files_named_after_them() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(schema.MIGRATIONS_DIR))
    assert len(script.get_heads()) == 1
    assert schema.revisions()[0] == "0001"
    assert schema.head() == schema.revisions()[-1]
    for revision in schema.revisions():
        path = Path(script.get_revision(revision).path)  # type: ignore[union-attr]
        assert path.name.startswith(f"v{revision}_"), path


def test_upgrade_on_an_empty_database_gives_exactly_the_models_schema(engine: sa.Engine) -> None:
    assert schema.current(engine) is None
    assert schema.upgrade(engine) == schema.head()
    assert schema.current(engine) == schema.head()
    assert plugin_tables(engine) == {*Base.metadata.tables, schema.VERSION_TABLE}
    # Every change to xero_panel/models/ needs a revision: this is the test that says so.
    assert differences(engine) == []


def test_upgrading_twice_changes_nothing(engine: sa.Engine) -> None:
    schema.upgrade(engine)
    fill_every_table(engine)
    before = snapshot(engine)
    assert schema.upgrade(engine) == schema.head()
    assert snapshot(engine) == before
    assert differences(engine) == []


def test_downgrade_to_base_drops_the_tables_and_upgrade_builds_them_again(
    engine: sa.Engine,
) -> None:
    schema.upgrade(engine)
    assert schema.downgrade(engine, "base") is None
    assert plugin_tables(engine) == {schema.VERSION_TABLE}
    schema.upgrade(engine)
    assert differences(engine) == []


def test_upgrade_on_a_connection_leaves_the_commit_to_the_caller(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        schema.upgrade(connection)
        assert schema.current(connection) == schema.head()
        connection.commit()
    assert schema.current(engine) == schema.head()


# -- from every revision to the newest, rows kept --------------------------------------------


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded", "made-by-create-all"])
@pytest.mark.parametrize("revision", schema.revisions())
def test_every_revision_upgrades_to_the_newest_with_every_row_kept(
    engine: sa.Engine, revision: str, recorded: bool
) -> None:
    schema.upgrade(engine, revision)
    if not recorded:  # what db.create_all() of that release left: tables, no version table
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE {schema.VERSION_TABLE}"))
    fill_every_table(engine)
    before = snapshot(engine)
    assert set(before) == plugin_tables(engine) - {schema.VERSION_TABLE}
    assert all(before.values())

    assert schema.upgrade(engine) == schema.head()

    assert_rows_kept(before, snapshot(engine))
    assert differences(engine) == []


@pytest.mark.parametrize("revision", schema.revisions())
def test_every_revision_with_the_tables_create_all_adds_is_adopted_and_upgraded(
    engine: sa.Engine, revision: str
) -> None:
    """A host built like the README's (``db.create_all()`` in ``create_app()``) that
    installs a newer release runs ``create_all()`` before ``db upgrade``: the tables added
    since sit beside the older ones, in the models' shape."""
    schema.upgrade(engine, revision)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE {schema.VERSION_TABLE}"))
    Base.metadata.create_all(engine)
    fill_every_table(engine)
    before = snapshot(engine)

    adopted = schema.adopt(engine)
    # Never a later revision than the tables' own, unless these tables are exactly its
    # schema (0004 with the call table create_all() made is 0005's); an earlier one whose
    # tables these are plus only tables later revisions create is fine, since a revision
    # that creates a table leaves one that is there (0005 beside 0010's new table is
    # adopted at 0004).
    assert adopted is not None
    assert adopted <= revision or fingerprint_at(adopted) == fingerprint(engine)
    assert schema.upgrade(engine) == schema.head()

    assert_rows_kept(before, snapshot(engine))
    assert differences(engine) == []


def fingerprint(engine: sa.Engine) -> Any:
    with engine.connect() as connection:
        return fingerprint_of(connection)


def test_stamping_the_old_revision_with_newer_tables_beside_it_upgrades(
    engine: sa.Engine,
) -> None:
    """The advice the refusal used to give (``db stamp 0001``, ``db upgrade``) failed on
    ``DuplicateTable: relation "xero_panel_call_day" already exists``."""
    schema.upgrade(engine, "0001")
    Base.metadata.create_all(engine)
    schema.stamp(engine, "0001")
    assert schema.upgrade(engine) == schema.head()
    assert differences(engine) == []


def fail_on(engine: sa.Engine, statement_start: str) -> Callable[..., None]:
    def fail(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(statement_start.upper()):
            raise RuntimeError(f"injected failure before: {statement.strip()[:60]}")

    sa.event.listen(engine, "before_cursor_execute", fail)
    return fail


def columns(engine: sa.Engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


def test_sqlite_revision_failing_half_way_leaves_the_one_before_and_a_retry_succeeds(
    tmp_path: Path,
) -> None:
    """Revision 0002 alters two tables. It used to commit the first table's new columns
    before failing on the second, so it stayed at 0001 and every retry failed with
    "duplicate column name: last_error_at"."""
    engine = sa.create_engine(f"sqlite:///{tmp_path}/host.db")
    enforce_sqlite_foreign_keys(engine)
    schema.upgrade(engine, "0001")
    fill_every_table(engine)
    before = snapshot(engine)
    at_0001 = columns(engine, "xero_panel_connection")
    fail = fail_on(engine, "ALTER TABLE xero_panel_organisation")

    with pytest.raises(RuntimeError, match="injected failure"):
        schema.upgrade(engine)

    assert schema.current(engine) == "0001"
    assert columns(engine, "xero_panel_connection") == at_0001  # nothing of 0002 kept
    assert snapshot(engine) == before
    sa.event.remove(engine, "before_cursor_execute", fail)
    assert schema.upgrade(engine) == schema.head()
    assert_rows_kept(before, snapshot(engine))
    assert differences(engine) == []
    with engine.connect() as connection:  # foreign keys back on after the failure too
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_failing_revision_keeps_the_revisions_before_it(engine: sa.Engine) -> None:
    """Each revision commits on its own: a failure in 0005 keeps 0002 to 0004 done."""
    schema.upgrade(engine, "0001")
    fail = fail_on(engine, "CREATE TABLE xero_panel_call_day")
    with pytest.raises(RuntimeError, match="injected failure"):
        schema.upgrade(engine)
    assert schema.current(engine) == "0004"
    sa.event.remove(engine, "before_cursor_execute", fail)
    assert schema.upgrade(engine) == schema.head()


def add_one_of_everything(session: Any, cipher: TokenCipher) -> None:
    """A CRM account with a row in every table, as the running plugin writes them."""
    when = dt.datetime(2026, 11, 1, 12, 30, tzinfo=dt.UTC)
    connection = m.Connection(
        crm_account="acme",
        status="active",
        token_ciphertext=cipher.encrypt({"access_token": "a", "refresh_token": "r"}),
        access_expires_at=when,
        scopes="accounting.transactions.read",
        activated_at=when,
    )
    organisation = m.Organisation(connection=connection, tenant_id="t-1", name="Acme Ltd")
    session.add_all([connection, organisation])
    session.flush()
    org = {"organisation_id": organisation.id}
    contact = m.XeroContact(**org, contact_id="c-1", name="Kat Warren", name_key="katwarren")
    contact.emails.append(m.ContactEmail(**org, email_key="kat@x.test"))
    invoice = m.Invoice(**org, xero_id="inv-1", xero_type="ACCREC", contact_id="c-1")
    invoice.status, invoice.date, invoice.currency = "PAID", dt.date(2026, 11, 1), "NZD"
    invoice.total, invoice.balance, invoice.updated_at = Decimal("100.10"), Decimal(0), when
    invoice.payments.append(m.Payment(payment_id="p-1", date=dt.date(2026, 11, 5), amount=40))
    record = {"crm_account": "acme", "record_type": "contact", "record_id": "1"}
    session.add_all(
        [
            contact,
            invoice,
            m.SyncState(**org, status="idle", fresh_at=when),
            m.Pin(**record, **org, xero_invoice_id="inv-1"),
            m.RecordLink(**record, **org, contact_id="c-1"),
            m.WebhookEvent(
                tenant_id="t-1",
                event_category="INVOICE",
                event_type="UPDATE",
                resource_id="inv-1",
                event_date="2026-11-01T12:30:00.000",
            ),
            m.CallDay(tenant_id="t-1", day="2026-11-01", calls=3),
            m.WebhookTenant(tenant_id="t-1", last_delivery_at=when, arriving_since=when),
            m.ReconcileSeen(**org, kind="contact", xero_id="c-1"),
        ]
    )
    session.commit()


def test_a_0_1_database_made_by_create_all_is_adopted_and_upgraded_with_its_data(
    host: HostApp,
) -> None:
    cipher = TokenCipher([TEST_KEY])
    with host.app.app_context():
        add_one_of_everything(host.db.session, cipher)
        engine = host.db.engine
        before = snapshot(engine)
        assert schema.current(engine) is None

        assert schema.upgrade(engine) == schema.head()

        assert_rows_kept(before, snapshot(engine))
        assert all(before.values()) and set(before) == set(Base.metadata.tables)
        assert differences(engine) == []
        session = host.db.session
        session.expire_all()
        token = session.scalars(sa.select(m.Connection.token_ciphertext)).one()
        assert cipher.decrypt(token)["refresh_token"] == "r"
        assert session.scalars(sa.select(m.Invoice.total)).one() == Decimal("100.10")
        assert session.scalars(sa.select(m.SyncState.fresh_at)).one().tzinfo is dt.UTC


def test_tables_matching_no_revision_are_not_adopted(engine: sa.Engine) -> None:
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE xero_panel_pin ADD COLUMN colour VARCHAR(20)"))
    with pytest.raises(schema.SchemaError, match="match none of its revisions"):
        schema.upgrade(engine)
    assert schema.current(engine) is None
    assert run_command(engine, "upgrade") == 1  # the message, not a traceback


def test_check_fails_until_the_database_is_at_the_newest_revision(engine: sa.Engine) -> None:
    with pytest.raises(schema.SchemaError, match="at revision none"):
        schema.check(engine)
    schema.upgrade(engine)
    assert schema.check(engine) == schema.head()


def test_stamp_records_a_revision_without_creating_tables(engine: sa.Engine) -> None:
    schema.stamp(engine, schema.head())
    assert schema.current(engine) == schema.head()
    assert plugin_tables(engine) == {schema.VERSION_TABLE}


def test_sqlite_foreign_keys_are_off_while_migrating_and_restored_after() -> None:
    """A batch ALTER on SQLite copies a table and drops the old one; with foreign keys on,
    that drop would cascade deletes into the tables that refer to it."""
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)
    enforce_sqlite_foreign_keys(engine)

    def foreign_keys(connection: sa.Connection) -> Any:
        return connection.exec_driver_sql("PRAGMA foreign_keys").scalar()

    with migrate._connected(engine) as connection:
        assert foreign_keys(connection) == 0
    with engine.connect() as connection:
        assert foreign_keys(connection) == 1
        with pytest.raises(schema.SchemaError, match="pass the engine"):
            schema.upgrade(connection)
    assert schema.current(engine) is None
    engine.dispose()


# -- the host's own Alembic ------------------------------------------------------------------


def host_differences(host: HostApp, **opts: Any) -> list[Any]:
    with host.app.app_context(), host.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, host.db.metadata))


def touched_tables(diff: list[Any]) -> set[str]:
    """The tables a host's autogenerated revision would create, alter or drop."""
    names = set()
    for op in diff:
        for step in op if isinstance(op, list) else [op]:
            target = step[1]
            if isinstance(target, sa.Table):
                names.add(target.name)
            elif isinstance(target, sa.Index | sa.Constraint):
                names.add(target.table.name)
            else:  # columns: (op, schema, table name, ...)
                names.add(step[2])
    return names


def names(engine: sa.Engine) -> dict[str, set[str]]:
    """The names of every table's constraints and indexes, which later revisions use."""
    inspector = sa.inspect(engine)
    found: dict[str, set[str]] = {}
    for table in Base.metadata.tables:
        found[table] = {
            str(item["name"])
            for item in [
                inspector.get_pk_constraint(table),
                *inspector.get_unique_constraints(table),
                *inspector.get_foreign_keys(table),
                *inspector.get_indexes(table),
            ]
        }
    return found


def test_init_app_adds_the_tables_to_db_metadata_so_create_all_makes_them(
    host: HostApp,
) -> None:
    """``db.create_all()`` stays a way to make the tables (quick starts and tests): it
    builds the same schema as the migrations."""
    with host.app.app_context():
        host.db.drop_all()
        added = {op[1].name for op in host_differences(host) if op[0] == "add_table"}
        assert added == set(Base.metadata.tables)
        host.db.create_all()
        assert host_differences(host) == []
        assert differences(host.db.engine) == []
        made_by_create_all = names(host.db.engine)
        host.db.drop_all()
        schema.upgrade(host.db.engine)
        assert names(host.db.engine) == made_by_create_all


def test_host_autogenerate_with_the_include_hooks_leaves_the_plugin_tables_alone(
    host: HostApp,
) -> None:
    sa.Table("crm_note", host.db.metadata, sa.Column("id", sa.Integer, primary_key=True))
    hooks = {"include_name": schema.include_name, "include_object": schema.include_object}
    with host.app.app_context():
        host.db.drop_all()
        # Before the plugin's migrations ran: the host's revision would not create them.
        assert touched_tables(host_differences(host, **hooks)) == {"crm_note"}
        schema.upgrade(host.db.engine)
        # After: it would not drop the plugin's version table, nor change its tables.
        unhooked = touched_tables(host_differences(host))
        assert schema.VERSION_TABLE in unhooked  # what the hooks are for
        assert touched_tables(host_differences(host, **hooks)) == {"crm_note"}
    with host.app.app_context():
        host.db.metadata.remove(host.db.metadata.tables["crm_note"])


# -- the commands ----------------------------------------------------------------------------


def test_flask_commands_adopt_upgrade_and_report(
    host: HostApp,
) -> None:
    runner = host.app.test_cli_runner()

    def run(*args: str) -> Any:
        return runner.invoke(args=["xero-panel", "db", *args])

    assert run("current").output.strip() == "none"
    checked = run("check")
    assert checked.exit_code == 1 and "flask xero-panel db upgrade" in checked.output
    upgraded = run("upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    # db.create_all() made the models' tables: adopted at the oldest revision that has
    # them (later ones change nothing adoption compares, such as 0009's constraint name).
    oldest = next(r for r in schema.revisions() if fingerprint_at(r) == fingerprint_at("head"))
    assert upgraded.output.splitlines() == [
        f"adopted the tables db.create_all() made, at revision {oldest}",
        f"xero-panel tables: {oldest} -> {schema.head()}"
        if oldest != schema.head()
        else f"xero-panel tables: already at {oldest}, nothing to do",
    ]
    assert run("current").output.strip() == schema.head()
    assert run("check").exit_code == 0
    assert run("upgrade").output.strip().endswith(f"already at {schema.head()}, nothing to do")
    assert run("downgrade", "base").exit_code == 0
    with host.app.app_context():
        assert plugin_tables(host.db.engine) == {schema.VERSION_TABLE}
    assert run("stamp", schema.head()).output.strip() == f"stamped at {schema.head()}"


def test_upgrade_to_an_older_revision_says_it_is_past_it(host: HostApp) -> None:
    """Was "0005 -> 0005" with exit status 0: nothing done, and nothing said."""
    runner = host.app.test_cli_runner()
    assert runner.invoke(args=["xero-panel", "db", "upgrade"]).exit_code == 0
    older = schema.revisions()[2]

    result = runner.invoke(args=["xero-panel", "db", "upgrade", older])

    assert result.exit_code == 1
    assert result.output.strip() == (
        f"xero-panel's tables are at revision {schema.head()}, already past {older}:"
        f" nothing to upgrade (to take them back, downgrade to {older})"
    )
    with host.app.app_context():
        assert schema.current(host.db.engine) == schema.head()


def test_commands_name_the_revisions_there_are(engine: sa.Engine) -> None:
    with pytest.raises(schema.SchemaError) as error:
        schema.upgrade(engine, "0042")
    assert str(error.value) == (
        f"xero-panel has no revision '0042': its revisions are 0001 to {schema.head()}"
        " (or head, or base)"
    )
    assert run_command(engine, "downgrade", "0042") == 1
    assert run_command(engine, "stamp", "nope") == 1
    assert schema.current(engine) is None


def test_downgrade_to_a_newer_revision_says_it_is_before_it(engine: sa.Engine) -> None:
    schema.upgrade(engine, "0002")
    with pytest.raises(schema.SchemaError, match="at revision 0002, before 0004"):
        schema.downgrade(engine, "0004")
    assert schema.current(engine) == "0002"


def oldest_set_warnings() -> list[str]:
    """pyproject's filters for what Flask-WTF 1.1 uses of Flask 2.3 (constraints-min.txt),
    which a host on those versions sees at every import too: ``-W`` options for them."""
    filters = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    return [
        option
        for entry in filters["ini_options"]["filterwarnings"]
        if entry.startswith("ignore:'")
        for option in ("-W", entry)
    ]


def test_schema_main_still_works_and_says_where_it_went(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.warns(DeprecationWarning) as warned:
        main = schema.main
    assert str(warned[0].message) == (
        "xero_panel.schema.main is deprecated and will be removed in 0.3.0: run"
        " python -m xero_panel.schema, or call xero_panel.schema.commands.main"
    )
    assert main(["heads"]) == 0
    assert capsys.readouterr().out.strip() == schema.head()
    with pytest.raises(AttributeError):
        schema.nothing_here  # noqa: B018


SCHEMA_MODULE = [sys.executable, "-W", "error", *oldest_set_warnings(), "-m", "xero_panel.schema"]


def test_python_m_schema_works_without_flask_app(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/host.db"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        # -W error: runpy's "found in sys.modules" RuntimeWarning printed on every run when
        # the entry point was xero_panel/schema.py itself.
        return subprocess.run(
            [*SCHEMA_MODULE, "--database-url", url, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    upgraded = run("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stderr == ""
    assert upgraded.stdout.strip() == f"xero-panel tables: none -> {schema.head()}"
    assert run("current").stdout.strip() == schema.head()
    assert run("check").returncode == 0
    assert differences(sa.create_engine(url)) == []


def test_wheel_ships_the_migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flit_core import buildapi

    monkeypatch.chdir(ROOT)
    wheel = buildapi.build_wheel(str(tmp_path))
    names = set(zipfile.ZipFile(tmp_path / wheel).namelist())
    shipped = {
        str(p.relative_to(ROOT))
        for p in schema.MIGRATIONS_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {"xero_panel/migrations/env.py", "xero_panel/migrations/script.py.mako"} <= shipped
    assert shipped <= names

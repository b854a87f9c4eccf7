"""The plugin's tables, created and upgraded by its own Alembic migrations (no Flask needed).

The migrations ship inside the package (``xero_panel/migrations``) and record where a
database stands in their own version table, ``xero_panel_alembic_version``, so they never
touch the host's Alembic history::

    from xero_panel import schema

    schema.upgrade(engine)            # create or upgrade the plugin's tables, then commit
    schema.current(engine)            # "0001", or None before the first upgrade
    schema.check(engine)              # raises SchemaError unless at the newest revision

From a shell: ``flask xero-panel db upgrade`` in a Flask app, or
``python -m xero_panel.schema upgrade --database-url URL`` anywhere.

A database whose plugin tables were made by ``db.create_all()`` has no version table:
:func:`upgrade` adopts it first, stamping it at the revision whose tables, columns and
indexes it has (0.1's tables are revision ``0001``), then upgrades it from there.

A host whose own Alembic (or Flask-Migrate) autogenerate sees ``db.metadata`` passes
:func:`include_name` and :func:`include_object` to ``context.configure`` (Flask-Migrate:
``Migrate(app, db, include_name=..., include_object=...)``), so its revisions never create,
alter or drop the plugin's tables: the plugin migrates those itself.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect

from .models import Base

__all__ = [
    "MIGRATIONS_DIR",
    "TABLE_PREFIX",
    "VERSION_TABLE",
    "SchemaError",
    "adopt",
    "check",
    "current",
    "downgrade",
    "head",
    "include_name",
    "include_object",
    "is_plugin_table",
    "main",
    "revisions",
    "stamp",
    "upgrade",
]

#: Every table of the plugin's starts with this.
TABLE_PREFIX = "xero_panel_"
#: Where the plugin's migrations record the revision a database is at.
VERSION_TABLE = "xero_panel_alembic_version"
#: The Alembic script directory shipped in the package.
MIGRATIONS_DIR = Path(__file__).with_name("migrations")

Bind = Engine | Connection
#: A table's column names and index names: what adoption compares.
_Fingerprint = dict[str, tuple[frozenset[str], frozenset[str]]]


class SchemaError(RuntimeError):
    """The plugin's tables are not at the revision this release needs, or cannot be
    adopted (their columns match no revision)."""


def is_plugin_table(name: str | None) -> bool:
    """Whether a table (the version table included) belongs to the plugin."""
    return bool(name and name.startswith(TABLE_PREFIX))


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """For a host's Alembic ``context.configure(include_name=...)``: skip the plugin's
    tables (and its version table) when reflecting the host's database."""
    return not (type_ == "table" and is_plugin_table(name))


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For a host's Alembic ``context.configure(include_object=...)``: skip the plugin's
    tables in ``db.metadata`` (``init_app`` adds them there for ``db.create_all()``)."""
    return not (type_ == "table" and is_plugin_table(name))


def _only_plugin_tables(name: str | None, type_: str, parent_names: Any) -> bool:
    return type_ != "table" or is_plugin_table(name)


def context_options() -> dict[str, Any]:
    """What the migrations' ``env.py`` passes to ``context.configure``.

    :meta private:
    """
    return {
        "target_metadata": Base.metadata,
        "version_table": VERSION_TABLE,
        "render_as_batch": True,  # SQLite can only ALTER by copying the table
        "compare_type": True,
        "include_name": _only_plugin_tables,
    }


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def revisions() -> list[str]:
    """Every revision, oldest first (the history is one straight line)."""
    script = ScriptDirectory.from_config(_config())
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def head() -> str:
    """The newest revision: where :func:`upgrade` takes a database."""
    return revisions()[-1]


def _sqlite_foreign_keys(connection: Connection) -> bool:
    """Whether this is SQLite enforcing foreign keys (leaves no transaction behind)."""
    if connection.dialect.name != "sqlite":
        return False
    began = not connection.in_transaction()
    enforced = bool(connection.exec_driver_sql("PRAGMA foreign_keys").scalar())
    if began:
        connection.rollback()
    return enforced


@contextmanager
def _connected(bind: Bind) -> Iterator[Connection]:
    """The connection to migrate on. From an engine: commit at the end, and on SQLite
    with foreign keys off, so that a batch ALTER, which copies and drops a table, never
    cascades deletes to the rows that refer to it (SQLite cannot turn them off inside a
    transaction, so a connection given with foreign keys on is refused)."""
    if isinstance(bind, Connection):
        if _sqlite_foreign_keys(bind):
            raise SchemaError(
                "SQLite enforces foreign keys on this connection, and a table copied by a"
                " migration would take the rows that refer to it along: pass the engine"
            )
        yield bind
        return
    with bind.connect() as connection:
        foreign_keys = _sqlite_foreign_keys(connection)
        if foreign_keys:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            yield connection
            connection.commit()
        finally:
            if foreign_keys:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _current(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def current(bind: Bind) -> str | None:
    """The revision the plugin's tables are at; ``None`` before the first upgrade (or for
    a database made by ``db.create_all()``, which :func:`upgrade` adopts)."""
    with _connected(bind) as connection:
        return _current(connection)


def _fingerprint(connection: Connection) -> _Fingerprint:
    inspector = inspect(connection)
    tables = [t for t in inspector.get_table_names() if is_plugin_table(t)]
    return {
        table: (
            frozenset(c["name"] for c in inspector.get_columns(table)),
            frozenset(
                i["name"]
                for i in inspector.get_indexes(table)
                if i["name"] and not i.get("duplicates_constraint")
            ),
        )
        for table in tables
        if table != VERSION_TABLE
    }


@functools.cache
def _fingerprint_at(revision: str) -> _Fingerprint:
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            command.upgrade(_config(connection), revision)
            return _fingerprint(connection)
    finally:
        engine.dispose()


def _adopt(connection: Connection) -> str | None:
    """Stamp plugin tables that have no recorded revision (``db.create_all()`` made
    them) at the oldest revision they match; ``None`` when there is nothing to adopt."""
    if _current(connection) is not None:
        return None
    found = _fingerprint(connection)
    if not found:
        return None
    for revision in revisions():
        if _fingerprint_at(revision) == found:
            command.stamp(_config(connection), revision)
            return revision
    raise SchemaError(
        "xero-panel's tables match none of its revisions, so they cannot be upgraded"
        " safely; if you know the revision they are at, stamp it"
        " (python -m xero_panel.schema stamp REVISION --database-url URL)"
    )


def adopt(bind: Bind) -> str | None:
    """Record the revision of plugin tables that ``db.create_all()`` made (they have no
    version table): the oldest revision whose tables, columns and indexes they have.
    Returns it, or ``None`` when there was nothing to adopt. :func:`upgrade` does this
    first by itself.

    :raises SchemaError: the tables match no revision.
    """
    with _connected(bind) as connection:
        return _adopt(connection)


def upgrade(bind: Bind, revision: str = "head") -> str | None:
    """Create or upgrade the plugin's tables to ``revision`` (default the newest),
    adopting tables made by ``db.create_all()`` first. Upgrading a database already there
    does nothing. Returns the revision the database is now at.

    Given an :class:`~sqlalchemy.Engine` it commits; given a
    :class:`~sqlalchemy.Connection` the changes are in its transaction, to commit.
    """
    with _connected(bind) as connection:
        _adopt(connection)
        command.upgrade(_config(connection), revision)
        return _current(connection)


def downgrade(bind: Bind, revision: str) -> str | None:
    """Take the plugin's tables back to ``revision`` (``"base"`` drops them all)."""
    with _connected(bind) as connection:
        command.downgrade(_config(connection), revision)
        return _current(connection)


def stamp(bind: Bind, revision: str) -> None:
    """Record ``revision`` as where the plugin's tables are, changing no table."""
    with _connected(bind) as connection:
        command.stamp(_config(connection), revision)


def check(bind: Bind) -> str:
    """Return the newest revision when the database is at it.

    :raises SchemaError: the plugin's tables are missing or older (run :func:`upgrade`).
    """
    at, newest = current(bind), head()
    if at != newest:
        raise SchemaError(
            f"xero-panel's tables are at revision {at or 'none'}, this release needs"
            f" {newest}: run `flask xero-panel db upgrade`"
            " (or python -m xero_panel.schema upgrade --database-url URL)"
        )
    return newest


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m xero_panel.schema {upgrade,downgrade,current,check,stamp,heads}``."""
    parser = argparse.ArgumentParser(
        prog="python -m xero_panel.schema",
        description="Create, upgrade and inspect xero-panel's tables.",
    )
    parser.add_argument("--database-url", help="SQLAlchemy URL of the host's database")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("upgrade", help="upgrade the plugin's tables (default: newest)")
    up.add_argument("revision", nargs="?", default="head")
    down = commands.add_parser("downgrade", help="take the plugin's tables back to REVISION")
    down.add_argument("revision")
    commands.add_parser("current", help="print the revision the database is at")
    commands.add_parser("check", help="fail unless the database is at the newest revision")
    mark = commands.add_parser("stamp", help="record REVISION without changing tables")
    mark.add_argument("revision")
    commands.add_parser("heads", help="print the newest revision")
    args = parser.parse_args(argv)
    if args.command == "heads":
        print(head())
        return 0
    if not args.database_url:
        parser.error("--database-url is required")
    engine = create_engine(args.database_url)
    try:
        return run_command(engine, args.command, getattr(args, "revision", None))
    finally:
        engine.dispose()


def run_command(engine: Engine, name: str, revision: str | None = None) -> int:
    """Run one of the shell commands (``upgrade``, ``downgrade``, ``current``, ``check``,
    ``stamp``) on ``engine``, printing the outcome; returns the exit status.

    :meta private:
    """
    try:
        _print_command(engine, name, revision)
    except SchemaError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def _print_command(engine: Engine, name: str, revision: str | None) -> None:
    if name == "current":
        print(current(engine) or "none")
    elif name == "check":
        print(f"up to date at {check(engine)}")
    elif name == "stamp":
        assert revision is not None
        stamp(engine, revision)
        print(f"stamped at {revision}")
    else:
        if name == "upgrade" and (adopted := adopt(engine)):
            print(f"adopted the tables db.create_all() made, at revision {adopted}")
        before = current(engine)
        action = upgrade if name == "upgrade" else downgrade
        after = action(engine, revision or "head")
        print(f"xero-panel tables: {before or 'none'} -> {after or 'none'}")


if __name__ == "__main__":
    sys.exit(main())

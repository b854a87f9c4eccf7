"""Upgrading, downgrading, stamping and adopting the plugin's tables: what
:mod:`xero_panel.schema` exports (see there).

:meta private:
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from sqlalchemy import Connection, Engine, event

from .adoption import has_plugin_tables, matching_revision
from .base import (
    SchemaError,
    config,
    current_revision,
    head,
    is_plugin_table,
    position,
)

Bind = Engine | Connection


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


def _sqlite_foreign_keys(connection: Connection) -> bool:
    """Whether this is SQLite enforcing foreign keys (leaves no transaction behind)."""
    if connection.dialect.name != "sqlite":
        return False
    began = not connection.in_transaction()
    enforced = bool(connection.exec_driver_sql("PRAGMA foreign_keys").scalar())
    if began:
        connection.rollback()
    return enforced


def _begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


@contextmanager
def _sqlite_transactions(connection: Connection) -> Iterator[None]:
    """Make SQLite's DDL transactional on ``connection``: Python's sqlite3 module begins a
    transaction only before INSERT, UPDATE and DELETE, so an ALTER TABLE would commit by
    itself and a revision failing half-way would stay half done. SQLAlchemy's recipe:
    the driver leaves transactions alone and every begin says ``BEGIN``."""
    if connection.dialect.driver != "pysqlite":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    connection.rollback()
    before = driver.isolation_level
    driver.isolation_level = None
    event.listen(connection, "begin", _begin)
    try:
        yield
    finally:
        event.remove(connection, "begin", _begin)
        connection.rollback()
        driver.isolation_level = before


@contextmanager
def _connected(bind: Bind) -> Iterator[Connection]:
    """The connection to migrate on. From an engine: each revision commits, and on SQLite
    foreign keys are off, so that a batch ALTER, which copies and drops a table, never
    cascades deletes to the rows that refer to it (SQLite cannot turn them off inside a
    transaction, so a connection given with foreign keys on is refused). A connection
    given by the caller stays in its transaction, for the caller to commit."""
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
            with _sqlite_transactions(connection):
                yield connection
                connection.commit()
        finally:
            if foreign_keys:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _settle(connection: Connection, bind: Bind) -> None:
    """Given an engine, commit what was read or stamped so far: Alembic then begins a
    transaction per revision (it cannot inside one already open)."""
    if isinstance(bind, Engine):
        connection.commit()


def current(bind: Bind) -> str | None:
    """The revision the plugin's tables are at; ``None`` before the first upgrade (or for
    a database made by ``db.create_all()``, which :func:`upgrade` adopts)."""
    with _connected(bind) as connection:
        return current_revision(connection)


def _adopt(connection: Connection) -> str | None:
    if current_revision(connection) is not None or not has_plugin_tables(connection):
        return None
    revision = matching_revision(connection)
    if revision is None:
        raise SchemaError(
            "xero-panel's tables match none of its revisions, so they cannot be upgraded"
            " safely; if you know the revision they are at, stamp it"
            " (python -m xero_panel.schema stamp REVISION --database-url URL)"
        )
    command.stamp(config(connection), revision)
    return revision


def adopt(bind: Bind) -> str | None:
    """Record the revision of plugin tables that ``db.create_all()`` made (they have no
    version table): the oldest revision whose tables, columns and indexes they have, with
    any tables of later revisions in the newest shape. Returns it, or ``None`` when there
    was nothing to adopt. :func:`upgrade` does this first by itself.

    :raises SchemaError: the tables match no revision.
    """
    with _connected(bind) as connection:
        return _adopt(connection)


def upgrade(bind: Bind, revision: str = "head") -> str | None:
    """Create or upgrade the plugin's tables to ``revision`` (default the newest),
    adopting tables made by ``db.create_all()`` first. Upgrading a database already there
    does nothing. Returns the revision the database is now at.

    Given an :class:`~sqlalchemy.Engine` each revision commits on its own; given a
    :class:`~sqlalchemy.Connection` the changes are in its transaction, to commit.

    :raises SchemaError: no such revision, or the database is past it already (that
        takes :func:`downgrade`), or its tables cannot be adopted.
    """
    wanted = position(revision)
    with _connected(bind) as connection:
        _adopt(connection)
        at = current_revision(connection)
        if position(at) > wanted:
            raise SchemaError(
                f"xero-panel's tables are at revision {at}, already past {revision}:"
                f" nothing to upgrade (to take them back, downgrade to {revision})"
            )
        _settle(connection, bind)
        command.upgrade(config(connection), revision)
        return current_revision(connection)


def downgrade(bind: Bind, revision: str) -> str | None:
    """Take the plugin's tables back to ``revision`` (``"base"`` drops them all).

    :raises SchemaError: no such revision, or the database is before it (that takes
        :func:`upgrade`).
    """
    wanted = position(revision)
    with _connected(bind) as connection:
        at = current_revision(connection)
        if position(at) < wanted:
            raise SchemaError(
                f"xero-panel's tables are at revision {at or 'none'}, before {revision}:"
                f" nothing to downgrade (to take them forward, upgrade to {revision})"
            )
        _settle(connection, bind)
        command.downgrade(config(connection), revision)
        return current_revision(connection)


def stamp(bind: Bind, revision: str) -> None:
    """Record ``revision`` as where the plugin's tables are, changing no table."""
    position(revision)
    with _connected(bind) as connection:
        command.stamp(config(connection), revision)


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

"""Adoption: which revision plugin tables without a version table are at.

``db.create_all()`` makes every table of the models that is missing and changes no table
that exists. So a database whose tables an older release made holds that release's tables
as they were, plus, once the newer release's app has started, the tables added since,
in the newest shape (0.1's tables and ``xero_panel_call_day``, say). Adoption finds the
oldest revision whose tables, columns and indexes the database has, allowing such later
tables when they are exactly as the models make them; the revisions that create those
tables leave them as they are (see ``migrations/README``).

:meta private:
"""

from __future__ import annotations

import functools

from alembic import command
from sqlalchemy import Connection, create_engine, inspect

from .base import VERSION_TABLE, config, is_plugin_table, revisions

#: A table's column names and index names: what adoption compares.
Fingerprint = dict[str, tuple[frozenset[str], frozenset[str]]]


def fingerprint(connection: Connection) -> Fingerprint:
    """The plugin's tables on ``connection``, by name, with their columns and indexes."""
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
def fingerprint_at(revision: str) -> Fingerprint:
    """What the migrations make, up to ``revision``, on an empty database."""
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            command.upgrade(config(connection), revision)
            return fingerprint(connection)
    finally:
        engine.dispose()


def _matches(found: Fingerprint, revision: str, newest: Fingerprint) -> bool:
    """The database is at ``revision``, maybe with tables of later revisions that
    ``db.create_all()`` made in the newest shape."""
    at = fingerprint_at(revision)
    if {t: found[t] for t in at if t in found} != at:
        return False
    later = set(found) - set(at)
    return all(table in newest and found[table] == newest[table] for table in later)


def matching_revision(connection: Connection) -> str | None:
    """The oldest revision the database matches exactly, else the oldest it matches
    with later tables made by ``db.create_all()``; ``None`` when none does."""
    found = fingerprint(connection)
    line = revisions()
    for revision in line:
        if fingerprint_at(revision) == found:
            return revision
    newest = fingerprint_at(line[-1])
    for revision in line:
        if _matches(found, revision, newest):
            return revision
    return None


def has_plugin_tables(connection: Connection) -> bool:
    return bool(fingerprint(connection))

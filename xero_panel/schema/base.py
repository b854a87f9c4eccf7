"""What the rest of :mod:`xero_panel.schema` builds on: the names, the Alembic script
directory, the revisions in order and where a database stands among them.

:meta private:
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from ..models import Base

#: Every table of the plugin's starts with this.
TABLE_PREFIX = "xero_panel_"
#: Where the plugin's migrations record the revision a database is at.
VERSION_TABLE = "xero_panel_alembic_version"
#: The Alembic script directory shipped in the package.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class SchemaError(RuntimeError):
    """The plugin's tables are not at the revision this release needs, or cannot be
    adopted (their columns match no revision), or a command cannot do what it was asked."""


def is_plugin_table(name: str | None) -> bool:
    """Whether a table (the version table included) belongs to the plugin."""
    return bool(name and name.startswith(TABLE_PREFIX))


def _only_plugin_tables(name: str | None, type_: str, parent_names: Any) -> bool:
    return type_ != "table" or is_plugin_table(name)


def context_options(sqlite: bool = False) -> dict[str, Any]:
    """What the migrations' ``env.py`` passes to ``context.configure``.

    Each revision runs in a transaction of its own, together with the version table's
    update, so a revision that fails leaves the database at the one before. On SQLite
    that needs Alembic told that its DDL is transactional (it is, once the connection
    really begins a transaction: see ``xero_panel.schema.migrate``).

    :meta private:
    """
    options: dict[str, Any] = {
        "target_metadata": Base.metadata,
        "version_table": VERSION_TABLE,
        "render_as_batch": True,  # SQLite can only ALTER by copying the table
        "compare_type": True,
        "include_name": _only_plugin_tables,
        "transaction_per_migration": True,
    }
    if sqlite:
        options["transactional_ddl"] = True
    return options


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the shipped migrations, on ``connection``."""
    alembic_config = Config()
    alembic_config.set_main_option("script_location", str(MIGRATIONS_DIR))
    alembic_config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    if connection is not None:
        alembic_config.attributes["connection"] = connection
    return alembic_config


def revisions() -> list[str]:
    """Every revision, oldest first (the history is one straight line)."""
    script = ScriptDirectory.from_config(config())
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def head() -> str:
    """The newest revision: where :func:`xero_panel.schema.upgrade` takes a database."""
    return revisions()[-1]


def current_revision(connection: Connection) -> str | None:
    """The revision recorded on ``connection``'s database, or ``None``."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def position(revision: str | None, asked: str | None = None) -> int:
    """Where ``revision`` stands in the line: 0 for none (``"base"``), 1 for the first.

    :raises SchemaError: there is no such revision (``asked`` is what the user typed).
    """
    if revision in (None, "base"):
        return 0
    line = revisions()
    if revision == "head":
        return len(line)
    if revision not in line:
        raise SchemaError(
            f"xero-panel has no revision {asked or revision!r}: its revisions are"
            f" {line[0]} to {line[-1]} (or head, or base)"
        )
    return line.index(revision) + 1

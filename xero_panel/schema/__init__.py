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
indexes it has (0.1's tables are revision ``0001``; tables of later revisions that a newer
release's ``db.create_all()`` added beside them are allowed), then upgrades it from there.

Given an engine, each revision is applied in a transaction of its own, SQLite included, so
a revision that fails leaves the database at the revision before it, and running the
upgrade again continues from there.

A host whose own Alembic (or Flask-Migrate) autogenerate sees ``db.metadata`` passes
:func:`include_name` and :func:`include_object` to ``context.configure`` (Flask-Migrate:
``Migrate(app, db, include_name=..., include_object=...)``), so its revisions never create,
alter or drop the plugin's tables: the plugin migrates those itself.
"""

from __future__ import annotations

import warnings
from typing import Any

from .base import (
    MIGRATIONS_DIR,
    TABLE_PREFIX,
    VERSION_TABLE,
    SchemaError,
    head,
    is_plugin_table,
    revisions,
)
from .migrate import (
    adopt,
    check,
    current,
    downgrade,
    include_name,
    include_object,
    stamp,
    upgrade,
)

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
    "revisions",
    "stamp",
    "upgrade",
]


def __getattr__(name: str) -> Any:
    """``xero_panel.schema.main`` moved to ``xero_panel.schema.commands`` in 0.2.0."""
    if name == "main":
        warnings.warn(
            "xero_panel.schema.main is deprecated and will be removed in 0.3.0: run"
            " python -m xero_panel.schema, or call xero_panel.schema.commands.main",
            DeprecationWarning,
            stacklevel=2,
        )
        from .commands import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

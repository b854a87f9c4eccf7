"""Alembic's environment for xero-panel's own migrations.

``xero_panel.schema`` runs it with an open connection in ``config.attributes["connection"]``.
For writing a new revision, run Alembic with this directory's ``alembic.ini`` and a database
URL: ``alembic -c xero_panel/migrations/alembic.ini -x url=sqlite:///scratch.db ...``
(see ``README`` here). Only the plugin's tables are compared, and the revision history is
kept in its own version table, ``xero_panel_alembic_version``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from xero_panel.schema.base import context_options


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, **context_options(sqlite=connection.dialect.name == "sqlite")
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("xero-panel's migrations run against a database, not as SQL scripts")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise RuntimeError("give a database with -x url=... (or use xero_panel.schema)")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
        connection.commit()


_main()

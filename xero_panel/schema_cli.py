"""``flask xero-panel db ...``: create, upgrade and inspect the plugin's tables.

================================================  ================================================
``flask xero-panel db upgrade [REVISION]``         create or upgrade the plugin's tables (default:
                                                  the newest revision); adopts tables that
                                                  ``db.create_all()`` made
``flask xero-panel db current``                    the revision the tables are at (``none``
                                                  before the first upgrade)
``flask xero-panel db check``                      exit 1 unless the tables are at the newest
                                                  revision (for deploy scripts)
``flask xero-panel db downgrade REVISION``         take the tables back (``base`` drops them)
``flask xero-panel db stamp REVISION``             record a revision without changing tables
================================================  ================================================

They run on the engine of the host's Flask-SQLAlchemy ``db`` (the one the plugin queries
through); the same commands exist without Flask as ``python -m xero_panel.schema``.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import Engine

from .schema.commands import run_command

__all__ = ["db_cli"]

db_cli = AppGroup("db", help="xero-panel's tables: upgrade them, show their revision.")


def _run(name: str, revision: str | None = None) -> None:
    engine: Engine = current_app.extensions["sqlalchemy"].engine
    status = run_command(engine, name, revision)
    if status:
        raise click.exceptions.Exit(status)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Create or upgrade xero-panel's tables (default: to the newest revision)."""
    _run("upgrade", revision)


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade_command(revision: str) -> None:
    """Take xero-panel's tables back to REVISION ("base" drops them)."""
    _run("downgrade", revision)


@db_cli.command("current")
def current_command() -> None:
    """Print the revision xero-panel's tables are at."""
    _run("current")


@db_cli.command("check")
def check_command() -> None:
    """Exit with status 1 unless xero-panel's tables are at the newest revision."""
    _run("check")


@db_cli.command("stamp")
@click.argument("revision")
def stamp_command(revision: str) -> None:
    """Record REVISION as where xero-panel's tables are, changing no table."""
    _run("stamp", revision)

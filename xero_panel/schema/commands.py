"""The schema's shell commands, shared by ``flask xero-panel db`` and
``python -m xero_panel.schema``: each prints its outcome and returns an exit status.

:meta private:
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy import Engine

from ..extras import create_engine
from .base import SchemaError, head
from .migrate import adopt, check, current, downgrade, stamp, upgrade

__all__ = ["main", "run_command"]


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
    try:
        engine = create_engine(args.database_url)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        return run_command(engine, args.command, getattr(args, "revision", None))
    finally:
        engine.dispose()


def run_command(engine: Engine, name: str, revision: str | None = None) -> int:
    """Run one of the shell commands (``upgrade``, ``downgrade``, ``current``, ``check``,
    ``stamp``) on ``engine``, printing the outcome; returns the exit status."""
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
        if before == after:
            print(f"xero-panel tables: already at {after or 'none'}, nothing to do")
        else:
            print(f"xero-panel tables: {before or 'none'} -> {after or 'none'}")

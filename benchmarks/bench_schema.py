"""Where a benchmark's cache lives: a PostgreSQL schema of its own (dropped after the run,
or kept for later runs to time the panel on the same rows), or a SQLite temp file."""

from __future__ import annotations

import re
import tempfile
import uuid
from typing import Any

from bench_common import check

#: The table in a kept schema that says what it holds (see ``bench_scale --keep-schema``).
KEPT = "xp_bench_kept"
#: A PostgreSQL schema name the benchmarks may create, reuse and put in SQL text.
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class Schema:
    """A PostgreSQL schema of its own for one run (dropped afterwards unless kept), or a
    SQLite file. ``name`` with ``reuse`` opens a kept schema, which must exist."""

    def __init__(
        self, database_url: str | None, name: str | None = None, *, reuse: bool = False
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self._engine: Any = None
        #: Left in place by :meth:`drop` (a kept or a reused schema).
        self.keep = name is not None
        self.reused = reuse
        if database_url is None:
            self.url = f"sqlite:///{self._tmp.name}/bench.db"
            return
        import sqlalchemy as sa

        self.name = name or f"xp_bench_{uuid.uuid4().hex[:10]}"
        self._engine = sa.create_engine(database_url)
        try:
            with self._engine.begin() as conn:
                exists = conn.scalar(
                    sa.text("SELECT count(*) FROM pg_namespace WHERE nspname = :name"),
                    {"name": self.name},
                )
                if reuse:
                    check(bool(exists), f"there is no schema {self.name!r} to reuse")
                else:
                    check(not exists, f"schema {self.name!r} exists already: reuse or drop it")
                    conn.execute(sa.text(f'CREATE SCHEMA "{self.name}"'))
        except BaseException:
            self._engine.dispose()
            self._tmp.cleanup()
            raise
        separator = "&" if "?" in database_url else "?"
        self.url = f"{database_url}{separator}options=-csearch_path%3D{self.name}"

    def write_kept(self, **facts: Any) -> None:
        """Record in the schema what a reuse run needs to know about it."""
        import sqlalchemy as sa

        with self._engine.begin() as conn:
            conn.execute(sa.text(f'CREATE TABLE "{self.name}".{KEPT} (fact text, value text)'))
            for fact, value in facts.items():
                insert = f'INSERT INTO "{self.name}".{KEPT} VALUES (:fact, :value)'  # noqa: S608
                conn.execute(sa.text(insert), {"fact": fact, "value": str(value)})

    def read_kept(self) -> dict[str, str]:
        import sqlalchemy as sa

        with self._engine.begin() as conn:
            found = conn.scalar(
                sa.text(
                    "SELECT count(*) FROM information_schema.tables"
                    " WHERE table_schema = :name AND table_name = :table"
                ),
                {"name": self.name, "table": KEPT},
            )
            check(bool(found), f"schema {self.name!r} was not kept by bench_scale --keep-schema")
            # The schema's name matched SCHEMA_NAME (parse), so it is safe in the SQL text.
            rows = conn.execute(sa.text(f'SELECT fact, value FROM "{self.name}".{KEPT}'))  # noqa: S608
            return {str(fact): str(value) for fact, value in rows}

    def drop(self, *, failed: bool = False) -> None:
        """Drop the schema, unless it is kept or reused (a kept one is dropped all the same
        when its run ``failed``: its cache would not hold what a reuse run claims)."""
        if self._engine is not None:
            if not self.keep or (failed and not self.reused):
                import sqlalchemy as sa

                with self._engine.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{self.name}" CASCADE'))
            self._engine.dispose()
        self._tmp.cleanup()

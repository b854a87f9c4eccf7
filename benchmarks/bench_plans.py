"""The PostgreSQL plans of the panel's statements, as ``bench_scale`` records them:
``EXPLAIN (ANALYZE, BUFFERS)`` of each SELECT a view ran, with its parameters."""

from __future__ import annotations

import re
from typing import Any

from bench_common import RESULTS, check, progress


def explain(app: Any, statements: list[tuple[str, Any]]) -> str:
    """``EXPLAIN ANALYZE`` of each SELECT, as text."""
    db = app.extensions["bench_db"]
    out = []
    with app.app_context(), db.engine.connect() as conn:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            out.append(statement.strip())
            out.append(f"-- parameters: {parameters!r}")
            out.extend(row[0] for row in plan)
            out.append("")
    return "\n".join(out)


def plans(app: Any, captured: dict[str, list[tuple[str, Any]]], name: str | None) -> list[float]:
    """The plans of the *All* view and of a search, written to
    ``results/<name>-explain.txt`` unless ``name`` is None; returns the execution time of
    each of the *All* view's SELECTs, in the order they ran."""
    text = "\n".join(
        f"==== view {name} ====\n{explain(app, captured[name])}" for name in ("all", "search")
    )
    check("Execution Time" in text, "EXPLAIN gave no plan")
    if name is not None:
        path = RESULTS / f"{name}-explain.txt"
        RESULTS.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        progress(f"plans written to {path.name}")
    all_view = text.split("==== view search ====")[0]
    return [float(m) for m in re.findall(r"Execution Time: ([0-9.]+) ms", all_view)]

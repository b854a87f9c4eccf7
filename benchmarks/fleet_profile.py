"""Where one kind of job's time goes, from the fleet benchmark's worker profiles
(``bench_fleet.py --profile DIR``): time in SQL, Redis and HTTP, the rest in Python, and the
statements, commits, Redis commands and HTTP calls, per call of a function.

    .venv/bin/python benchmarks/bench_fleet.py --workers 1 --fetch per-org --seconds 15 \\
        --burst 500 --profile /tmp/fleet-prof --no-save --database-url postgresql+psycopg://...
    .venv/bin/python benchmarks/fleet_profile.py /tmp/fleet-prof/worker-*.prof \\
        --root run_tenant --show take_pending run_webhook sync_by_ids

cProfile keeps who called whom, not whole stacks, so a function called from several jobs
(a view's sync and a webhook's both run SQL) is given to each caller in proportion to the
time it spent under that caller, up the graph to the root: a close estimate, not an exact
split. The last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import pstats
from collections.abc import Callable, Sequence
from typing import Any

Func = tuple[str, int, str]

#: What counts as time in SQL, in Redis, and in HTTP to the emulator.
CATEGORIES: dict[str, Callable[[Func], bool]] = {
    "sql": lambda f: (
        f[0].endswith("sqlalchemy/engine/default.py")
        and f[2] in ("do_execute", "do_executemany", "do_commit", "do_rollback")
    ),
    "redis": lambda f: f[0].endswith("redis/client.py") and f[2] == "execute_command",
    "http": lambda f: f[0].endswith("requests/sessions.py") and f[2] == "send",
}
COUNTS: dict[str, Callable[[Func], bool]] = {
    "statements": lambda f: (
        f[0].endswith("sqlalchemy/engine/default.py") and f[2] in ("do_execute", "do_executemany")
    ),
    "commits": lambda f: f[0].endswith("sqlalchemy/engine/default.py") and f[2] == "do_commit",
    "redis_commands": CATEGORIES["redis"],
    "http_calls": CATEGORIES["http"],
}


def shares(stats: dict[Func, Any], root: Func, rounds: int = 80) -> dict[Func, float]:
    """Each function's share of its time spent under ``root``."""
    share = dict.fromkeys(stats, 0.0)
    share[root] = 1.0
    for _ in range(rounds):
        for func, (_, _, _, _, callers) in stats.items():
            if func == root:
                continue
            total = sum(c[3] for c in callers.values()) or 1e-12
            share[func] = sum(
                c[3] / total * share.get(caller, 0.0) for caller, c in callers.items()
            )
    return share


def _named(name: str) -> Callable[[Func], bool]:
    return lambda func: func[2] == name


def summary(paths: Sequence[str], root_name: str, show: Sequence[str]) -> dict[str, Any]:
    stats: dict[Func, Any] = pstats.Stats(*paths).stats  # type: ignore[attr-defined]  # not in typeshed
    roots = [f for f in stats if f[2] == root_name]
    if not roots:
        raise SystemExit(f"no function {root_name!r} in the profile")
    root = max(roots, key=lambda f: stats[f][3])
    share = shares(stats, root)
    calls = stats[root][1]
    total = stats[root][3]

    def ms(pred: Callable[[Func], bool]) -> float:
        return round(1000 * sum(stats[f][3] * share[f] for f in stats if pred(f)) / calls, 1)

    def per_call(pred: Callable[[Func], bool]) -> float:
        return round(sum(stats[f][1] * share[f] for f in stats if pred(f)) / calls, 2)

    figures: dict[str, Any] = {"function": root_name, "calls": calls}
    figures["ms_each"] = round(1000 * total / calls, 1)
    figures["ms_each_by_kind"] = {name: ms(pred) for name, pred in CATEGORIES.items()}
    figures["ms_each_by_kind"]["python"] = round(
        figures["ms_each"] - sum(figures["ms_each_by_kind"].values()), 1
    )
    figures["per_call"] = {name: per_call(pred) for name, pred in COUNTS.items()}
    figures["ms_each_in"] = {name: ms(_named(name)) for name in show}
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profiles", nargs="+", help="worker-<pid>.prof files")
    parser.add_argument("--root", default="run_tenant", help="the function to split")
    parser.add_argument("--show", nargs="*", default=[], help="functions under it to time")
    args = parser.parse_args(argv)
    figures = summary(args.profiles, args.root, args.show)
    print(f"# {args.root}: {figures['calls']} calls, {figures['ms_each']} ms each")
    for name, value in figures["ms_each_by_kind"].items():
        print(f"#   {name:8s} {value:6.1f} ms")
    for name, value in figures["ms_each_in"].items():
        print(f"#   in {name}: {value} ms")
    print(f"#   per call: {figures['per_call']}")
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()

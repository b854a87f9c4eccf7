"""The scheduler has one declared interface (``xero_panel.sync.scheduling.Scheduler``): every
call the web layer, the CLI and the jobs make on it is declared there, both schedulers
implement all of it, and nothing reaches it through ``getattr``."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from xero_panel.sync.scheduler import SyncScheduler
from xero_panel.sync.scheduling import CacheOnlyScheduler, Scheduler

PANEL = Path(__file__).resolve().parent.parent / "xero_panel"
DECLARED = {
    name
    for name, member in vars(Scheduler).items()
    if not name.startswith("_") and inspect.isfunction(member)
}


def scheduler_uses() -> list[tuple[str, int, str]]:
    """``(file, line, attribute)`` for every ``<x>.scheduler.<attribute>`` and
    ``scheduler.<attribute>`` outside the sync package (which implements it)."""
    found = []
    for path in sorted(PANEL.rglob("*.py")):
        if path.parent.name == "sync":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            named = isinstance(owner, ast.Name) and owner.id == "scheduler"
            held = isinstance(owner, ast.Attribute) and owner.attr == "scheduler"
            if named or held:
                found.append((path.relative_to(PANEL).as_posix(), node.lineno, node.attr))
    return found


def test_the_interface_declares_what_the_web_layer_the_cli_and_the_jobs_call() -> None:
    uses = scheduler_uses()
    assert {attr for _, _, attr in uses} >= {"ensure_fresh", "start_webhook", "execute"}
    undeclared = [f"{where}:{line} .{attr}" for where, line, attr in uses if attr not in DECLARED]
    assert not undeclared, f"calls on the scheduler its interface does not declare: {undeclared}"


def test_nothing_reaches_the_scheduler_through_getattr() -> None:
    found = []
    for path in sorted(PANEL.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr", "setattr")
                and node.args
                and "scheduler" in ast.unparse(node.args[0])
            ):
                found.append(f"{path.relative_to(PANEL)}:{node.lineno}")
    assert not found, f"getattr on the scheduler: {found}"


@pytest.mark.parametrize("implementation", [SyncScheduler, CacheOnlyScheduler])
def test_each_scheduler_implements_the_whole_interface(implementation: type) -> None:
    for name in sorted(DECLARED):
        declared = inspect.signature(getattr(Scheduler, name))
        implemented = inspect.signature(getattr(implementation, name))
        assert list(implemented.parameters) == list(declared.parameters), name
        assert [p.kind for p in implemented.parameters.values()] == [
            p.kind for p in declared.parameters.values()
        ], name


def test_the_cache_only_scheduler_refuses_to_run_a_sync() -> None:
    scheduler = CacheOnlyScheduler()
    assert scheduler.start_full_sync(1) is False
    assert scheduler.sweep_webhooks() is False
    with pytest.raises(NotImplementedError, match="never calls Xero"):
        scheduler.run_full_sync(1)
    with pytest.raises(NotImplementedError, match="never calls Xero"):
        scheduler.execute("refresh", [1])

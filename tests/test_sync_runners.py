"""Background runners: threads by default, RQ with Redis; the RQ job functions."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from tests.conftest import REDIS_URL, require_service
from xero_panel import jobs
from xero_panel.sync.runners import RQRunner, ThreadRunner, make_runner


def recording_context(entered: list[str]) -> Any:
    """A context manager class that notes "in" and "out" in ``entered``."""

    class Context:
        def __enter__(self) -> None:
            entered.append("in")

        def __exit__(self, *exc: object) -> None:
            entered.append("out")

    return Context


def test_thread_runner_runs_job_in_another_thread() -> None:
    seen: list[tuple[str, Any, str]] = []
    runner = ThreadRunner(
        lambda job, args: seen.append((job, args, threading.current_thread().name))
    )
    runner.submit("refresh", 7)
    assert runner.wait_idle(5)
    assert seen == [("refresh", (7,), "xero-panel-refresh")]


def test_thread_runner_enters_the_context() -> None:
    entered: list[str] = []

    Context = recording_context(entered)
    runner = ThreadRunner(lambda job, args: entered.append(job), Context)
    runner.submit("reconcile", 1)
    runner.wait_idle(5)
    assert entered == ["in", "reconcile", "out"]


def test_thread_runner_logs_a_failed_job(caplog: pytest.LogCaptureFixture) -> None:
    def boom(job: str, args: Any) -> None:
        raise ValueError("bad")

    runner = ThreadRunner(boom)
    runner.submit("full_sync", 3)
    runner.wait_idle(5)
    assert "Background job full_sync(3,) failed" in caplog.text


def test_thread_runner_wait_idle_times_out() -> None:
    gate = threading.Event()
    runner = ThreadRunner(lambda job, args: gate.wait(60))
    runner.submit("refresh", 1)
    assert runner.wait_idle(0.05) is False
    gate.set()
    assert runner.wait_idle(30) is True


def test_thread_runner_cancels_the_jobs_it_has_not_started() -> None:
    ran: list[Any] = []
    runner = ThreadRunner(lambda job, args: ran.append((job, args)))
    before = set(threading.enumerate())
    runner.submit_later(30, "webhook_retry")
    pending = [t for t in set(threading.enumerate()) - before if isinstance(t, threading.Timer)]
    assert len(pending) == 1
    runner.cancel_later()
    for timer in pending:  # a cancelled timer ends at once; a 30 s one would not
        timer.join(10)
    assert not any(t.is_alive() for t in pending) and ran == []


def test_make_runner_threads_without_redis() -> None:
    seen: list[tuple[str, Any, str]] = []
    entered: list[str] = []

    Context = recording_context(entered)

    def execute(job: str, args: Any) -> None:
        seen.append((job, args, threading.current_thread().name))

    runner = make_runner(None, "q", execute, Context)
    assert type(runner) is ThreadRunner
    runner.submit("refresh", 7)
    assert runner.wait_idle(30)
    # The given job function ran in a thread of its own, inside the given context.
    assert seen == [("refresh", (7,), "xero-panel-refresh")]
    assert entered == ["in", "out"]


@pytest.mark.redis
def test_rq_runner_enqueues_each_job_on_its_class_queue() -> None:
    require_service("Redis", REDIS_URL, 6379)
    base = f"xp-test-{uuid.uuid4().hex[:8]}"
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    runner = make_runner(client, base, lambda job, args: None)
    assert isinstance(runner, RQRunner)
    # Most urgent first, the 0.2.0 queue last.
    assert [q.name for q in runner.queues] == [
        f"{base}:webhook",
        f"{base}:refresh",
        f"{base}:reconcile",
        f"{base}:full",
        base,
    ]
    assert all(q.connection is client for q in runner.queues)
    try:
        runner.submit("full_sync", 42)
        runner.submit("webhook", [{"tenantId": "t"}])
        runner.submit("webhook_retry")
        runner.submit("reconcile", 7)
        runner.submit("refresh", 7)
        queued = {q.name: [(j.func_name, j.args) for j in q.jobs] for q in runner.queues}
        assert queued == {
            f"{base}:webhook": [
                ("xero_panel.jobs.webhook", ([{"tenantId": "t"}],)),
                ("xero_panel.jobs.webhook_retry", ()),
            ],
            f"{base}:refresh": [("xero_panel.jobs.refresh", (7,))],
            f"{base}:reconcile": [("xero_panel.jobs.reconcile", (7,))],
            f"{base}:full": [("xero_panel.jobs.full_sync", (42,))],
            base: [],
        }
        # A full sync yields to every class above it, a webhook fetch to none.
        assert runner.should_yield("full_sync", 1) is True
        assert runner.should_yield("webhook", 1) is False
        for q in runner.queues[:3]:
            q.empty()
        assert runner.should_yield("full_sync", 1) is False
        assert runner.should_yield("full_sync", runner.chunk_pages) is True
        runner.submit("reconcile", 8)
        assert runner.should_yield("full_sync", 1) is True
        assert runner.should_yield("reconcile", 1) is False
    finally:
        for q in runner.queues:
            q.empty()
            q.delete()
        client.close()


def test_thread_runner_never_yields() -> None:
    runner = ThreadRunner(lambda job, args: None)
    assert runner.should_yield("full_sync", 10_000) is False


def test_jobs_without_app_say_how_to_run_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(jobs.APP_ENV, raising=False)
    monkeypatch.setattr(jobs, "_app", None)
    with pytest.raises(RuntimeError, match="flask xero-panel worker"):
        jobs.refresh(1)


def test_jobs_load_the_app_named_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, host: Any
) -> None:
    import sys
    import types

    module = types.ModuleType("xp_jobs_host")
    module.app = host.app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "xp_jobs_host", module)
    monkeypatch.setenv(jobs.APP_ENV, "xp_jobs_host:app")
    monkeypatch.setattr(jobs, "_app", None)
    assert jobs.refresh(12345) == {}

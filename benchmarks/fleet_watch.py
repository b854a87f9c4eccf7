"""The fleet benchmark's driver waiting on its RQ workers (``bench_fleet.py``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench_common import BenchmarkFailed


class Watch:
    """A phase's RQ workers and queues, watched while the driver waits on them: a job that
    failed or a worker that exited ends the run at once, with the job's traceback and the
    workers' logs, instead of leaving the driver to wait out its timeout."""

    def __init__(self, queues: dict[str, Any], procs: list[Any], logs: list[Path]) -> None:
        self.queues, self.procs, self.logs = queues, procs, logs

    def pending(self) -> bool:
        return any(len(q) for q in self.queues.values())

    def check(self) -> None:
        from rq.job import Job

        for queue in self.queues.values():
            failed = queue.failed_job_registry.get_job_ids()
            if failed:
                job = Job.fetch(failed[0], connection=queue.connection)
                result = job.latest_result()
                trace = result.exc_string if result is not None else "(no traceback kept)"
                self.fail(f"{len(failed)} job(s) failed in {queue.name}; the first:\n{trace}")
        if any(proc.poll() is not None for proc in self.procs):
            self.fail("an RQ worker exited")

    def fail(self, why: str) -> None:
        for proc in self.procs:
            proc.kill()
        shown = "".join(
            f"\n--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}" for log in self.logs
        )
        raise BenchmarkFailed(f"{why}{shown}")


def drain(client: Any, watch: Watch, prefix: str, count: int, timeout: float) -> None:
    """Wait until ``count`` webhook fetches are done and the queues are empty."""
    started = time.time()
    while client.llen(f"{prefix}bench:done") < count or watch.pending():
        watch.check()
        if time.time() - started > timeout:
            watch.fail(
                f"only {client.llen(f'{prefix}bench:done')} of {count} webhook fetches done"
                f" after {timeout:.0f} s"
            )
        time.sleep(0.2)

"""A chunked full sync gives its wait for the budget up to more urgent work
(xero_panel/xero/yielding_waits.py; the budget's side is in tests/test_rate_budget.py): the
sync stops at that page as at a chunk's end and resumes there. On the fake clocks of the
budget and the emulator."""

from __future__ import annotations

from typing import Any

from tests._sync_support import FakeTime, generated_seed
from tests.test_sync_engine import World
from xero_panel.models import Invoice
from xero_panel.xero.rate_budget import BACKGROUND_MAX_WAIT, InProcessRateBudget
from xero_panel.xero.yielding_waits import CHECK_EVERY, yield_waits_when


def test_a_full_sync_stops_at_the_page_whose_wait_it_gave_up_and_resumes_there(
    database_url: str,
) -> None:
    """Three calls a minute: the organisation, the contacts and the first page of invoices
    go; the second page of invoices waits for the minute, and its wait is given up after a
    second. The next run (a continuation, not in the block) waits and reads from that page
    on: every invoice is cached and no page is read twice."""
    w = World(database_url, generated_seed(2500, n_contacts=6))
    try:
        fake = FakeTime(w.emulator)
        budget = InProcessRateBudget(per_minute=3, clock=fake.clock, sleep=fake.sleep)
        client = w.client(fake=fake, budget=budget, max_wait=BACKGROUND_MAX_WAIT)
        with yield_waits_when(lambda: bool(fake.sleeps)):
            first = w.full(client=client, pause=lambda pages: False)
        assert first.paused
        assert w.calls()["calls"] == 3
        assert fake.sleeps == [CHECK_EVERY]
        state = w.state()
        assert (state.status, state.resume_phase, state.resume_page) == ("running", "invoices", 1)

        second = w.full(client=client, pause=lambda pages: False)
        assert not second.paused
        assert max(fake.sleeps) > 30  # waited for the minute in one sleep, as before
        assert w.count(Invoice.kind == "invoice") == 2500
        assert w.calls()["by_endpoint"]["Invoices"] == 3
        assert w.state().status == "idle"
    finally:
        w.close()


def test_a_full_sync_job_gives_its_waits_up_to_a_more_urgent_queued_job() -> None:
    """``ChunkedJobs.full_sync`` runs the sync in the block, its check the runner's "a job of
    a more urgent class is queued" (pages 0: not a chunk's end)."""
    from xero_panel.sync.chunks import ChunkedJobs
    from xero_panel.xero.yielding_waits import wants_to_yield

    asked: list[tuple[str, int]] = []
    seen: list[bool] = []

    class Runner:
        def should_yield(self, job: str, pages: int) -> bool:
            asked.append((job, pages))
            return True

    class Jobs:
        def run_full_sync(self, organisation_id: int, **kw: Any) -> dict[str, int]:
            seen.append(wants_to_yield())
            return {}

    chunks = ChunkedJobs(session_factory=Any, jobs=Jobs(), runner=Runner)  # type: ignore[arg-type]
    chunks.full_sync(1)
    assert (seen, asked) == ([True], [("full_sync", 0)])
    assert not wants_to_yield()  # the block is over

"""The settings the suite's stateful tests (hypothesis) run with."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def stateful_settings(examples: int, steps: int) -> settings:
    """``examples`` runs of at most ``steps`` steps each: the same runs on every machine
    (derandomised, so a failure in CI's log repeats here), no deadline (a step goes through
    HTTP, databases and Redis) and no health checks (each test builds its own world)."""
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )

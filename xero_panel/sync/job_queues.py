"""Which RQ queue each background job goes on, and in which order a worker takes them.

A job's queue is the priority class of the Xero calls it makes, from
:mod:`~xero_panel.xero.call_kinds` (webhook > refresh > view > reconcile > full), so the
order of the queues is the order of the calls at the rate budget, stated once there. One
queue per class, named after ``XERO_PANEL_RQ_QUEUE``: with the default ``xero-panel``,

====================  ===================================================
``xero-panel:webhook``    ``webhook_tenant``, ``webhook_retry``: fetching what webhooks name
``xero-panel:refresh``    ``refresh``: an admin's *Refresh now*
``xero-panel:reconcile``  ``reconcile``: the background reconciliation
``xero-panel:full``       ``full_sync``: first syncs, in chunks (see below)
``xero-panel``            nothing new: jobs queued by 0.2.0, drained last
====================  ===================================================

A worker listens to them in that order, and RQ takes the next job from the first queue
that has one. (TTL refreshes of panel views run in the web process, as single flights, so
no job is queued for them; their class has no queue.)

A full sync is long (a page a call, thousands of pages for a large organisation), so it runs
in **chunks**: before each page it asks the runner whether to stop here
(:data:`CHUNK_PAGES` pages done, or a job of a more urgent class waiting), stores where it
is (it is resumable page by page) and queues its continuation at the end of its queue. A
webhook fetch queued behind it therefore waits for at most the one call under way, and
first syncs of several organisations take turns.
"""

from __future__ import annotations

from typing import Literal

from ..xero.call_kinds import PRIORITY, CallKind

__all__ = ["CHUNK_PAGES", "JOB_CLASS", "JobName", "more_urgent", "queue_name", "queue_names"]

#: The background jobs (functions of :mod:`xero_panel.jobs`).
JobName = Literal["full_sync", "refresh", "reconcile", "webhook", "webhook_tenant", "webhook_retry"]

#: Each job's priority class: the kind of Xero call it makes.
JOB_CLASS: dict[JobName, CallKind] = {
    "webhook": "webhook",
    "webhook_tenant": "webhook",
    "webhook_retry": "webhook",
    "refresh": "refresh",
    "reconcile": "reconcile",
    "full_sync": "full",
}

#: Pages a full sync reads in one job at most before it queues its continuation.
CHUNK_PAGES = 20


def _classes() -> list[CallKind]:
    used = set(JOB_CLASS.values())
    return sorted(used, key=PRIORITY.__getitem__)


def queue_name(base: str, job: JobName) -> str:
    """The queue ``job`` goes on, for ``XERO_PANEL_RQ_QUEUE`` = ``base``."""
    return f"{base}:{JOB_CLASS[job]}"


def queue_names(base: str) -> list[str]:
    """Every queue a worker listens to, most urgent first; ``base`` itself last (jobs queued
    by 0.2.0, which had one queue)."""
    return [f"{base}:{kind}" for kind in _classes()] + [base]


def more_urgent(base: str, job: JobName) -> list[str]:
    """The queues whose jobs go before ``job``'s."""
    mine = PRIORITY[JOB_CLASS[job]]
    return [f"{base}:{kind}" for kind in _classes() if PRIORITY[kind] < mine]

"""The RQ job functions (with ``XERO_PANEL_REDIS_URL`` set).

Each job needs the host app, for its database and the plugin's settings. Run the worker
one of two ways:

* ``flask --app yourapp xero-panel worker`` (recommended): an RQ worker on the queues
  named after ``XERO_PANEL_RQ_QUEUE`` (:mod:`~xero_panel.sync.job_queues`), most urgent
  first, inside the app's context, so every job finds the app as ``current_app``.
* ``XERO_PANEL_APP=yourapp:create_app rq worker -w xero_panel.sync.rq_worker.SyncWorker --url
  redis://... xero-panel:webhook xero-panel:refresh xero-panel:reconcile xero-panel:full
  xero-panel``: a plain ``rq worker`` on the same queues in the same order; each job imports
  the app named by ``XERO_PANEL_APP`` (``module:attribute``, an app or a factory taking no
  arguments) once and runs inside its app context.

A job that fails because of Xero records the problem in the sync state and ends normally;
other errors fail the RQ job (see ``rq info`` and RQ's failed job registry).
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Sequence
from typing import Any

from flask import Flask, current_app, has_app_context

from .state import get_state
from .sync.runners import JobName

__all__ = ["full_sync", "reconcile", "refresh", "webhook", "webhook_retry", "webhook_tenant"]

#: The environment variable a plain ``rq worker`` reads to find the host app.
APP_ENV = "XERO_PANEL_APP"

_app: Flask | None = None
_app_lock = threading.Lock()


def _load_app() -> Flask:
    global _app
    with _app_lock:
        if _app is None:
            target = os.environ.get(APP_ENV)
            if not target or ":" not in target:
                raise RuntimeError(
                    f"xero-panel jobs need the host app: run them with `flask xero-panel worker`,"
                    f" or set {APP_ENV}=module:app (or module:create_app) for `rq worker`."
                )
            module_name, _, attribute = target.partition(":")
            found = getattr(importlib.import_module(module_name), attribute)
            app = found if isinstance(found, Flask) else found()
            if not isinstance(app, Flask):
                raise RuntimeError(f"{APP_ENV}={target} does not name a Flask app or factory.")
            _app = app
        return _app


def _run(job: JobName, *args: Any) -> Any:
    """Run the job through the app's scheduler (its ``execute``), inside the app."""

    def call(app: Flask) -> Any:
        return get_state(app).scheduler.execute(job, args)

    if has_app_context():
        return call(current_app._get_current_object())  # type: ignore[attr-defined]
    app = _load_app()
    with app.app_context():
        return call(app)


def full_sync(organisation_id: int, continuing: bool = False) -> dict[str, int]:
    """A chunk of the full sync of one organisation (the scheduler's ``full_sync`` job);
    ``continuing``: the continuation of one that paused (0.2.0 queued it without)."""
    result: dict[str, int] = _run("full_sync", organisation_id, continuing)
    return result


def refresh(organisation_id: int) -> dict[str, int]:
    """*Refresh now* of one organisation (the scheduler's ``refresh`` job)."""
    result: dict[str, int] = _run("refresh", organisation_id)
    return result


def reconcile(organisation_id: int, continuing: bool = False) -> dict[str, int]:
    """A chunk of the reconciliation of one organisation (the scheduler's ``reconcile``
    job); ``continuing``: the continuation of one that paused."""
    result: dict[str, int] = _run("reconcile", organisation_id, continuing)
    return result


def webhook(events: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Refresh what webhook events name (the scheduler's ``webhook`` job; 0.2.0 queued one
    per delivery, this version queues :func:`webhook_tenant`)."""
    result: dict[str, int] = _run("webhook", events)
    return result


def webhook_tenant(tenant_id: str) -> dict[str, int]:
    """Fetch every stored webhook event of one organisation (tenant) not fetched yet (the
    scheduler's ``webhook_tenant`` job)."""
    result: dict[str, int] = _run("webhook_tenant", tenant_id)
    return result


def webhook_retry() -> dict[str, int]:
    """Try again the stored webhook events whose fetch failed and is due
    (the scheduler's ``webhook_retry`` job)."""
    result: dict[str, int] = _run("webhook_retry")
    return result

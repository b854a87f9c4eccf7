"""``flask xero-panel ...``: sync now, show the sync status, run the RQ worker.

=====================================================  ===========================================
``flask xero-panel sync [--full] [--account KEY]``      sync every active organisation now (a full
``[--organisation TENANT_ID]``                         sync with a progress bar with ``--full``, or
                                                       when the first one never completed;
                                                       otherwise incremental)
``flask xero-panel status [--json] [--account KEY]``   per organisation in use: state, last sync,
``[--organisation TENANT_ID]``                         invoices cached, Xero calls made today
                                                       (by every process), errors; and the
                                                       webhook events dropped because no CRM
                                                       account uses their organisation
``flask xero-panel worker [--burst]``                  an RQ worker for the sync jobs, inside the
                                                       app (needs ``XERO_PANEL_REDIS_URL``), on
                                                       the jobs' queues, most urgent first
=====================================================  ===========================================

Exit codes, for scripts and monitors: 0 when all went well (``status``: every organisation's
state is ``ok``), 1 when something needs attention (a sync failed; ``status``: an organisation
is in any other state), 2 for a usage error (an unknown option, or an ``--account`` or
``--organisation`` that names nothing in use), with a message on stderr.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .clock import utcnow
from .health import admin_status
from .models import Connection, Organisation, SyncState
from .schema_cli import db_cli
from .state import get_state
from .sync.org_state import state_of
from .sync.scheduling import Scheduler
from .sync.state import cached_counts
from .sync.webhook_ingest import dropped_events

__all__ = ["xero_panel_cli"]

xero_panel_cli = AppGroup("xero-panel", help="xero-panel: sync Xero data and show its status.")
xero_panel_cli.add_command(db_cli)

_ACCOUNT = click.option("--account", metavar="KEY", help="Only this CRM account's organisations.")
_ORGANISATION = click.option(
    "--organisation", metavar="TENANT_ID", help="Only this Xero organisation (its tenant id)."
)


def _narrow(query: Any, session: Any, account: str | None, organisation: str | None) -> Any:
    """``query`` narrowed to ``--account`` and ``--organisation``; a value that names no CRM
    account or organisation known here is a usage error (exit 2), not an empty answer."""
    if account is not None:
        known = session.scalar(select(Connection.id).where(Connection.crm_account == account))
        if known is None:
            raise click.UsageError(
                f"No CRM account {account!r} has connected Xero here"
                " (the key is the one your account_resolver returns)."
            )
        query = query.where(Connection.crm_account == account)
    if organisation is not None:
        known = session.scalar(
            select(Organisation.id).where(Organisation.tenant_id == organisation)
        )
        if known is None:
            raise click.UsageError(
                f"No Xero organisation {organisation!r} is known here"
                " (give its tenant id, as `flask xero-panel status` shows it)."
            )
        query = query.where(Organisation.tenant_id == organisation)
    return query


def _organisations(
    session: Any, account: str | None, organisation: str | None
) -> list[Organisation]:
    query = (
        select(Organisation)
        .join(Connection)
        .where(Connection.status == "active", Organisation.selected.is_(True))
        .order_by(Connection.crm_account, Organisation.name, Organisation.id)
    )
    return list(session.scalars(_narrow(query, session, account, organisation)))


def _iso(when: dt.datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _age(when: dt.datetime | None) -> str:
    if when is None:
        return "never"
    seconds = int((utcnow() - when).total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


@xero_panel_cli.command("sync")
@click.option("--full", is_flag=True, help="Re-read everything (also reconciles).")
@_ACCOUNT
@_ORGANISATION
def sync_command(full: bool, account: str | None, organisation: str | None) -> None:
    """Sync the cache with Xero now."""
    state = get_state()
    scheduler = state.scheduler
    with state.session_factory() as session:
        targets = [
            (o.id, o.name, o.sync_state is None or o.sync_state.full_sync_completed_at is None)
            for o in _organisations(session, account, organisation)
        ]
    if not targets:
        click.echo("No active Xero organisations to sync.")
        return
    failed = False
    for organisation_id, name, never in targets:
        if full or never:
            counts = _full_with_bar(scheduler, organisation_id, name)
        else:
            counts = scheduler.run_incremental(organisation_id)
        with state.session_factory() as session:
            sync_state = session.get(SyncState, organisation_id)
            error = sync_state.last_error if sync_state is not None else None
        if not counts and error:
            failed = True
            click.echo(f"{name}: failed: {error}", err=True)
        elif not counts:
            click.echo(f"{name}: skipped (a full sync is already running).")
        else:
            click.echo(
                f"{name}: {counts['invoices']} invoices, {counts['credit_notes']} credit notes,"
                f" {counts['contacts']} contacts stored in {counts['calls']} Xero"
                f" call{'' if counts['calls'] == 1 else 's'}."
            )
    if failed:
        raise SystemExit(1)


def _full_with_bar(scheduler: Scheduler, organisation_id: int, name: str) -> dict[str, int]:
    bar: Any = None
    shown = 0

    def progress(done: int, total: int | None) -> None:
        nonlocal bar, shown
        if bar is None:
            bar = click.progressbar(
                length=max(total or done, 1), label=f"{name}: full sync", show_pos=True
            )
            bar.__enter__()
        if total is not None and total > bar.length:
            bar.length = total
        bar.update(done - shown)
        shown = done

    try:
        counts = scheduler.run_full_sync(organisation_id, progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    return counts


def _status_rows(account: str | None, organisation: str | None) -> list[dict[str, Any]]:
    """One dict per organisation in use: what ``status`` prints, and its ``--json`` form."""
    state = get_state()
    with state.session_factory() as session:
        # Only the organisations in use: those an admin ticked and saved. A grant may cover
        # more organisations than the CRM account uses; those are never synced.
        query = (
            select(
                Organisation,
                Connection.crm_account,
                Connection.status,
                Connection.reconnect_started_at,
            )
            .join(Connection)
            .where(Organisation.selected.is_(True))
            .order_by(Connection.crm_account, Organisation.name, Organisation.id)
        )
        rows = session.execute(_narrow(query, session, account, organisation)).all()
        found = []
        for org, crm_account, connection_status, reconnecting in rows:
            sync_state = session.get(SyncState, org.id)
            org_state = state_of(connection_status, reconnecting, sync_state)
            sync = sync_state.status if sync_state is not None else "never synced"
            if sync_state is not None and sync_state.status == "running":
                total = sync_state.progress_total
                sync += f" ({sync_state.phase or 'starting'}, {sync_state.progress_done}"
                sync += f"/{total} records)" if total is not None else " records)"
            found.append(
                {
                    "organisation": org.name,
                    "tenant_id": org.tenant_id,
                    "crm_account": crm_account,
                    "connection": connection_status,
                    "state": org_state.reason,
                    "ok": org_state.ok,
                    "message": admin_status(org_state),
                    "since": _iso(org_state.since),
                    "sync": sync,
                    "last_sync": _iso(sync_state.fresh_at if sync_state else None),
                    "last_full_sync": _iso(
                        sync_state.full_sync_completed_at if sync_state else None
                    ),
                    "cached": cached_counts(session, org.id),
                    "calls_today": state.backends.counter.count(org.tenant_id).today,
                    "error": sync_state.last_error if sync_state is not None else None,
                }
            )
    return found


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


@xero_panel_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for monitors.")
@_ACCOUNT
@_ORGANISATION
def status_command(as_json: bool, account: str | None, organisation: str | None) -> None:
    """Show each organisation's state and sync status.

    Exits 0 when every organisation is ok, 1 when one needs attention, 2 on a usage error.
    """
    rows = _status_rows(account, organisation)
    with get_state().session_factory() as session:
        dropped = dropped_events(session)
    attention = [row for row in rows if not row["ok"]]
    if as_json:
        report = {"ok": not attention, "organisations": rows, "webhook_events_dropped": dropped}
        click.echo(json.dumps(report, sort_keys=True))
    elif not rows:
        click.echo("No Xero organisations are in use.")
    for row in rows if not as_json else []:
        cached = row["cached"]
        click.echo(f"{row['organisation']} [{row['tenant_id']}]")
        click.echo(f"  CRM account:     {row['crm_account']} ({row['connection']})")
        click.echo(f"  state:           {row['state']}: {row['message']}")
        click.echo(f"  sync:            {row['sync']}")
        click.echo(f"  last sync:       {_age(_when(row['last_sync']))}")
        click.echo(f"  last full sync:  {_age(_when(row['last_full_sync']))}")
        click.echo(
            f"  cached:          {cached['invoices']} invoices,"
            f" {cached['credit_notes']} credit notes, {cached['contacts']} contacts"
        )
        click.echo(f"  calls today:     {row['calls_today']}")
        click.echo(f"  errors:          {row['error'] or 'none'}")
    if not as_json:
        # App-wide (every process, every CRM account), and it names no organisation.
        click.echo(f"Webhook events dropped (no CRM account uses their organisation): {dropped}")
    if attention:
        raise SystemExit(1)


@xero_panel_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst: bool) -> None:
    """Run an RQ worker for xero-panel's sync jobs inside this app."""
    state = get_state()
    settings = state.settings
    if state.backends.redis is None:
        raise click.ClickException(
            "XERO_PANEL_REDIS_URL is not set: without Redis, sync jobs run in threads of the"
            " web process and need no worker."
        )
    from rq import Queue

    from .sync.job_queues import queue_names
    from .sync.rq_worker import SyncWorker

    connection = state.backends.redis
    names = queue_names(settings.rq_queue)
    queues = [Queue(name, connection=connection) for name in names]
    click.echo(f"xero-panel worker for {current_app.name} on queues {' '.join(names)}")
    # RQ takes each job from the first of these queues that has one: the most urgent class.
    # SyncWorker runs jobs in this process, inside this app context (no fork, so the
    # database engine's pooled connections are never shared with a child).
    SyncWorker(queues, connection=connection).work(burst=burst, with_scheduler=False)

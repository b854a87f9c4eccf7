"""What a panel view reads of its CRM account, in one statement: the connection, the
organisations that feed the panel, and each one's sync snapshot (which also carries what the
account's kept matches are stamped with, :mod:`xero_panel.known_matches`).

Plain Python (no Flask).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Executable, bindparam, select
from sqlalchemy.orm import Session

from .connections import feeding_panel
from .known_matches import MatchStamp
from .matching import record_keys
from .models import SHOWING_CACHE, Connection, Organisation, SyncState, WebhookTenant
from .records import CRMRecord
from .sync.freshness import Snapshot, snapshot_of

__all__ = ["AccountState", "read_account_state"]


@dataclass(frozen=True)
class AccountState:
    """The CRM account's connection (``None``: not connected), the organisations that feed
    its panel (the selected ones, by name; none unless the connection is active or needs
    reconnecting, whose cache is still shown) and their snapshots, in the same order."""

    connection: Connection | None
    organisations: list[Organisation] = field(default_factory=list)
    snapshots: Sequence[Snapshot] = ()

    def match_stamp(self, record_type: str, record_id: str, record: CRMRecord) -> MatchStamp:
        """The stamp of the record's match as the account stands now."""
        assert self.connection is not None
        emails, names = record_keys(record_type, record)
        states = {s.organisation_id: s.sync_state for s in self.snapshots}
        return MatchStamp(
            crm_account=self.connection.crm_account,
            record_type=record_type,
            record_id=record_id,
            emails=tuple(sorted(emails)),
            names=tuple(sorted(names)),
            organisations=tuple(_version(o.id, states.get(o.id)) for o in self.organisations),
            links_version=self.connection.links_version,
        )


def _version(organisation_id: int, state: SyncState | None) -> tuple[object, ...]:
    """What an organisation's part of a match stamp holds: its ``match_version``, and the
    start of its first full sync (a cache deleted and synced again counts up from 0 anew)."""
    if state is None:
        return (organisation_id, None, None)
    return (organisation_id, state.full_sync_started_at, state.match_version)


def read_account_state(session: Session, crm_account: str) -> AccountState:
    """The account's :class:`AccountState`, in one statement (the organisations that feed
    the panel as :func:`~xero_panel.connections.feeding_panel` says)."""
    rows = session.execute(_statement(), {"crm_account": crm_account}).all()
    if not rows:
        return AccountState(None)
    connection = rows[0][0]
    if connection.status not in SHOWING_CACHE:
        return AccountState(connection)
    read = {o.id: (s, w) for _, o, s, w in rows if o is not None}
    chosen = feeding_panel(o for _, o, _, _ in rows if o is not None)
    status, reconnecting = connection.status, connection.reconnect_started_at
    return AccountState(
        connection,
        chosen,
        [snapshot_of(o.id, status, reconnecting, *read[o.id]) for o in chosen],
    )


@functools.cache
def _statement() -> Executable:
    """The statement of :func:`read_account_state`, built once (every view runs it)."""
    return (
        select(Connection, Organisation, SyncState, WebhookTenant)
        .outerjoin(Organisation, Organisation.connection_id == Connection.id)
        .outerjoin(SyncState, SyncState.organisation_id == Organisation.id)
        .outerjoin(WebhookTenant, WebhookTenant.tenant_id == Organisation.tenant_id)
        .where(Connection.crm_account == bindparam("crm_account"))
    )

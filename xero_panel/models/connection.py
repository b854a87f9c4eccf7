"""A CRM account's grant to Xero (:class:`Connection`), the organisations it covers
(:class:`Organisation`) and where each organisation's cache stands (:class:`SyncState`).

Every cached row hangs off an :class:`Organisation`, which hangs off the :class:`Connection`
of one CRM account: removing a connection deletes everything that CRM account had.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from .base import Base, UTCDateTime

__all__ = ["SHOWING_CACHE", "Connection", "ConnectionStatus", "Organisation", "SyncState"]

#: Connection states: ``pending`` after OAuth until an admin presses *Save*; ``active``;
#: ``needs_reconnect`` when Xero stopped accepting the tokens.
ConnectionStatus = Literal["pending", "active", "needs_reconnect"]

#: The states in which the panel shows the cached data: ``needs_reconnect`` too (with a
#: notice), since what was synced before is still worth seeing.
SHOWING_CACHE: frozenset[str] = frozenset({"active", "needs_reconnect"})


class Connection(Base):
    """One CRM account's grant to Xero: encrypted tokens and who connected it."""

    __tablename__ = "xero_panel_connection"
    # Not ``unique=True`` on the column: a table-level constraint keeps its name when
    # init_app copies the table into the host's metadata.
    __table_args__ = (UniqueConstraint("crm_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The host's CRM account key (from the account resolver); one connection each.
    crm_account: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    #: The whole OAuth token (access, refresh, expiry, scope) as Fernet ciphertext.
    token_ciphertext: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    scopes: Mapped[str] = mapped_column(Text, default="")
    #: From the id_token: the Xero user who connected.
    connected_by_email: Mapped[str | None] = mapped_column(Text)
    connected_by_name: Mapped[str | None] = mapped_column(Text)
    xero_user_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Why the connection needs an admin's attention (a failed *Test connection* or token
    #: refresh), and when; cleared by the next call that succeeds.
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: The sign-in (Xero's ``authEventId``) of the stored grant.
    auth_event_id: Mapped[str | None] = mapped_column(String(64))
    #: Set while an admin reconnects a saved connection (between Xero's consent and Save):
    #: the panel keeps showing the cache with a notice.
    reconnect_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Counted up by every link or unlink of any of the CRM account's records
    #: (:mod:`xero_panel.matching`), so a view's kept match knows when to look again.
    links_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organisations: Mapped[list[Organisation]] = relationship(
        back_populates="connection", cascade="all, delete-orphan", passive_deletes=True
    )


class Organisation(Base):
    """A Xero organisation (tenant) the grant covers; ``selected`` ones feed the panel."""

    __tablename__ = "xero_panel_organisation"
    __table_args__ = (UniqueConstraint("connection_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_connection.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    #: The ``id`` of Xero's connection object (what ``DELETE /connections/{id}`` takes).
    xero_connection_id: Mapped[str | None] = mapped_column(String(64))
    #: Xero's words (names, codes, zones) are stored whole, whatever their length: Xero
    #: documents no limit for most of them (see :mod:`xero_panel.models.xero_cache`).
    name: Mapped[str] = mapped_column(Text)
    short_code: Mapped[str | None] = mapped_column(Text)
    base_currency: Mapped[str | None] = mapped_column(Text)
    #: Xero's ``CountryCode`` (``NZ``): the panel's locale when the host gives none.
    country_code: Mapped[str | None] = mapped_column(Text)
    #: IANA zone name ("today" for due dates is the date in this zone).
    timezone: Mapped[str] = mapped_column(Text, default="UTC")
    selected: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The sign-in (``authEventId``) that last granted this organisation to the app.
    auth_event_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    connection: Mapped[Connection] = relationship(back_populates="organisations")
    sync_state: Mapped[SyncState | None] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", passive_deletes=True
    )


class SyncState(Base):
    """Where the cache of one organisation stands: progress, freshness and errors."""

    __tablename__ = "xero_panel_sync_state"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_organisation.id", ondelete="CASCADE"), primary_key=True
    )
    #: ``idle``, ``running`` or ``failed``.
    status: Mapped[str] = mapped_column(String(20), default="idle")
    phase: Mapped[str | None] = mapped_column(String(40))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    full_sync_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    full_sync_completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: When the cache last matched Xero (a successful full or incremental sync).
    fresh_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: The newest ``UpdatedDateUTC`` seen, per resource, for ``If-Modified-Since``.
    invoices_modified_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    contacts_modified_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    credit_notes_modified_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reconciled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Where an unfinished full sync resumes: the phase (``organisation``, ``contacts``,
    #: ``invoices``, ``credit_notes``) and how many of its pages are stored (committed with
    #: each page); ``None`` when no full sync is unfinished.
    resume_phase: Mapped[str | None] = mapped_column(String(20))
    resume_page: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: When the unfinished full sync began (its watermarks never pass this moment).
    resume_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Where an unfinished reconciliation (run in chunks, :mod:`xero_panel.sync.reconcile`)
    #: resumes: its phase (``contacts``, ``credit_notes``, ``invoices``, ``gone``), how many
    #: of that phase's pages are stored, and when it began; ``None`` when none is
    #: unfinished. The IDs it has listed so far are in ``xero_panel_reconcile_seen``.
    reconcile_phase: Mapped[str | None] = mapped_column(String(20))
    reconcile_page: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reconcile_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: What the last Xero call for this organisation did (any call: sync, webhook fetch,
    #: targeted fetch, *Test connection*): the kind of its failure (``slow``,
    #: ``unreachable``, ``xero-error``, ``rate-limited``, ``needs-reconnect``; ``None`` once a
    #: call succeeds), since when failures run, how many in a row, when Xero's
    #: ``Retry-After`` ends and which limit it was, when the last call ended and how long
    #: Xero took to answer it (:mod:`xero_panel.sync.org_state` reads them).
    trouble: Mapped[str | None] = mapped_column(String(20))
    trouble_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rate_limit: Mapped[str | None] = mapped_column(String(20))
    last_call_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_call_ms: Mapped[int | None] = mapped_column(Integer)
    #: Records of the last sync that skipped any which could not be stored (an ID longer
    #: than an ID can be, a value the database refuses): how many, why (the last one), when.
    skipped_records: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped_reason: Mapped[str | None] = mapped_column(Text)
    skipped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Counted up, in the same transaction, by every write of the organisation's cache that
    #: can change which contacts a record matches: contacts stored or removed, a sales
    #: invoice new to the cache or moved to another contact
    #: (:class:`~xero_panel.sync.cache_writer.CacheWriter`); a view's kept match is reused
    #: only while it stands still.
    match_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organisation: Mapped[Organisation] = relationship(back_populates="sync_state")

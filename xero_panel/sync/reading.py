"""Reading Xero's pages into the cache: what every sync in :mod:`~xero_panel.sync.engine`
does, page by page.

A :class:`SyncRun` is one sync of one organisation. :meth:`SyncRun.read` stores each page
as it arrives (and commits), moves a :class:`Watermark`, notes the IDs it saw and the
contacts the documents name, and adds to the :class:`SyncResult`; :meth:`SyncRun.done`
fills in how many Xero calls the sync made, read from the client's
:class:`~xero_panel.xero.call_counter.CallCounter`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from ..clock import utcnow
from ..models import Organisation, SyncState
from ..xero.client import Page, XeroClient
from .cache_writer import KINDS, CacheWriter, RecordKind

logger = logging.getLogger("xero_panel.sync")

__all__ = ["ProgressCallback", "SyncKind", "SyncResult", "SyncRun", "Watermark"]

SyncKind = Literal["full", "incremental", "contacts", "ids", "reconcile"]
#: Called as ``progress(done, total)`` (records stored, records expected so far; ``total``
#: grows as each phase's first page says how many it has).
ProgressCallback = Callable[[int, int | None], None]


@dataclass
class SyncResult:
    """What one sync did.

    :ivar calls: Xero API calls made for this organisation (from the call counter).
    :ivar invoices: sales invoices stored (new or updated).
    :ivar credit_notes: customer credit notes stored.
    :ivar contacts: contacts stored.
    :ivar removed_contacts: cached contacts deleted because Xero no longer has them.
    :ivar skipped: records the cache could not store (skipped and counted; the sync went on).
    """

    kind: SyncKind
    calls: int = 0
    invoices: int = 0
    credit_notes: int = 0
    contacts: int = 0
    removed_contacts: int = 0
    skipped: int = 0
    fresh_at: dt.datetime | None = None
    #: A full sync that stopped at a chunk's end (it resumes at the next page).
    paused: bool = False


class Watermark:
    """The newest ``UpdatedDateUTC`` of a read, kept safe across pages: when a read spans
    pages, a record changed while it ran may be newer than ones still to come, so the mark
    never passes Xero's clock at the first page."""

    def __init__(self) -> None:
        self.newest: dt.datetime | None = None
        self.first_server_time: dt.datetime | None = None
        self.pages = 0

    def see(self, page: Page[Any], stamps: Iterable[dt.datetime | None]) -> None:
        self.pages += 1
        if self.first_server_time is None:
            self.first_server_time = page.server_time
        for stamp in stamps:
            if stamp is not None and (self.newest is None or stamp > self.newest):
                self.newest = stamp

    def value(self, previous: dt.datetime | None) -> dt.datetime | None:
        mark = self.newest
        if mark is None:
            # Nothing changed: keep the old mark, or start from Xero's clock.
            return previous if previous is not None else self.first_server_time
        if self.pages > 1 and self.first_server_time is not None:
            mark = min(mark, self.first_server_time)
        if previous is not None:
            mark = max(mark, previous)
        return mark


@dataclass
class Progress:
    """A full sync's progress, in its sync state and told to a callback."""

    callback: ProgressCallback | None
    state: SyncState
    done: int = 0
    totals: dict[str, int] = field(default_factory=dict)

    def expect(self, phase: str, count: int | None) -> None:
        if count is not None and phase not in self.totals:
            self.totals[phase] = count
            self.state.progress_total = sum(self.totals.values())

    def add(self, count: int) -> None:
        self.done += count
        self.state.progress_done = self.done
        if self.callback is not None:
            self.callback(self.done, self.state.progress_total)


def _gated(pages: Iterable[Page[Any]], gate: Callable[[], None], page_size: int) -> Any:
    """``pages``, calling ``gate`` before each is asked for (not after the last page of a
    query, when no call follows)."""
    source = iter(pages)
    last: Page[Any] | None = None
    while True:
        if last is None or not last.is_last(page_size):
            gate()
        try:
            last = next(source)
        except StopIteration:
            return
        yield last


class SyncRun:
    """One sync of one organisation: Xero's pages into its cache.

    :raises LookupError: there is no such organisation.
    """

    def __init__(
        self,
        session: Session,
        organisation: Organisation | int,
        client: XeroClient,
        kind: SyncKind,
        page_size: int,
    ) -> None:
        organisation_id = organisation if isinstance(organisation, int) else organisation.id
        found = session.get(Organisation, organisation_id)
        if found is None:
            raise LookupError(f"No organisation {organisation_id} in the cache.")
        self.session = session
        self.organisation = found
        self.org_id, self.tenant_id = found.id, found.tenant_id
        self.client = client
        self.page_size = page_size
        self.writer = CacheWriter(session, found.id)
        self.result = SyncResult(kind)
        self._sent_before = client.counter.count(self.tenant_id).sent

    def read(
        self,
        kind: RecordKind,
        pages: Iterable[Page[Any]],
        *,
        mark: Watermark | None = None,
        seen: set[str] | None = None,
        named: set[str] | None = None,
        progress: Progress | None = None,
        checkpoint: Callable[[Page[Any]], None] | None = None,
        gate: Callable[[], None] | None = None,
    ) -> None:
        """Store every page of ``pages``, committing each.

        :param mark: moved by each record's ``updated_at``.
        :param seen: gets the Xero ID of every record read.
        :param named: gets the ContactIDs the documents name.
        :param progress: told how many records to expect and how many were stored.
        :param checkpoint: called with each page before it is stored, so what it records
            (where a full sync resumes) is committed with the page, never without it.
        :param gate: called before each page is asked of Xero (not after the last one); it
            may raise to stop the read there, every page before it being stored.
        """
        key_of = KINDS[kind].key_of
        # Holds no connection while Xero answers: the transaction ends before each call
        # (here before the first; each stored page commits before the next).
        self.session.commit()
        if gate is not None:
            pages = _gated(pages, gate, self.page_size)
        for page in pages:
            if progress is not None:
                progress.expect(kind, page.item_count)
            if mark is not None:
                mark.see(page, (r.updated_at for r in page))
            if seen is not None:
                seen.update(key_of(r) for r in page)
            if named is not None:
                named.update(r.contact_id for r in page if r.contact_id)
            if checkpoint is not None:
                checkpoint(page)
            stored = self.writer.write(kind, page)
            setattr(self.result, kind, getattr(self.result, kind) + stored)
            if progress is not None:
                progress.add(stored)

    def all_contacts(
        self,
        mark: Watermark,
        progress: Progress | None = None,
        *,
        first_page: int = 1,
        checkpoint: Callable[[Page[Any]], None] | None = None,
        gate: Callable[[], None] | None = None,
    ) -> None:
        """Read every contact (archived ones too, so merges show) and remove the cached
        contacts Xero no longer has (only when this read saw every page: a read resumed at
        ``first_page`` > 1 leaves that to the next reconciliation)."""
        seen: set[str] = set()
        pages = self.client.iter_contact_pages(
            self.tenant_id,
            include_archived=True,
            order="ContactID ASC",
            page_size=self.page_size,
            first_page=first_page,
        )
        self.read(
            "contacts",
            pages,
            mark=mark,
            seen=seen,
            progress=progress,
            checkpoint=checkpoint,
            gate=gate,
        )
        if first_page == 1:
            self.result.removed_contacts = self.writer.remove_contacts_except(seen)

    def contacts_by_id(self, contact_ids: Sequence[str]) -> None:
        """Read exactly these contacts."""
        pages = self.client.iter_contact_pages(
            self.tenant_id, ids=contact_ids, include_archived=True, page_size=self.page_size
        )
        self.read("contacts", pages)

    def missing_contacts(self, named: Iterable[str]) -> None:
        """Read the contacts in ``named`` that the cache does not hold yet."""
        missing = self.writer.unknown_contact_ids(named)
        if missing:
            self.contacts_by_id(missing)

    def done(self, fresh_at: dt.datetime | None = None) -> SyncResult:
        """The result, with the Xero calls made since the run began. Records the cache could
        not store are counted in the organisation's sync state, with the last reason, for
        the health page."""
        sent = self.client.counter.count(self.tenant_id).sent
        self.result.calls = sent - self._sent_before
        self.result.fresh_at = fresh_at
        skipped = self.writer.skipped
        self.result.skipped = len(skipped)
        if skipped:
            logger.warning(
                "%s of organisation %s: %s records could not be stored (%s)",
                self.result.kind,
                self.org_id,
                len(skipped),
                skipped[-1],
            )
            state = self.session.get(SyncState, self.org_id)
            if state is not None:
                state.skipped_records = len(skipped)
                state.skipped_reason = skipped[-1]
                state.skipped_at = utcnow()
                self.session.commit()
        return self.result

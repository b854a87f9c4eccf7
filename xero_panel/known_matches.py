"""Matches worked out before, reused while nothing they were worked out from has changed.

A record's match (:func:`~xero_panel.matching.match_record`) depends on the record's keys
(its emails and names, from the host's record loader), the organisations that feed the
panel, their cached contacts and which of them have sales invoices, and the record's links.
:class:`MatchStamp` names all of these: the record and its keys; each organisation with its
``match_version`` (counted up in the transaction of every cache write that can change a
match) and the start of its first full sync (a cache deleted and synced again counts from 0
anew); and the CRM account's ``links_version`` (counted up by every link and unlink). A view
reads the stamp with the account's state in one statement
(:mod:`xero_panel.account_state`), so a kept match costs no statement of its own, and a
change makes a new stamp: nothing ever needs deleting, old stamps age out.

Kept per process (:class:`KnownMatches`, least recently used first out, at most
:data:`DEFAULT_MAX_ENTRIES` entries of about 1.2 KB each with their stamps, measured with
tracemalloc: about 6 MB); :class:`NoKnownMatches` when the fragment cache is off. Plain
Python (no Flask).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from .matching import Match

__all__ = ["DEFAULT_MAX_ENTRIES", "KnownMatches", "MatchStamp", "NoKnownMatches"]

#: How many matches a process keeps at most (about 6 MB, at about 1.2 KB each).
DEFAULT_MAX_ENTRIES = 5000


@dataclass(frozen=True)
class MatchStamp:
    """Everything a record's match was worked out from (see the module's docs).

    :ivar organisations: each organisation that feeds the panel, in the panel's order: its
        id, the start of its first full sync and its ``match_version`` (both ``None``: no
        sync state yet).
    """

    crm_account: str
    record_type: str
    record_id: str
    emails: tuple[str, ...]
    names: tuple[str, ...]
    organisations: tuple[tuple[object, ...], ...]
    links_version: int


class NoKnownMatches:
    """Nothing kept: every view works its match out (the fragment cache is off)."""

    def get(self, stamp: MatchStamp) -> Match | None:
        return None

    def put(self, stamp: MatchStamp, match: Match) -> None:
        return None


class KnownMatches(NoKnownMatches):
    """At most ``max_entries`` matches of this process, the least recently used going first.
    Thread-safe."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[MatchStamp, Match] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stamp: MatchStamp) -> Match | None:
        with self._lock:
            match = self._entries.get(stamp)
            if match is not None:
                self._entries.move_to_end(stamp)
            return match

    def put(self, stamp: MatchStamp, match: Match) -> None:
        with self._lock:
            self._entries[stamp] = match
            self._entries.move_to_end(stamp)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

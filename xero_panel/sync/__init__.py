"""The sync: Xero's data into the local cache, and when to fetch it (Flask-free).

``engine`` (full, incremental, targeted, by-ID and reconcile syncs) reads pages through
``reading`` and stores them with ``cache_writer``; ``state`` keeps each organisation's sync
state and the :class:`~xero_panel.sync.state.CacheStatus` the panel shows; ``scheduler``
decides when Xero is called and ``job_runs`` runs what it starts, in a thread or an RQ
worker (``runners``).
"""

from __future__ import annotations

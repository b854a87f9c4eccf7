"""The demo CRM that embeds the Xero invoice panel; ``demo_app.py`` is its entry point.

One module per part, each importing only those listed before it:

* :mod:`demo.models`: the CRM's tables (CRM accounts, users, accounts, contacts, deals).
* :mod:`demo.sessions`: sign-ins that *Sign out* ends for good, and the wait after repeated
  failed sign-ins.
* :mod:`demo.hooks`: the plugin and what the CRM tells it (records, CRM account, admin).
* :mod:`demo.seeding`: the demo users and the records that mirror the Xero seed.
* :mod:`demo.routes` and :mod:`demo.errors`: the CRM's pages and its error pages.
* :mod:`demo.app`: :func:`~demo.app.create_app`, the app factory.
* :mod:`demo.cli`: ``python demo_app.py``.
* :mod:`demo.live`: the demo and the emulator served in threads, and Chromium to drive them,
  for the browser tests and ``scripts/screenshots.py``.

Nothing here starts a server or touches a database at import time.
"""

from __future__ import annotations

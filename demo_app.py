"""A small demo CRM that embeds the Xero invoice panel, running offline on the Xero emulator.

Run it with ``python demo_app.py`` (``--help`` lists the options): it starts the CRM and the
Xero emulator, rebuilds the demo database, and prints both URLs and the logins.

Two CRM accounts (tenants of the CRM) share the app:

* **Acme**: ``admin@acme.test`` (an admin) and ``rep@acme.test`` (a sales rep). Acme starts
  connected to the seed's first Xero organisation.
* **Globex**: ``admin@globex.test`` (an admin). Globex starts not connected, so an admin can
  try the install flow (*Settings > Marketplace Apps > Xero*) with the seed's second
  organisation.

The password is ``demo`` for every user. The CRM's accounts, contacts and deals mirror the
Xero contacts of the account's organisation, plus a few records that match nothing in Xero.

The code lives in the ``demo`` package (one module per part; see its docstring); this file is
the entry point and names what tests and scripts use. Tests build the app with
:func:`create_app` and a seed, then call :func:`rebuild_database`; nothing here starts a
server or touches a database at import time.
"""

from __future__ import annotations

import sys

from demo.app import create_app
from demo.cli import build_arg_parser, main
from demo.hooks import current_crm_account, is_admin, load_record, panel
from demo.models import Account, Contact, CrmAccount, Deal, User, db
from demo.seeding import DEMO_PASSWORD, DEMO_USERS, connect_acme, rebuild_database

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "Account",
    "Contact",
    "CrmAccount",
    "Deal",
    "User",
    "build_arg_parser",
    "connect_acme",
    "create_app",
    "current_crm_account",
    "db",
    "is_admin",
    "load_record",
    "main",
    "panel",
    "rebuild_database",
]

if __name__ == "__main__":
    main(sys.argv[1:])

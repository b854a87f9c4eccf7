"""A local Xero for the demo, the tests and host applications' own tests.

It speaks Xero's OAuth 2.0 (login and consent page, token, revocation), ``/connections`` and
the Accounting API's read endpoints in Xero's own JSON, with Xero's rate limits, error bodies
and signed webhooks, seeded from JSON. See ``docs/emulator.md``.

.. code-block:: python

    from xero_emulator import Emulator, sample_seed

    emu = Emulator(sample_seed(), control_enabled=True)
    server = emu.serve(port=0)
    tokens = emu.issue_tokens(user_email="owner@kiwi-garden.test")
    ...
    server.shutdown()

The core imports werkzeug and markupsafe, never Flask.
"""

from __future__ import annotations

# flit reads the emulator's version from this line; it is released with xero-panel, at the
# same version (tests/test_packaging.py).
__version__ = "0.2.0"

from .backend import CONTROL_TOKEN_ENV, CONTROL_TOKEN_HEADER
from .emulator import Emulator
from .identity import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from .sample_seed import sample_seed
from .scopes import DEFAULT_SCOPE
from .seed import SeedError, load_seed
from .server import EmulatorServer
from .store import ControlError
from .webhooks import sign as sign_webhook

__all__ = [
    "CONTROL_TOKEN_ENV",
    "CONTROL_TOKEN_HEADER",
    "DEFAULT_SCOPE",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "ControlError",
    "Emulator",
    "EmulatorServer",
    "SeedError",
    "__version__",
    "load_seed",
    "sample_seed",
    "sign_webhook",
]

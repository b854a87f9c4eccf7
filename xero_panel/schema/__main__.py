"""``python -m xero_panel.schema ...`` (see :func:`xero_panel.schema.commands.main`).

A package's ``__main__`` module, so that ``-m`` runs this file and not a second copy of
``xero_panel.schema``, which the package's own import has loaded already (runpy warned
about that on every run).
"""

from __future__ import annotations

import sys

from .commands import main

sys.exit(main())

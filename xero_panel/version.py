"""The release of xero-panel.

Written here only: the wheel and the sdist take it from this line (``[tool.hatch.version]``
in pyproject.toml), ``xero_panel.__version__`` is this, the fragment cache's key holds it
(a source checkout included), and the emulator's distribution, released with it, carries
the same (tests/test_packaging.py checks all of them).
"""

from __future__ import annotations

__version__ = "0.2.0"

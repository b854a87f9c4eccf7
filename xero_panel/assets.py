"""The panel's bundled static assets: the check that htmx is really there.

htmx is not committed: a build (``python -m build``, ``pip install .``) copies it from
npm's install (``node_modules/htmx.org``, pinned by package-lock.json) into
``static/xero_panel/htmx.min.js``. A package installed some other way can lack it, and the
panel would then say "Loading Xero invoices..." forever; :func:`check_bundled_htmx` makes
``init_app`` fail instead, naming the fix. Flask-free.
"""

from __future__ import annotations

from pathlib import Path

#: The copy of htmx the blueprint serves when ``XERO_PANEL_HTMX_URL`` is ``""``.
BUNDLED_HTMX = Path(__file__).resolve().parent / "static" / "xero_panel" / "htmx.min.js"


def check_bundled_htmx(htmx_url: str | None) -> None:
    """Refuse to start when the panel would load the bundled htmx and it is missing.

    :param htmx_url: the ``XERO_PANEL_HTMX_URL`` setting as read by
        :func:`xero_panel.config.read_settings`: ``""`` means the bundled copy, a URL or
        path means htmx comes from elsewhere, ``None`` means the host page loads htmx.
    :raises RuntimeError: the bundled copy is needed and missing; the message says how
        to get it or how to load htmx from elsewhere.
    """
    if htmx_url != "" or BUNDLED_HTMX.is_file():
        return
    raise RuntimeError(
        f"xero-panel's bundled htmx is missing ({BUNDLED_HTMX}), so the panel could not"
        " load. Reinstall xero-panel from a built wheel (python -m build makes one with"
        " htmx); in a clone of the repository, run 'npm ci && python scripts/copy_htmx.py';"
        " or set XERO_PANEL_HTMX_URL to a URL that serves htmx 2, or to 'none' when the"
        " host page loads htmx itself."
    )

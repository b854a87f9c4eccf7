"""The settings of the cache of rendered panel fragments, their defaults and their checks
(kept out of :mod:`~xero_panel.config`, which reads them through
:func:`read_fragment_settings`). What the cache keeps and when it lets go: docs/panel.md,
"The fragment cache".

:meta private:
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .setting_checks import whole_number

__all__ = ["FRAGMENT_DEFAULTS", "FragmentSettings", "read_fragment_settings"]

FRAGMENT_DEFAULTS: dict[str, Any] = {
    #: Keep each rendered panel and serve it again, unchanged, while nothing it shows has
    #: changed (the record's data and pins, the view, the viewer's locale and rights, the
    #: day). ``False`` renders every panel afresh.
    "XERO_PANEL_FRAGMENT_CACHE": True,
    #: Without Redis: the most bytes the rendered panels kept in each process may take
    #: (their text and keys, counted as stored); the least recently served go first.
    "XERO_PANEL_FRAGMENT_CACHE_BYTES": 32 * 1024 * 1024,
    #: Seconds a rendered panel is kept at most (in Redis, its expiry; in process, its age
    #: limit). A change of the data never waits for it: it changes the key.
    "XERO_PANEL_FRAGMENT_CACHE_TTL": 3600,
}

#: The smallest memory bound accepted: one panel of 25 rows is about 43 KB.
MINIMUM_BYTES = 256 * 1024


@dataclass(frozen=True)
class FragmentSettings:
    """The fragment cache's settings of one app.

    :meta private:
    """

    enabled: bool = True
    max_bytes: int = 32 * 1024 * 1024
    ttl: int = 3600


def read_fragment_settings(config: Mapping[str, Any]) -> FragmentSettings:
    """Read and check the fragment cache's keys of a Flask config.

    :raises ValueError: a value is not valid; the message names the key.
    """

    def value(key: str) -> Any:
        return config.get(key, FRAGMENT_DEFAULTS[key])

    key = "XERO_PANEL_FRAGMENT_CACHE"
    word = str(value(key)).strip().lower()
    if word not in ("true", "1", "on", "false", "0", "off"):
        raise ValueError(f"{key} must be true or false (or 1/0, on/off), not {value(key)!r}.")
    return FragmentSettings(
        enabled=word in ("true", "1", "on"),
        max_bytes=whole_number(
            "XERO_PANEL_FRAGMENT_CACHE_BYTES",
            value("XERO_PANEL_FRAGMENT_CACHE_BYTES"),
            minimum=MINIMUM_BYTES,
        ),
        ttl=whole_number(
            "XERO_PANEL_FRAGMENT_CACHE_TTL", value("XERO_PANEL_FRAGMENT_CACHE_TTL"), minimum=1
        ),
    )

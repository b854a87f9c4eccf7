"""The optional extras (``xero-panel[redis]``, ``xero-panel[postgres]``): importing what
they install, or saying which extra to install when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import sqlalchemy as sa

__all__ = ["MissingExtra", "create_engine", "require"]

#: The extra that installs each module the plugin may import.
EXTRA_OF = {
    "redis": "redis",
    "rq": "redis",
    "psycopg": "postgres",
    "psycopg2": "postgres",
}


class MissingExtra(RuntimeError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, module: str, why: str) -> None:
        extra = EXTRA_OF.get(module.split(".")[0], module)
        super().__init__(
            f"{why} needs the Python package {module!r}, which is not installed:"
            f' pip install "xero-panel[{extra}]"'
        )
        self.module, self.extra = module, extra


def require(module: str, why: str) -> ModuleType:
    """Import ``module`` (one the extras install).

    :param why: what needs it, for the message (``"XERO_PANEL_REDIS_URL"``).
    :raises MissingExtra: it is not installed.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if (error.name or module).split(".")[0] != module.split(".")[0]:
            raise
        raise MissingExtra(module, why) from error


def create_engine(url: str, **options: Any) -> sa.Engine:
    """SQLAlchemy's ``create_engine``, naming the extra when the URL's driver is missing
    (``postgresql+psycopg://`` without ``xero-panel[postgres]``)."""
    try:
        return sa.create_engine(url, **options)
    except ModuleNotFoundError as error:
        name = (error.name or "").split(".")[0]
        if name not in EXTRA_OF:
            raise
        raise MissingExtra(name, f"the database URL {sa.make_url(url).drivername}://...") from error

"""The plugin's declarative base, shared by every table of :mod:`xero_panel.models`."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from ..column_types import Money as Money
from ..column_types import UTCDateTime as UTCDateTime

__all__ = ["Base", "Money", "UTCDateTime"]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The plugin's declarative base; its tables are mirrored into the host's metadata.

    :meta private:
    """

    metadata = MetaData(naming_convention=_NAMING)

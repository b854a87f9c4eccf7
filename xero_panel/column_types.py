"""The column types of the plugin's tables: UTC datetimes and money in whole cents.

Plain SQLAlchemy; :mod:`xero_panel.models` uses and re-exports them, so
``xero_panel.models.Money`` (as a migration may name it) keeps working.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every database (SQLite keeps no offset).

    :meta private:
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given: xero-panel stores UTC datetimes only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Money(TypeDecorator[Decimal]):
    """An amount with two decimal places, stored as whole cents so that sums are exact
    on SQLite and PostgreSQL alike (Xero's amounts have two decimal places).

    :meta private:
    """

    impl = BigInteger
    cache_ok = True
    _CENT = Decimal("0.01")

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return int(Decimal(value).quantize(self._CENT, rounding=ROUND_HALF_EVEN) * 100)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(self._CENT)

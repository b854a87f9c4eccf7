"""What a CRM account keeps about its own records: pinned invoices (:class:`Pin`) and links
to Xero contacts made by hand (:class:`RecordLink`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from ..clock import utcnow
from .base import Base, UTCDateTime

__all__ = ["Pin", "RecordLink"]


class _RecordScoped:
    """What :class:`Pin` and :class:`RecordLink` share: a row of one CRM record (in one CRM
    account) naming one thing (:attr:`_target_column`) in one Xero organisation. The
    subclass's columns sort between ``organisation_id`` and ``created_at``, as created.

    :meta private:
    """

    _target_column: ClassVar[str]

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-1)
    crm_account: Mapped[str] = mapped_column(String(128), sort_order=-1)
    record_type: Mapped[str] = mapped_column(String(20), sort_order=-1)
    record_id: Mapped[str] = mapped_column(String(128), sort_order=-1)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("xero_panel_organisation.id", ondelete="CASCADE"), sort_order=-1
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, sort_order=1)

    @classmethod
    def of_record(
        cls,
        crm_account: str | ColumnElement[str],
        record_type: str | ColumnElement[str],
        record_id: str | ColumnElement[str],
        organisation_ids: Any,
    ) -> tuple[ColumnElement[bool], ...]:
        """The conditions that select a record's rows in some organisations."""
        return (
            cls.crm_account == crm_account,
            cls.record_type == record_type,
            cls.record_id == record_id,
            cls.organisation_id.in_(list(organisation_ids)),
        )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        record = ("crm_account", "record_type", "record_id")
        return (
            UniqueConstraint(*record, "organisation_id", cls._target_column),
            Index(f"ix_{cls.__tablename__}_record", *record),  # type: ignore[attr-defined]
        )


class Pin(_RecordScoped, Base):
    """An invoice pinned to a CRM record, shared by everyone in that CRM account."""

    __tablename__ = "xero_panel_pin"
    _target_column = "xero_invoice_id"

    xero_invoice_id: Mapped[str] = mapped_column(String(64))
    pinned_by: Mapped[str | None] = mapped_column(String(320))


class RecordLink(_RecordScoped, Base):
    """An explicit link from a CRM record to a Xero contact; it overrides matching."""

    __tablename__ = "xero_panel_record_link"
    _target_column = "contact_id"

    contact_id: Mapped[str] = mapped_column(String(64))
    linked_by: Mapped[str | None] = mapped_column(String(320))

"""The demo CRM's own tables, on the same ``db`` the plugin gets."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, TypeVar

from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Column, ForeignKey, Numeric, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

__all__ = [
    "Account",
    "Contact",
    "CrmAccount",
    "Deal",
    "EndedSession",
    "Record",
    "Role",
    "User",
    "db",
    "deal_contacts",
]

Role = Literal["admin", "rep"]

db = SQLAlchemy()


class CrmAccount(db.Model):  # type: ignore[name-defined,misc]
    """A tenant of the CRM (a company using it): Acme or Globex."""

    __tablename__ = "demo_crm_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """A CRM user; belongs to one CRM account and sees only its records."""

    __tablename__ = "demo_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    crm_account_id: Mapped[int] = mapped_column(ForeignKey("demo_crm_account.id"))
    crm_account: Mapped[CrmAccount] = relationship()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


deal_contacts = Table(
    "demo_deal_contact",
    db.metadata,
    Column("deal_id", ForeignKey("demo_deal.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("demo_contact.id", ondelete="CASCADE"), primary_key=True),
)


class Account(db.Model):  # type: ignore[name-defined,misc]
    """A company in the CRM."""

    __tablename__ = "demo_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255))
    crm_account_id: Mapped[int] = mapped_column(ForeignKey("demo_crm_account.id"), index=True)
    contacts: Mapped[list[Contact]] = relationship(back_populates="account", order_by="Contact.id")
    deals: Mapped[list[Deal]] = relationship(back_populates="account", order_by="Deal.id")


class Contact(db.Model):  # type: ignore[name-defined,misc]
    """A person in the CRM, at an account."""

    __tablename__ = "demo_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(120))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("demo_account.id"))
    crm_account_id: Mapped[int] = mapped_column(ForeignKey("demo_crm_account.id"), index=True)
    account: Mapped[Account | None] = relationship(back_populates="contacts")
    deals: Mapped[list[Deal]] = relationship(
        secondary=deal_contacts, back_populates="contacts", order_by="Deal.id"
    )


class Deal(db.Model):  # type: ignore[name-defined,misc]
    """An opportunity on an account, with the contacts involved."""

    __tablename__ = "demo_deal"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    stage: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    account_id: Mapped[int] = mapped_column(ForeignKey("demo_account.id"))
    crm_account_id: Mapped[int] = mapped_column(ForeignKey("demo_crm_account.id"), index=True)
    account: Mapped[Account] = relationship(back_populates="deals")
    contacts: Mapped[list[Contact]] = relationship(
        secondary=deal_contacts, back_populates="deals", order_by="Contact.id"
    )


#: One of the CRM's record types (the ones the panel is shown on).
Record = TypeVar("Record", Account, Contact, Deal)


class EndedSession(db.Model):  # type: ignore[name-defined,misc]
    """A sign-in ended by *Sign out*: its session id is refused from then on, so a copy of
    the (signed, client-side) session cookie stops working too."""

    __tablename__ = "demo_ended_session"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)

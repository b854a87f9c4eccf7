"""Reading, storing and removing one CRM account's Xero connection and its cached data.

Plain SQLAlchemy: every function takes the session it works in, so it runs in a request,
a CLI command or a worker alike.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import (
    Connection,
    ContactEmail,
    Invoice,
    Organisation,
    Payment,
    Pin,
    RecordLink,
    SyncState,
    XeroContact,
)


def get_connection(session: Session, crm_account: str) -> Connection | None:
    """The CRM account's connection, or None when it never connected (or removed it)."""
    return session.scalars(select(Connection).where(Connection.crm_account == crm_account)).first()


def selected_organisations(session: Session, crm_account: str) -> list[Organisation]:
    """The organisations of the CRM account's active connection that feed its panel."""
    return list(
        session.scalars(
            select(Organisation)
            .join(Connection)
            .where(
                Connection.crm_account == crm_account,
                Connection.status == "active",
                Organisation.selected.is_(True),
            )
            .order_by(Organisation.name, Organisation.id)
        )
    )


def delete_account_data(session: Session, crm_account: str) -> None:
    """Delete the CRM account's connection, tokens and every cached row, pins and links
    included. Explicit deletes, table by table, because SQLite databases usually do not
    enforce ``ON DELETE CASCADE``. The caller commits.
    """
    organisation_ids = (
        select(Organisation.id).join(Connection).where(Connection.crm_account == crm_account)
    )
    invoice_ids = select(Invoice.id).where(Invoice.organisation_id.in_(organisation_ids))
    contact_ids = select(XeroContact.id).where(XeroContact.organisation_id.in_(organisation_ids))
    session.execute(delete(Pin).where(Pin.crm_account == crm_account))
    session.execute(delete(RecordLink).where(RecordLink.crm_account == crm_account))
    session.execute(delete(Payment).where(Payment.invoice_pk.in_(invoice_ids)))
    session.execute(delete(Invoice).where(Invoice.organisation_id.in_(organisation_ids)))
    session.execute(delete(ContactEmail).where(ContactEmail.contact_pk.in_(contact_ids)))
    session.execute(delete(XeroContact).where(XeroContact.organisation_id.in_(organisation_ids)))
    session.execute(delete(SyncState).where(SyncState.organisation_id.in_(organisation_ids)))
    session.execute(delete(Organisation).where(Organisation.id.in_(organisation_ids)))
    session.execute(delete(Connection).where(Connection.crm_account == crm_account))

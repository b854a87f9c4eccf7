"""The schema of xero-panel 0.1: connections, organisations, the cache, pins and links.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Names of constraints and indexes go through ``op.f`` so that PostgreSQL shortens the long
ones exactly as ``db.create_all()`` does (to 63 characters, with a hash). A database that
``db.create_all()`` made with 0.1 is adopted at this revision (see
``xero_panel.schema``). Column types are spelled out (``DateTime(timezone=True)`` for the
models' UTC datetimes, ``BigInteger`` for money in whole cents) so that later changes to the
models never change what this revision creates.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _utc(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _money(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def _string(name: str, length: int, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _parent(table: str, column: str, parent: str) -> list[SchemaItem]:
    """An integer column referring to ``parent``'s id; deleting the parent deletes the row."""
    return [
        sa.Column(column, sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            [column],
            [f"{parent}.id"],
            name=op.f(f"fk_{table}_{column}_{parent}"),
            ondelete="CASCADE",
        ),
    ]


def _organisation_id(table: str) -> list[SchemaItem]:
    return _parent(table, "organisation_id", "xero_panel_organisation")


def _pk(table: str, column: str = "id") -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(column, name=op.f(f"pk_{table}"))


def _crm_record() -> list[SchemaItem]:
    """The CRM record a pin or a link belongs to."""
    return [
        _string("crm_account", 128),
        _string("record_type", 20),
        _string("record_id", 128),
    ]


def _create_crm_record_table(table: str, xero_id: str, by: str) -> None:
    """Pins and record links: one Xero id per CRM record and organisation, and who set it."""
    op.create_table(
        table,
        _id(),
        *_crm_record(),
        *_organisation_id(table),
        _string(xero_id, 64),
        _string(by, 320, nullable=True),
        _utc("created_at", nullable=False),
        _pk(table),
        sa.UniqueConstraint(
            "crm_account",
            "record_type",
            "record_id",
            "organisation_id",
            xero_id,
            name=op.f(f"uq_{table}_crm_account"),
        ),
    )
    op.create_index(op.f(f"ix_{table}_record"), table, ["crm_account", "record_type", "record_id"])


def upgrade() -> None:
    op.create_table(
        "xero_panel_connection",
        _id(),
        _string("crm_account", 128),
        _string("status", 20),
        sa.Column("token_ciphertext", sa.Text(), nullable=True),
        _utc("access_expires_at"),
        sa.Column("scopes", sa.Text(), nullable=False),
        _string("connected_by_email", 320, nullable=True),
        _string("connected_by_name", 255, nullable=True),
        _string("xero_user_id", 64, nullable=True),
        _utc("created_at", nullable=False),
        _utc("updated_at", nullable=False),
        _utc("activated_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _pk("xero_panel_connection"),
        sa.UniqueConstraint("crm_account", name=op.f("uq_xero_panel_connection_crm_account")),
    )
    op.create_table(
        "xero_panel_webhook_event",
        _id(),
        _string("tenant_id", 64),
        _string("event_category", 20),
        _string("event_type", 20),
        _string("resource_id", 64),
        _string("event_date", 40),
        _utc("received_at", nullable=False),
        _utc("processed_at"),
        _pk("xero_panel_webhook_event"),
        sa.UniqueConstraint(
            "tenant_id",
            "event_category",
            "resource_id",
            "event_date",
            name=op.f("uq_xero_panel_webhook_event_tenant_id"),
        ),
    )
    op.create_index(
        op.f("ix_xero_panel_webhook_event_received_at"), "xero_panel_webhook_event", ["received_at"]
    )
    op.create_table(
        "xero_panel_organisation",
        _id(),
        *_parent("xero_panel_organisation", "connection_id", "xero_panel_connection"),
        _string("tenant_id", 64),
        _string("xero_connection_id", 64, nullable=True),
        _string("name", 255),
        _string("short_code", 32, nullable=True),
        _string("base_currency", 3, nullable=True),
        _string("timezone", 64),
        sa.Column("selected", sa.Boolean(), nullable=False),
        _utc("created_at", nullable=False),
        _pk("xero_panel_organisation"),
        sa.UniqueConstraint(
            "connection_id", "tenant_id", name=op.f("uq_xero_panel_organisation_connection_id")
        ),
    )
    op.create_index(
        op.f("ix_xero_panel_organisation_connection_id"),
        "xero_panel_organisation",
        ["connection_id"],
    )
    op.create_index(
        op.f("ix_xero_panel_organisation_tenant_id"), "xero_panel_organisation", ["tenant_id"]
    )
    op.create_table(
        "xero_panel_contact",
        _id(),
        *_organisation_id("xero_panel_contact"),
        _string("contact_id", 64),
        _string("name", 255),
        _string("name_key", 255),
        _string("email", 320, nullable=True),
        _string("status", 20),
        sa.Column("is_customer", sa.Boolean(), nullable=False),
        sa.Column("is_supplier", sa.Boolean(), nullable=False),
        _string("merged_to_contact_id", 64, nullable=True),
        _utc("updated_at"),
        _pk("xero_panel_contact"),
        sa.UniqueConstraint(
            "organisation_id", "contact_id", name=op.f("uq_xero_panel_contact_organisation_id")
        ),
    )
    op.create_index(
        op.f("ix_xero_panel_contact_name_key"),
        "xero_panel_contact",
        ["organisation_id", "name_key"],
    )
    op.create_table(
        "xero_panel_invoice",
        _id(),
        *_organisation_id("xero_panel_invoice"),
        _string("xero_id", 64),
        _string("kind", 20),
        _string("xero_type", 20),
        _string("number", 255),
        _string("reference", 255, nullable=True),
        _string("contact_id", 64),
        _string("status", 20),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        _string("currency", 3),
        _money("total"),
        _money("balance"),
        _money("amount_paid"),
        _money("amount_credited"),
        sa.Column("fully_paid_on", sa.Date(), nullable=True),
        _utc("updated_at"),
        _pk("xero_panel_invoice"),
        sa.UniqueConstraint(
            "organisation_id", "xero_id", name=op.f("uq_xero_panel_invoice_organisation_id")
        ),
    )
    op.create_index(
        op.f("ix_xero_panel_invoice_panel"),
        "xero_panel_invoice",
        ["organisation_id", "contact_id", "date", "number"],
    )
    _create_crm_record_table("xero_panel_pin", "xero_invoice_id", "pinned_by")
    _create_crm_record_table("xero_panel_record_link", "contact_id", "linked_by")
    op.create_table(
        "xero_panel_sync_state",
        *_organisation_id("xero_panel_sync_state"),
        _string("status", 20),
        _string("phase", 40, nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        _utc("full_sync_started_at"),
        _utc("full_sync_completed_at"),
        _utc("fresh_at"),
        _utc("invoices_modified_since"),
        _utc("contacts_modified_since"),
        _utc("credit_notes_modified_since"),
        _utc("reconciled_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _utc("last_error_at"),
        _pk("xero_panel_sync_state", "organisation_id"),
    )
    op.create_table(
        "xero_panel_contact_email",
        _id(),
        *_parent("xero_panel_contact_email", "contact_pk", "xero_panel_contact"),
        *_organisation_id("xero_panel_contact_email"),
        _string("email_key", 320),
        _pk("xero_panel_contact_email"),
    )
    op.create_index(
        op.f("ix_xero_panel_contact_email_contact_pk"), "xero_panel_contact_email", ["contact_pk"]
    )
    op.create_index(
        op.f("ix_xero_panel_contact_email_key"),
        "xero_panel_contact_email",
        ["organisation_id", "email_key"],
    )
    op.create_table(
        "xero_panel_payment",
        _id(),
        *_parent("xero_panel_payment", "invoice_pk", "xero_panel_invoice"),
        _string("payment_id", 64),
        sa.Column("date", sa.Date(), nullable=False),
        _money("amount"),
        _string("reference", 255, nullable=True),
        _pk("xero_panel_payment"),
    )
    op.create_index(op.f("ix_xero_panel_payment_invoice_pk"), "xero_panel_payment", ["invoice_pk"])


def downgrade() -> None:
    for table in (
        "xero_panel_payment",
        "xero_panel_contact_email",
        "xero_panel_sync_state",
        "xero_panel_record_link",
        "xero_panel_pin",
        "xero_panel_invoice",
        "xero_panel_contact",
        "xero_panel_organisation",
        "xero_panel_webhook_event",
        "xero_panel_connection",
    ):
        op.drop_table(table)

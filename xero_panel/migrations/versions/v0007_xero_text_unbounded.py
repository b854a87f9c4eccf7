"""Xero's text stored whole, and the records a sync could not store counted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Xero documents no length for most of its text, and one organisation's ``ShortCode`` over
32 characters or one invoice's ``CurrencyCode`` over 3 broke connecting or every refresh on
PostgreSQL. These columns become ``TEXT`` (on PostgreSQL a change of type without rewriting
the rows; SQLite rebuilds the tables): the organisation's name, short code, base currency,
country and timezone; who connected (name, email); a contact's name, name key, email and
status; the contact emails' key; a document's type, number, reference, status and currency;
a payment's reference. ``xero_panel_sync_state`` gains ``skipped_records``,
``skipped_reason`` and ``skipped_at``. The downgrade puts the old lengths back (and fails on
PostgreSQL if a longer value was stored since, rather than cut it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

#: table -> (column, length before, nullable)
WIDENED: dict[str, list[tuple[str, int, bool]]] = {
    "xero_panel_connection": [("connected_by_email", 320, True), ("connected_by_name", 255, True)],
    "xero_panel_organisation": [
        ("name", 255, False),
        ("short_code", 32, True),
        ("base_currency", 3, True),
        ("country_code", 2, True),
        ("timezone", 64, False),
    ],
    "xero_panel_contact": [
        ("name", 255, False),
        ("name_key", 255, False),
        ("email", 320, True),
        ("status", 20, False),
    ],
    "xero_panel_contact_email": [("email_key", 320, False)],
    "xero_panel_invoice": [
        ("xero_type", 20, False),
        ("number", 255, False),
        ("reference", 255, True),
        ("status", 20, False),
        ("currency", 3, False),
    ],
    "xero_panel_payment": [("reference", 255, True)],
}


def upgrade() -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for column, length, nullable in columns:
                batch.alter_column(
                    column,
                    existing_type=sa.String(length),
                    type_=sa.Text(),
                    existing_nullable=nullable,
                )
    with op.batch_alter_table("xero_panel_sync_state") as batch:
        batch.add_column(
            sa.Column("skipped_records", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("skipped_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("skipped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("xero_panel_sync_state") as batch:
        batch.drop_column("skipped_at")
        batch.drop_column("skipped_reason")
        batch.drop_column("skipped_records")
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for column, length, nullable in columns:
                batch.alter_column(
                    column,
                    existing_type=sa.Text(),
                    type_=sa.String(length),
                    existing_nullable=nullable,
                )

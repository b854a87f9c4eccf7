"""Xero's expected payment date of an invoice (``ExpectedPaymentDate``): unpaid rows show
it when the organisation has set one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

A new nullable column: existing rows keep their values and get no expected date until the
next sync stores the invoice again (a full sync, or the reconciliation, refreshes them all).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("xero_panel_invoice") as batch:
        batch.add_column(sa.Column("expected_payment_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("xero_panel_invoice") as batch:
        batch.drop_column("expected_payment_on")

"""Resumable full syncs (where an unfinished one resumes) and webhook fetch retries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

``xero_panel_sync_state`` gains ``resume_phase``, ``resume_page`` and ``resume_started_at``;
``xero_panel_webhook_event`` gains ``attempts``, ``next_attempt_at`` (indexed) and
``last_error``. Existing rows keep their data: no unfinished sync, no failed attempt.
``xero_panel_payment`` becomes unique on (invoice, PaymentID), so two syncs storing one
invoice at once cannot both add its payments; duplicates such a race left are removed first
(the oldest row of each is kept: they are copies of one Xero payment).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM xero_panel_payment WHERE id NOT IN"
        " (SELECT min(id) FROM xero_panel_payment GROUP BY invoice_pk, payment_id)"
    )
    with op.batch_alter_table("xero_panel_payment") as batch:
        batch.create_unique_constraint(
            op.f("uq_xero_panel_payment_invoice_pk"), ["invoice_pk", "payment_id"]
        )
    with op.batch_alter_table("xero_panel_sync_state") as batch:
        batch.add_column(sa.Column("resume_phase", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("resume_page", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("resume_started_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("xero_panel_webhook_event") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    op.create_index(
        op.f("ix_xero_panel_webhook_event_next_attempt_at"),
        "xero_panel_webhook_event",
        ["next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_xero_panel_webhook_event_next_attempt_at"), table_name="xero_panel_webhook_event"
    )
    with op.batch_alter_table("xero_panel_webhook_event") as batch:
        batch.drop_column("last_error")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
    with op.batch_alter_table("xero_panel_payment") as batch:
        batch.drop_constraint(op.f("uq_xero_panel_payment_invoice_pk"), type_="unique")
    with op.batch_alter_table("xero_panel_sync_state") as batch:
        batch.drop_column("resume_started_at")
        batch.drop_column("resume_page")
        batch.drop_column("resume_phase")

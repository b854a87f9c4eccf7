"""Webhook-first freshness: when each tenant's webhooks were last heard, and the count of
events dropped because no CRM account uses their organisation.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

A new table ``xero_panel_webhook_tenant``; nothing existing changes. Until the first
webhook delivery after the upgrade, every organisation stays in polling mode, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

TABLE = "xero_panel_webhook_tenant"


def upgrade() -> None:
    # A host's db.create_all() may have made it already (see migrations/README).
    if sa.inspect(op.get_bind()).has_table(TABLE):
        return
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("last_delivery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arriving_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("dropped_events", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f(f"pk_{TABLE}")),
    )


def downgrade() -> None:
    op.drop_table(TABLE)

"""A reconciliation in chunks: where an unfinished one resumes, and the IDs it has listed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

Three columns on ``xero_panel_sync_state`` (``reconcile_phase``, ``reconcile_page``,
``reconcile_started_at``; no reconciliation is unfinished on existing rows) and the table
``xero_panel_reconcile_seen`` (empty). A reconciliation that an older worker was running
when the upgrade came simply runs whole, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

TABLE = "xero_panel_reconcile_seen"


def upgrade() -> None:
    with op.batch_alter_table("xero_panel_sync_state") as batch:
        batch.add_column(sa.Column("reconcile_phase", sa.String(20), nullable=True))
        batch.add_column(
            sa.Column("reconcile_page", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("reconcile_started_at", sa.DateTime(timezone=True), nullable=True)
        )
    # A host's db.create_all() may have made it already (see migrations/README).
    if sa.inspect(op.get_bind()).has_table(TABLE):
        return
    op.create_table(
        TABLE,
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("xero_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["xero_panel_organisation.id"],
            name=op.f(f"fk_{TABLE}_organisation_id_xero_panel_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "kind", "xero_id", name=op.f(f"pk_{TABLE}")),
    )


def downgrade() -> None:
    op.drop_table(TABLE)
    with op.batch_alter_table("xero_panel_sync_state") as batch:
        batch.drop_column("reconcile_started_at")
        batch.drop_column("reconcile_page")
        batch.drop_column("reconcile_phase")

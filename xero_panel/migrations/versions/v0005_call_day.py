"""Xero calls per tenant and UTC day, shared by every process on the database.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Without Redis, the call counter adds each call to this table as it is made, so that
``flask xero-panel status`` (another process) shows the calls the web and worker processes
made today. A new table: no existing row changes, and the downgrade drops it. A
database adopted with this table already made by ``db.create_all()`` keeps it as it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

TABLE = "xero_panel_call_day"


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table(TABLE):
        # db.create_all() of a newer release made it beside the older tables (adoption
        # checked it has the models' columns and indexes): nothing to create.
        return
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("tenant_id", "day", name=op.f(f"uq_{TABLE}_tenant_id")),
    )


def downgrade() -> None:
    op.drop_table(TABLE)

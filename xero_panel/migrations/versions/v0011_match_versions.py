"""Two counters that say when a record's match may have changed, so a panel view can reuse
the match it worked out before: each organisation's ``match_version`` (counted up by every
write of its cache that can change a match: contacts stored or removed, a sales invoice new
to the cache or moved to another contact) and each connection's ``links_version`` (counted
up by every link or unlink of any of its CRM account's records).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Two integer columns, 0 on existing rows: matches worked out before the upgrade are not
reused (they were kept in memory only), so nothing needs recounting.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("xero_panel_sync_state") as batch:
        batch.add_column(
            sa.Column("match_version", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("xero_panel_connection") as batch:
        batch.add_column(
            sa.Column("links_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("xero_panel_connection") as batch:
        batch.drop_column("links_version")
    with op.batch_alter_table("xero_panel_sync_state") as batch:
        batch.drop_column("match_version")

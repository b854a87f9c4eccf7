"""Connections that tell the truth: when the last error happened, which sign-in (Xero's
``authEventId``) granted the tokens and each organisation, and whether a reconnect is under way.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Only nullable columns are added, so existing rows keep their data unchanged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_CONNECTION = "xero_panel_connection"
_ORGANISATION = "xero_panel_organisation"


def upgrade() -> None:
    with op.batch_alter_table(_CONNECTION) as batch:
        batch.add_column(sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("auth_event_id", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("reconnect_started_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table(_ORGANISATION) as batch:
        batch.add_column(sa.Column("auth_event_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(_ORGANISATION) as batch:
        batch.drop_column("auth_event_id")
    with op.batch_alter_table(_CONNECTION) as batch:
        batch.drop_column("reconnect_started_at")
        batch.drop_column("auth_event_id")
        batch.drop_column("last_error_at")

"""The organisation's country (Xero's ``CountryCode``): the panel formats money and dates
for it when the host gives no locale.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

A new nullable column: existing rows keep their values and get no country until the next
sync reads the organisation from Xero.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("xero_panel_organisation") as batch:
        batch.add_column(sa.Column("country_code", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("xero_panel_organisation") as batch:
        batch.drop_column("country_code")

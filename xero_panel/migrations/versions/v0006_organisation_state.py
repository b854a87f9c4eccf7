"""What each organisation's last Xero call did, for the one state reps and admins see.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

``xero_panel_sync_state`` gains ``trouble`` (the kind of the last failed call: ``slow``,
``unreachable``, ``xero-error``, ``rate-limited`` or ``needs-reconnect``; ``NULL`` once a
call succeeds), ``trouble_since`` (when that run of failures began), ``failures`` (how many
in a row, for the retry's backoff), ``retry_at`` (when Xero's own ``Retry-After`` ends),
``rate_limit`` (which limit: ``minute``, ``day``, ...), ``last_call_at`` and ``last_call_ms``
(when the last call ended, and how long Xero took to answer it). Existing rows start with
no trouble: the next call fills them in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS = (
    "trouble",
    "trouble_since",
    "failures",
    "retry_at",
    "rate_limit",
    "last_call_at",
    "last_call_ms",
)


def upgrade() -> None:
    with op.batch_alter_table("xero_panel_sync_state") as batch:
        batch.add_column(sa.Column("trouble", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("trouble_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rate_limit", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("last_call_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_call_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("xero_panel_sync_state") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)

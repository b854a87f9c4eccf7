"""One CRM account, one connection, also in databases that 0.1's ``db.create_all()`` made.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

0.1 declared the rule as ``unique=True`` on the column, which its naming convention did not
name: SQLite's table got an unnamed ``UNIQUE (crm_account)``, which the first copy of the
table in batch mode (revision 0007) left behind, and PostgreSQL named it
``xero_panel_connection_crm_account_key``. Revision 0001 (and so every database the
migrations made) names it ``uq_xero_panel_connection_crm_account``, as the models do. This
revision gives adopted 0.1 databases that constraint; on the others it changes nothing. The
downgrade changes nothing either: the named constraint is right at every revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

TABLE = "xero_panel_connection"
NAME = "uq_xero_panel_connection_crm_account"


def upgrade() -> None:
    found = sa.inspect(op.get_bind()).get_unique_constraints(TABLE)
    on_account = [c for c in found if c["column_names"] == ["crm_account"]]
    if any(c["name"] == NAME for c in on_account):
        return
    with op.batch_alter_table(TABLE) as batch:
        for other in on_account:
            if other["name"]:  # PostgreSQL's own name; SQLite's unnamed one is gone already
                batch.drop_constraint(other["name"], type_="unique")
        batch.create_unique_constraint(NAME, ["crm_account"])


def downgrade() -> None:
    pass

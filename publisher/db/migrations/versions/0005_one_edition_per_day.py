"""one edition per name per day

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("editions") as batch:
        batch.drop_index("ix_editions_name_date")
        batch.create_index("ix_editions_name_date", ["name", "date"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("editions") as batch:
        batch.drop_index("ix_editions_name_date")
        batch.create_index("ix_editions_name_date", ["name", "date"], unique=False)

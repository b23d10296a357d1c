"""article source ids, the generated signing key, an edition's halt reason

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("source_id", sa.String(length=300), nullable=True))
        batch.create_index("ix_articles_source_id", ["source_id"], unique=True)
    with op.batch_alter_table("editions") as batch:
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
    op.create_table(
        "keys",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_keys")),
    )


def downgrade() -> None:
    op.drop_table("keys")
    with op.batch_alter_table("editions") as batch:
        batch.drop_column("error")
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_source_id")
        batch.drop_column("source_id")

"""an article image's width and height in pixels, where known (Media RSS, the article page)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("image_width", sa.Integer, nullable=True))
        batch.add_column(sa.Column("image_height", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("image_height")
        batch.drop_column("image_width")

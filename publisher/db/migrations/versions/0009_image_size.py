"""an article image's width and height in pixels, where known (Media RSS, the article page); an
index covering the feeds build's read of every live article

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
LIVE_ROWS = ["retracted_at", "published_at", "id", "guid", "slug", "title", "section", "section_slug",
             "updated_at", "content_hash"]  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("image_width", sa.Integer, nullable=True))
        batch.add_column(sa.Column("image_height", sa.Integer, nullable=True))
    op.create_index("ix_articles_live_rows", "articles", LIVE_ROWS)


def downgrade() -> None:
    op.drop_index("ix_articles_live_rows", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("image_height")
        batch.drop_column("image_width")

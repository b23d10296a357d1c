"""editors steer an edition's contents before it starts sending: subject, excluded stories, revision

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

``subject`` is the editor's subject line (NULL: the template's); ``excluded_slugs`` the stories an
editor took out (so they can be put back); ``revision`` counts the edits, so a page saved over a
newer edit is refused and every compiled copy of the edition is keyed by it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("editions") as batch:
        batch.add_column(sa.Column("subject", sa.Text(), nullable=True))
        batch.add_column(sa.Column("excluded_slugs", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("editions") as batch:
        batch.drop_column("revision")
        batch.drop_column("excluded_slugs")
        batch.drop_column("subject")

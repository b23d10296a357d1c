"""reader events name the edition and ledger row a returned-mail report was about

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

Bounces and complaints found by a VERP tag or our Message-ID name their ledger row; keeping its
edition on the event lets the reputation guard count an edition's hard bounces, soft bounces and
complaints with one indexed count.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriber_events") as batch:
        batch.add_column(sa.Column("edition_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("delivery_id", sa.Integer(), nullable=True))
    op.create_index("ix_subscriber_events_edition_kind", "subscriber_events", ["edition_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_subscriber_events_edition_kind", table_name="subscriber_events")
    with op.batch_alter_table("subscriber_events") as batch:
        batch.drop_column("delivery_id")
        batch.drop_column("edition_id")

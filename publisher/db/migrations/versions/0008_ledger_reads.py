"""the ledger read per edition by status and due time; no per-row check of the edition

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("fk_deliveries_edition_id_editions", type_="foreignkey")
        batch.drop_index("ix_deliveries_edition_status")
        batch.create_index("ix_deliveries_edition_status", ["edition_id", "status", "due_at"])


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_edition_status")
        batch.create_index("ix_deliveries_edition_status", ["edition_id", "status", "claimed_at"])
        batch.create_foreign_key(
            "fk_deliveries_edition_id_editions", "editions", ["edition_id"], ["id"], ondelete="CASCADE"
        )

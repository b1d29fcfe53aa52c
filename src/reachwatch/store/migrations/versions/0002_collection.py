"""Collection: the watchlist, why records were kept out of unfiltered streams, observed-time engagements.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("engagements") as batch:
        batch.add_column(sa.Column("time_observed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "kept",
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("kept_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "reason", "detail"),
    )
    op.create_index("ix_kept_reason", "kept", ["reason", "detail"])
    op.create_table(
        "watchlist",
        sa.Column("account_id", sa.Text(), primary_key=True),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("native_id", sa.Text(), nullable=False),
        sa.Column("handle", sa.Text()),
        sa.Column("instance", sa.Text()),
        sa.Column("added_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("watchlist")
    op.drop_index("ix_kept_reason", table_name="kept")
    op.drop_table("kept")
    with op.batch_alter_table("engagements") as batch:
        batch.drop_column("time_observed")

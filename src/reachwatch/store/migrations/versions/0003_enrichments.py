"""Enrichments: what each enricher (language, mentions, harm) found in a post, with its model
and version.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrichments",
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("enricher", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("enriched_at_us", sa.BigInteger, nullable=False),
        sa.Column("result", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "enricher"),
    )


def downgrade() -> None:
    op.drop_table("enrichments")

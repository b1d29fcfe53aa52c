"""Narratives: each post's sentence embedding (stored once, with its model), the narratives
analysts track (examples, keywords, calibrated threshold), and which posts each one claims.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "embeddings",
        sa.Column("post_id", sa.Text, primary_key=True),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("embedded_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "narratives",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("keywords", JSON, nullable=False),
        sa.Column("examples", JSON, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("calibration", JSON, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "narrative_posts",
        sa.Column("narrative_id", sa.Text, nullable=False),
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
        sa.Column("nearest_example", sa.Integer, nullable=False),
        sa.Column("assigned_at_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("narrative_id", "post_id"),
    )
    op.create_index("ix_narrative_posts_post", "narrative_posts", ["post_id"])


def downgrade() -> None:
    op.drop_index("ix_narrative_posts_post", table_name="narrative_posts")
    op.drop_table("narrative_posts")
    op.drop_table("narratives")
    op.drop_table("embeddings")

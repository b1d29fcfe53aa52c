"""Saved searches: a query in the search language (reachwatch.query) kept under a name that is
unique in the store, with who saved it and when.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("saved_at_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_saved_searches_name", "saved_searches", ["name"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_saved_searches_name", table_name="saved_searches")
    op.drop_table("saved_searches")

"""A partial index of the watched accounts: the watch floor lists them on every refresh, and a
scan of every account (hundreds of thousands of engagers) cost more than the rest of the page.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_accounts_watched",
        "accounts",
        ["id"],
        sqlite_where=sa.text("watched"),
        postgresql_where=sa.text("watched"),
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_watched", table_name="accounts")

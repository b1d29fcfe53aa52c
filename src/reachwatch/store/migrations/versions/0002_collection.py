"""Collection and reach: the watchlist; why records were kept out of unfiltered streams;
engagements whose time is only known as first seen; engagements clustered by (post, kind, time)
so a post's counts per kind and time step are range counts; accounts keyed without a rowid on
SQLite (one B-tree search per account lookup instead of two).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ENGAGEMENT_COLUMNS = "post_id, created_at_us, id, kind, actor_id, via_id"
ACCOUNT_COLUMNS = (
    "id, platform, handle, display_name, description, created_at_us, followers, following, posts_count, "
    "status, watched"
)


def _engagements_table(name: str, key: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("via_id", sa.Text),
        sa.Column("time_observed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint(*key),
        sqlite_with_rowid=False,
    )


def _accounts_table(name: str, with_rowid: bool) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("handle", sa.Text),
        sa.Column("display_name", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("created_at_us", sa.BigInteger),
        sa.Column("followers", sa.BigInteger),
        sa.Column("following", sa.BigInteger),
        sa.Column("posts_count", sa.BigInteger),
        sa.Column("status", sa.Text),
        sa.Column("watched", sa.Boolean, nullable=False, server_default=sa.false()),
        sqlite_with_rowid=with_rowid,
    )


def _rebuild_sqlite(key: tuple[str, ...], accounts_with_rowid: bool, engagement_columns: str) -> None:
    """SQLite cannot change a primary key in place: copy into a new table and swap."""
    _engagements_table("engagements_new", key)
    op.execute(
        f"INSERT INTO engagements_new ({engagement_columns}) SELECT {engagement_columns} FROM engagements"
    )
    op.drop_index("ix_engagements_created", table_name="engagements")
    op.drop_table("engagements")
    op.rename_table("engagements_new", "engagements")
    op.create_index("ix_engagements_created", "engagements", ["created_at_us"])
    _accounts_table("accounts_new", accounts_with_rowid)
    op.execute(f"INSERT INTO accounts_new ({ACCOUNT_COLUMNS}) SELECT {ACCOUNT_COLUMNS} FROM accounts")
    op.drop_index("ix_accounts_handle", table_name="accounts")
    op.drop_table("accounts")
    op.rename_table("accounts_new", "accounts")
    op.create_index("ix_accounts_handle", "accounts", ["handle"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(("post_id", "kind", "created_at_us", "id"), False, ENGAGEMENT_COLUMNS)
    else:
        op.add_column(
            "engagements", sa.Column("time_observed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        op.execute("ALTER TABLE engagements DROP CONSTRAINT engagements_pkey")
        op.create_primary_key("engagements_pkey", "engagements", ["post_id", "kind", "created_at_us", "id"])
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
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(("post_id", "created_at_us", "id"), True, ENGAGEMENT_COLUMNS)
        with op.batch_alter_table("engagements") as batch:
            batch.drop_column("time_observed")
    else:
        op.execute("ALTER TABLE engagements DROP CONSTRAINT engagements_pkey")
        op.create_primary_key("engagements_pkey", "engagements", ["post_id", "created_at_us", "id"])
        op.drop_column("engagements", "time_observed")

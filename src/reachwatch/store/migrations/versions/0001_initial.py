"""The initial schema: raw log, canonical records, quarantine, cursors, scenarios, full-text search.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(JSONB(), "postgresql")

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE posts_fts USING fts5("
    "text, content='posts', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_fts(rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.rowid, old.text); END",
    "CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.rowid, old.text); "
    "INSERT INTO posts_fts(rowid, text) VALUES (new.rowid, new.text); END",
]

POSTGRES_FTS = [
    # PostgreSQL's parser swallows words inside HTML-like tags; hostile posts must stay findable.
    "ALTER TABLE posts ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', translate(text, '<>', '  '))) STORED",
    "CREATE INDEX ix_posts_search ON posts USING GIN (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "raw_events",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("event_key", sa.Text, nullable=False, unique=True),
        sa.Column("cursor", sa.Text),
        sa.Column("received_at_us", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "accounts",
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
    )
    op.create_index("ix_accounts_handle", "accounts", ["handle"])
    op.create_table(
        "account_snapshots",
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("observed_at_us", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("followers", sa.BigInteger),
        sa.Column("following", sa.BigInteger),
        sa.Column("posts_count", sa.BigInteger),
        sa.PrimaryKeyConstraint("account_id", "observed_at_us", "source"),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("author_id", sa.Text, nullable=False),
        sa.Column("created_at_us", sa.BigInteger),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("lang", sa.Text),
        sa.Column("reply_to", sa.Text),
        sa.Column("reply_root", sa.Text),
        sa.Column("quote_of", sa.Text),
        sa.Column("repost_of", sa.Text),
        sa.Column("urls", JSON),
        sa.Column("mentions", JSON),
        sa.Column("hashtags", JSON),
        sa.Column("deleted_at_us", sa.BigInteger),
    )
    op.create_index("ix_posts_author_created", "posts", ["author_id", "created_at_us"])
    op.create_index("ix_posts_created", "posts", ["created_at_us"])
    for column in ("reply_to", "quote_of"):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_posts_{column}", "posts", [column], sqlite_where=where, postgresql_where=where)
    op.create_table(
        "engagements",
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("via_id", sa.Text),
        sa.PrimaryKeyConstraint("post_id", "created_at_us", "id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_engagements_created", "engagements", ["created_at_us"])
    op.create_table(
        "deletions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("kind", sa.Text),
        sa.Column("actor_id", sa.Text),
        sa.Column("deleted_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "follows",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("follower_id", sa.Text, nullable=False),
        sa.Column("followed_id", sa.Text),
        sa.Column("created_at_us", sa.BigInteger),
        sa.Column("deleted_at_us", sa.BigInteger),
    )
    op.create_index("ix_follows_followed", "follows", ["followed_id"])
    op.create_table(
        "metric_snapshots",
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("observed_at_us", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("reposts", sa.BigInteger),
        sa.Column("quotes", sa.BigInteger),
        sa.Column("replies", sa.BigInteger),
        sa.Column("likes", sa.BigInteger),
        sa.Column("views", sa.BigInteger),
        sa.PrimaryKeyConstraint("post_id", "observed_at_us", "source"),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("aliases", JSON, nullable=False),
        sa.Column("roles", JSON, nullable=False),
        sa.Column("handles", JSON, nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("position", sa.Text),
        sa.Column("received_at_us", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("resolved_at_us", sa.BigInteger),
    )
    op.create_index("ix_quarantine_status", "quarantine", ["status"])
    op.create_table(
        "cursors",
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "scenarios",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("truth", JSON, nullable=False),
    )
    statements = SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else POSTGRES_FTS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS posts_fts")
    for table in (
        "scenarios",
        "cursors",
        "quarantine",
        "people",
        "metric_snapshots",
        "follows",
        "deletions",
        "engagements",
        "posts",
        "account_snapshots",
        "accounts",
        "raw_events",
    ):
        op.drop_table(table)

"""Trust on real data: engagements dated by when reachwatch collected them (retention ages by that,
never by the post's own time); the posts a grouped alert covers, each with its own author; the
audit log closed to INSERT OR REPLACE (SQLite) and TRUNCATE (PostgreSQL); the pseudonyms shown so
far and the accounts behind them (so a pseudonym a user has seen resolves without a scan).

Engagements and accounts stored before this revision have no collection time: retention reads
them as collected when this revision ran (kept in `deployment` as `engagements-collected-before`).

Revision ID: 0008
Revises: 0007
"""

import time

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("engagements", sa.Column("collected_at_us", sa.BigInteger))
    op.add_column("accounts", sa.Column("collected_at_us", sa.BigInteger))
    deployment = sa.table("deployment", sa.column("name", sa.Text), sa.column("value", sa.Text))
    op.bulk_insert(
        deployment, [{"name": "engagements-collected-before", "value": str(time.time_ns() // 1000)}]
    )
    op.create_table(
        "alert_posts",
        sa.Column("alert_id", sa.BigInteger, nullable=False),
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("author_id", sa.Text),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("features", JSON, nullable=False),
        sa.Column("first_at_us", sa.BigInteger, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("alert_id", "post_id"),
    )
    op.add_column("audit_log", sa.Column("mac", sa.Text))
    op.create_table(
        "aliases",
        sa.Column("alias", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        # INSERT OR REPLACE deletes the old row without firing DELETE triggers: refuse any insert
        # whose sequence number is taken, before the conflict is resolved.
        op.execute(
            "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
            "WHEN EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq) "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.drop_table("aliases")
    op.drop_column("audit_log", "mac")
    op.drop_table("alert_posts")
    op.execute("DELETE FROM deployment WHERE name = 'engagements-collected-before'")
    op.drop_column("engagements", "collected_at_us")
    op.drop_column("accounts", "collected_at_us")

"""Accountability and alerts: users, sessions and login failures; cases with their members, targets
and time; the deployment's own secrets; alert rule sets, alerts, their notes and deliveries.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("csrf", sa.Text, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
        sa.Column("case_id", sa.Text),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("client", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "deployment",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened_by", sa.Text, nullable=False),
        sa.Column("opened_at_us", sa.BigInteger, nullable=False),
        sa.Column("closed_by", sa.Text),
        sa.Column("closed_at_us", sa.BigInteger),
    )
    op.create_table(
        "case_members",
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("joined_at_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "user_name"),
    )
    op.create_table(
        "case_targets",
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("target_id", sa.Text, nullable=False),
        sa.Column("added_by", sa.Text, nullable=False),
        sa.Column("added_at_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "kind", "target_id"),
    )
    op.create_table(
        "time_entries",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("started_at_us", sa.BigInteger, nullable=False),
        sa.Column("stopped_at_us", sa.BigInteger),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "rule_sets",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("saved_by", sa.Text, nullable=False),
        sa.Column("saved_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("dedup_key", sa.Text, nullable=False, unique=True),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("post_id", sa.Text),
        sa.Column("author_id", sa.Text),
        sa.Column("features", JSON, nullable=False),
        sa.Column("assignee", sa.Text),
        sa.Column("event_at_us", sa.BigInteger, nullable=False),
        sa.Column("raised_at_us", sa.BigInteger, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "alert_notes",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.BigInteger, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_at_us", sa.BigInteger, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("sent_at_us", sa.BigInteger),
    )
    op.create_index("ix_sessions_user", "sessions", ["user_name"])
    op.create_index("ix_login_failures_user", "login_failures", ["user_name", "at_us"])
    op.create_index("ix_case_targets_target", "case_targets", ["target_id"])
    op.create_index("ix_time_entries_case", "time_entries", ["case_id"])
    op.create_index("ix_alerts_status", "alerts", ["status", "updated_at_us"])
    op.create_index("ix_alert_notes_alert", "alert_notes", ["alert_id"])
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_at_us"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("alert_notes")
    op.drop_table("alerts")
    op.drop_table("rule_sets")
    op.drop_table("time_entries")
    op.drop_table("case_targets")
    op.drop_table("case_members")
    op.drop_table("cases")
    op.drop_table("deployment")
    op.drop_table("login_failures")
    op.drop_table("sessions")
    op.drop_table("users")

"""Per-minute engagement rollups: the dossier's series, the baseline's age counts and the alert
engine's counts read a post's minutes instead of every one of its engagements.

Triggers keep the rollup in the same transaction as the engagement rows, so no write or purge path
can forget it: row triggers on SQLite, statement triggers over the transition table on PostgreSQL
(one grouped upsert per INSERT or COPY batch). Rows skipped by ON CONFLICT DO NOTHING fire neither.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MINUTE = 60_000_000

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER engagement_minutes_insert AFTER INSERT ON engagements BEGIN
        INSERT INTO engagement_minutes (post_id, kind, minute, engagements, observed, via)
        VALUES (NEW.post_id, NEW.kind, NEW.created_at_us / {MINUTE}, 1, NEW.time_observed != 0,
                NEW.via_id IS NOT NULL)
        ON CONFLICT (post_id, kind, minute) DO UPDATE SET
            engagements = engagements + 1, observed = observed + excluded.observed,
            via = via + excluded.via;
    END""",
    f"""CREATE TRIGGER engagement_minutes_delete AFTER DELETE ON engagements BEGIN
        UPDATE engagement_minutes SET
            engagements = engagements - 1, observed = observed - (OLD.time_observed != 0),
            via = via - (OLD.via_id IS NOT NULL)
        WHERE post_id = OLD.post_id AND kind = OLD.kind AND minute = OLD.created_at_us / {MINUTE};
    END""",
)

POSTGRES_TRIGGERS = (
    f"""CREATE FUNCTION engagement_minutes_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO engagement_minutes (post_id, kind, minute, engagements, observed, via)
        SELECT post_id, kind, created_at_us / {MINUTE}, count(*), count(*) FILTER (WHERE time_observed),
               count(via_id)
        FROM added GROUP BY 1, 2, 3
        ON CONFLICT (post_id, kind, minute) DO UPDATE SET
            engagements = engagement_minutes.engagements + excluded.engagements,
            observed = engagement_minutes.observed + excluded.observed,
            via = engagement_minutes.via + excluded.via;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION engagement_minutes_remove() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE engagement_minutes m SET
            engagements = m.engagements - r.n, observed = m.observed - r.observed, via = m.via - r.via
        FROM (SELECT post_id, kind, created_at_us / {MINUTE} AS minute, count(*) AS n,
                     count(*) FILTER (WHERE time_observed) AS observed, count(via_id) AS via
              FROM removed GROUP BY 1, 2, 3) r
        WHERE m.post_id = r.post_id AND m.kind = r.kind AND m.minute = r.minute;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER engagement_minutes_insert AFTER INSERT ON engagements REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION engagement_minutes_add()",
    "CREATE TRIGGER engagement_minutes_delete AFTER DELETE ON engagements REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION engagement_minutes_remove()",
)


def upgrade() -> None:
    op.create_table(
        "engagement_minutes",
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("minute", sa.BigInteger, nullable=False),
        sa.Column("engagements", sa.BigInteger, nullable=False),
        sa.Column("observed", sa.BigInteger, nullable=False),
        sa.Column("via", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("post_id", "kind", "minute"),
        sqlite_with_rowid=False,
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    observed = "sum(time_observed != 0)" if sqlite else "count(*) FILTER (WHERE time_observed)"
    op.execute(
        "INSERT INTO engagement_minutes (post_id, kind, minute, engagements, observed, via) "
        f"SELECT post_id, kind, created_at_us / {MINUTE}, count(*), {observed}, count(via_id) "
        "FROM engagements GROUP BY 1, 2, 3"
    )
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS engagement_minutes_insert")
        op.execute("DROP TRIGGER IF EXISTS engagement_minutes_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS engagement_minutes_insert ON engagements")
        op.execute("DROP TRIGGER IF EXISTS engagement_minutes_delete ON engagements")
        op.execute("DROP FUNCTION IF EXISTS engagement_minutes_add()")
        op.execute("DROP FUNCTION IF EXISTS engagement_minutes_remove()")
    op.drop_table("engagement_minutes")

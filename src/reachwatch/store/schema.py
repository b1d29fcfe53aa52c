"""The tables as SQLAlchemy Core objects, for queries; migrations/ creates them, a test keeps both equal.

Times are BIGINT microseconds since the epoch (UTC). Reference columns carry no foreign keys on
purpose: events arrive out of order (a like before the post it likes) and must never be refused.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy import Text as PlainText
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from reachwatch.model import clean_text, clean_value

metadata = MetaData()


class Text(TypeDecorator[str]):
    """TEXT that every store can hold: a NUL (PostgreSQL refuses it) or a lone surrogate becomes
    U+FFFD wherever a value is bound — writes, lookups and filters alike — so a hostile byte in a
    payload, a query parameter or a login name is one odd character, never a failed statement.
    The raw payloads keep the original bytes."""

    impl = PlainText
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return clean_text(value) if isinstance(value, str) else value


class Json(TypeDecorator[Any]):
    """JSON (JSONB on PostgreSQL, which refuses \u0000) with its strings cleaned like Text's."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return clean_value(value)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

raw_events = Table(
    "raw_events",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("event_key", Text, nullable=False, unique=True),
    Column("cursor", Text),
    Column("received_at_us", BigInteger, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("platform", Text, nullable=False),
    Column("handle", Text),
    Column("display_name", Text),
    Column("description", Text),
    Column("created_at_us", BigInteger),
    Column("followers", BigInteger),
    Column("following", BigInteger),
    Column("posts_count", BigInteger),
    Column("status", Text),
    Column("watched", Boolean, nullable=False, server_default=false()),
    # When reachwatch last wrote the profile (retention ages profiles by this); NULL: before 0008.
    Column("collected_at_us", BigInteger),
    Index("ix_accounts_handle", "handle"),
    # Partial: a few watched accounts among hundreds of thousands of engagers.
    Index("ix_accounts_watched", "id", sqlite_where=text("watched"), postgresql_where=text("watched")),
    sqlite_with_rowid=False,  # looked up by id only: one B-tree search instead of two
)

account_snapshots = Table(
    "account_snapshots",
    metadata,
    Column("account_id", Text, nullable=False),
    Column("observed_at_us", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
    Column("followers", BigInteger),
    Column("following", BigInteger),
    Column("posts_count", BigInteger),
    PrimaryKeyConstraint("account_id", "observed_at_us", "source"),
)

posts = Table(
    "posts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("platform", Text, nullable=False),
    Column("author_id", Text, nullable=False),
    Column("created_at_us", BigInteger),  # NULL only for a deletion seen before its post
    Column("text", Text, nullable=False, server_default=""),
    Column("lang", Text),
    Column("reply_to", Text),
    Column("reply_root", Text),
    Column("quote_of", Text),
    Column("repost_of", Text),
    Column("urls", Json),
    Column("mentions", Json),
    Column("hashtags", Json),
    Column("deleted_at_us", BigInteger),
    Index("ix_posts_author_created", "author_id", "created_at_us"),
    Index("ix_posts_created", "created_at_us"),
    # Partial: most posts are neither replies nor quotes, and those need no index entry.
    Index(
        "ix_posts_reply_to",
        "reply_to",
        sqlite_where=text("reply_to IS NOT NULL"),
        postgresql_where=text("reply_to IS NOT NULL"),
    ),
    Index(
        "ix_posts_quote_of",
        "quote_of",
        sqlite_where=text("quote_of IS NOT NULL"),
        postgresql_where=text("quote_of IS NOT NULL"),
    ),
)

engagements = Table(
    "engagements",
    metadata,
    # Clustered by post, kind, then time (WITHOUT ROWID on SQLite): a post's engagements sit together,
    # and an ingest batch sorted by this key writes runs of rows into the same pages. A separate
    # index on `id` would cost a random page write per event; deletions live in `deletions`.
    Column("post_id", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("actor_id", Text, nullable=False),
    Column("via_id", Text),
    # The platform gave no time (reposted-by lists): created_at_us is when it was first seen.
    Column("time_observed", Boolean, nullable=False, server_default=false()),
    # When reachwatch wrote it (retention ages by this, never by the post's time); NULL: stored
    # before migration 0008, read as collected at `deployment.engagements-collected-before`.
    Column("collected_at_us", BigInteger),
    # Kind before time: a post's counts per kind and time step are range counts over this key.
    PrimaryKeyConstraint("post_id", "kind", "created_at_us", "id"),
    Index("ix_engagements_created", "created_at_us"),
    sqlite_with_rowid=False,
)

engagement_minutes = Table(
    "engagement_minutes",
    metadata,
    # Engagements stored per post, kind and minute (created_at_us / 60 s, SQL's integer division),
    # kept by triggers on `engagements` (migration 0009): every write and every purge updates it
    # in the same transaction, whichever path made it. Deleted engagements still count here (a
    # deletion names no post); readers subtract them (store/reach.py).
    Column("post_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("minute", BigInteger, nullable=False),
    Column("engagements", BigInteger, nullable=False),
    Column("observed", BigInteger, nullable=False),  # of which time only first seen
    Column("via", BigInteger, nullable=False),  # of which via another engagement
    PrimaryKeyConstraint("post_id", "kind", "minute"),
    sqlite_with_rowid=False,
)

deletions = Table(
    "deletions",
    metadata,
    # What authors deleted (posts, engagements, follows): marked, never erased. Live engagements
    # are those with no row here; a deletion that arrives before its record still applies.
    Column("id", Text, primary_key=True),
    Column("target", Text, nullable=False),
    Column("kind", Text),
    Column("actor_id", Text),
    Column("deleted_at_us", BigInteger, nullable=False),
)

follows = Table(
    "follows",
    metadata,
    Column("id", Text, primary_key=True),
    Column("follower_id", Text, nullable=False),
    Column("followed_id", Text),
    Column("created_at_us", BigInteger),
    Column("deleted_at_us", BigInteger),
    Index("ix_follows_followed", "followed_id"),
)

metric_snapshots = Table(
    "metric_snapshots",
    metadata,
    Column("post_id", Text, nullable=False),
    Column("observed_at_us", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
    Column("reposts", BigInteger),
    Column("quotes", BigInteger),
    Column("replies", BigInteger),
    Column("likes", BigInteger),
    Column("views", BigInteger),
    PrimaryKeyConstraint("post_id", "observed_at_us", "source"),
)

people = Table(
    "people",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("aliases", Json, nullable=False),
    Column("roles", Json, nullable=False),
    Column("handles", Json, nullable=False),
)

kept = Table(
    "kept",
    metadata,
    # Why a collector kept a record out of an unfiltered stream (mentions-person: detail = person id).
    Column("record_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("kept_at_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("record_id", "reason", "detail"),
    Index("ix_kept_reason", "reason", "detail"),
)

enrichments = Table(
    "enrichments",
    metadata,
    # What each enricher found in a post (language, protected people named, harm scores and the
    # evidence), with the model and version; one row per (post, enricher), replaced on re-run.
    Column("post_id", Text, nullable=False),
    Column("enricher", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("enriched_at_us", BigInteger, nullable=False),
    Column("result", Json, nullable=False),
    PrimaryKeyConstraint("post_id", "enricher"),
)

embeddings = Table(
    "embeddings",
    metadata,
    # Each post's sentence embedding, computed once: float16, unit length, with the model's name.
    Column("post_id", Text, primary_key=True),
    Column("model", Text, nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("embedded_at_us", BigInteger, nullable=False),
)

narratives = Table(
    "narratives",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("keywords", Json, nullable=False),
    Column("examples", Json, nullable=False),  # example texts, in the analyst's words or from posts
    Column("threshold", Float, nullable=False),
    Column("calibration", Json, nullable=False),
    Column("model", Text, nullable=False),
    Column("origin", Text, nullable=False),  # tracked | discovered (promoted from a cluster)
    Column("created_at_us", BigInteger, nullable=False),
)

narrative_posts = Table(
    "narrative_posts",
    metadata,
    Column("narrative_id", Text, nullable=False),
    Column("post_id", Text, nullable=False),
    Column("similarity", Float, nullable=False),
    Column("nearest_example", Integer, nullable=False),
    Column("assigned_at_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("narrative_id", "post_id"),
    Index("ix_narrative_posts_post", "post_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    # Append-only (database triggers refuse UPDATE and DELETE) and hash-chained: each entry's hash
    # covers its fields and the hash before it, so an edited or removed entry breaks the chain.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at_us", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("case_id", Text),
    Column("detail", Json, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    # HMAC-SHA256(audit key, hash) when the deployment keeps an audit key outside the store.
    Column("mac", Text),
)

watchlist = Table(
    "watchlist",
    metadata,
    # The accounts a collector follows, as the user named them and as resolved to stable ids.
    Column("account_id", Text, primary_key=True),
    Column("platform", Text, nullable=False),
    Column("spec", Text, nullable=False),
    Column("native_id", Text, nullable=False),
    Column("handle", Text),
    Column("instance", Text),
    Column("added_at_us", BigInteger, nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("position", Text),
    Column("received_at_us", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("resolved_at_us", BigInteger),
    Index("ix_quarantine_status", "status"),
)

cursors = Table(
    "cursors",
    metadata,
    Column("source", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

scenarios = Table(
    "scenarios",
    metadata,
    Column("name", Text, primary_key=True),
    Column("seed", Integer, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("truth", Json, nullable=False),
)

# Accountability (migration 0007): who may look, under which case, for how long.
users = Table(
    "users",
    metadata,
    Column("name", Text, primary_key=True),
    Column("password_hash", Text, nullable=False),  # Argon2id
    Column("role", Text, nullable=False),  # viewer | analyst | supervisor | auditor | admin
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("created_at_us", BigInteger, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    # Only a hash of each token is kept: a copy of the database does not log anyone in.
    Column("token_hash", Text, primary_key=True),
    Column("user_name", Text, nullable=False),
    Column("kind", Text, nullable=False),  # browser | api
    Column("csrf", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("case_id", Text),  # the case its user is working on: audit entries name it
    Index("ix_sessions_user", "user_name"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("user_name", Text, nullable=False),
    Column("client", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Index("ix_login_failures_user", "user_name", "at_us"),
)

# Pseudonyms shown so far, and the account behind each (migration 0008): a pseudonym a user has
# seen, or a post reference masked with one, resolves by one lookup.
aliases = Table(
    "aliases",
    metadata,
    Column("alias", Text, primary_key=True),
    Column("account_id", Text, nullable=False),
)

deployment = Table(
    "deployment",
    metadata,
    # Values made once per deployment, e.g. the key of the engagers' pseudonyms.
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("justification", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("status", Text, nullable=False),  # open | closed
    Column("opened_by", Text, nullable=False),
    Column("opened_at_us", BigInteger, nullable=False),
    Column("closed_by", Text),
    Column("closed_at_us", BigInteger),
)

case_members = Table(
    "case_members",
    metadata,
    Column("case_id", Text, nullable=False),
    Column("user_name", Text, nullable=False),
    Column("joined_at_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("case_id", "user_name"),
)

case_targets = Table(
    "case_targets",
    metadata,
    # The posts and accounts looked at closer under a case (the oversight report counts them).
    Column("case_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # post | account
    Column("target_id", Text, nullable=False),
    Column("added_by", Text, nullable=False),
    Column("added_at_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("case_id", "kind", "target_id"),
    Index("ix_case_targets_target", "target_id"),
)

time_entries = Table(
    "time_entries",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("case_id", Text, nullable=False),
    Column("user_name", Text, nullable=False),
    Column("started_at_us", BigInteger, nullable=False),
    Column("stopped_at_us", BigInteger),  # NULL while the clock runs
    Column("note", Text, nullable=False, server_default=""),
    Index("ix_time_entries_case", "case_id"),
)

# Alerts (migration 0007): rule sets as saved, alerts raised once per deduplication key, their
# history, and the deliveries owed to each channel.
rule_sets = Table(
    "rule_sets",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("text", Text, nullable=False),
    Column("saved_by", Text, nullable=False),
    Column("saved_at_us", BigInteger, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("rule_id", Text, nullable=False),
    Column("dedup_key", Text, nullable=False, unique=True),
    Column("severity", Text, nullable=False),
    Column("level", Integer, nullable=False),  # 0 when raised, +1 per escalation step crossed
    Column("status", Text, nullable=False),  # open | acknowledged | closed
    Column("title", Text, nullable=False),
    Column("post_id", Text),
    Column("author_id", Text),
    Column("features", Json, nullable=False),
    Column("assignee", Text),
    Column("event_at_us", BigInteger, nullable=False),  # when the triggering event was received
    Column("raised_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    Index("ix_alerts_status", "status", "updated_at_us"),
)

# The posts an alert covers, each with its own author and features (a grouped alert, per person
# and day say, covers several; the alert's own post and features are those of its lead post).
alert_posts = Table(
    "alert_posts",
    metadata,
    Column("alert_id", BigInteger, nullable=False),
    Column("post_id", Text, nullable=False),
    Column("author_id", Text),
    Column("level", Integer, nullable=False),
    Column("severity", Text, nullable=False),
    Column("features", Json, nullable=False),
    Column("first_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("alert_id", "post_id"),
)

alert_notes = Table(
    "alert_notes",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("user_name", Text, nullable=False),
    Column("kind", Text, nullable=False),  # raised | escalated | acknowledged | assigned | comment | closed
    Column("text", Text, nullable=False, server_default=""),
    Index("ix_alert_notes_alert", "alert_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, nullable=False),
    Column("channel", Text, nullable=False),
    Column("level", Integer, nullable=False),
    Column("status", Text, nullable=False),  # pending | sent | dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at_us", BigInteger, nullable=False),  # not before (backoff, quiet periods)
    Column("last_error", Text),
    Column("created_at_us", BigInteger, nullable=False),
    Column("sent_at_us", BigInteger),
    Index("ix_deliveries_due", "status", "next_at_us"),
)

# Saved searches (migration 0010): a query in the search language kept under a name, for the team
# to rerun and to copy into an alert rule.
saved_searches = Table(
    "saved_searches",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("saved_at_us", BigInteger, nullable=False),
    Index("ix_saved_searches_name", "name", unique=True),
)

"""Idempotent bulk writes of canonical records: writing the same records twice changes nothing.

Upserts keep what is already known: a field that arrives as NULL never erases a value. Engagements
never change once made, so they are inserted or ignored. Deletions are rows of their own, never
undone by a late create; a create that arrives after its deletion still fills in the record while
it stays deleted.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import msgspec
from sqlalchemy import (
    Connection,
    Dialect,
    Table,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite

from reachwatch.model import (
    Account,
    AccountSnapshot,
    CanonicalRecord,
    Deletion,
    Engagement,
    Enrichment,
    Follow,
    Kept,
    MetricSnapshot,
    Person,
    Post,
    clean_text,
    platform_of,
)
from reachwatch.store import schema

Row = dict[str, Any]


def dialect_insert(dialect: str, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


class CompiledStatement:
    """A statement compiled once to SQLite's SQL, run with driver-level executemany over tuples.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself at ingest
    rates, so the hot path compiles once per set of row keys and hands the driver plain tuples.
    """

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        self.statement = statement
        self.dialect = dialect
        self._by_keys: dict[tuple[str, ...], tuple[str, Any]] = {}

    def _compiled(self, keys: tuple[str, ...]) -> tuple[str, Any]:
        found = self._by_keys.get(keys)
        if found is None:
            compiled = self.statement.compile(dialect=self.dialect, column_keys=list(keys))
            names = list(compiled.positiontup or [])
            found = (str(compiled), itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],)))
            self._by_keys[keys] = found
        return found

    def run(self, conn: Connection, rows: Sequence[Row]) -> int:
        sql, pick = self._compiled(tuple(rows[0]))
        return int(conn.exec_driver_sql(sql, [pick(row) for row in rows]).rowcount)


def copy_insert(conn: Connection, table: Table, rows: Sequence[Row]) -> None:
    """PostgreSQL bulk path: COPY the rows into a session-local staging table, then insert what is new.

    COPY streams rows without a round trip or a plan each, several times faster than executemany;
    ON CONFLICT DO NOTHING keeps the insert idempotent exactly like the statement it replaces.
    """
    columns = ", ".join(rows[0])
    staging = f"staging_{table.name}"
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "
            f"SELECT {columns} FROM {table.name} WITH NO DATA"
        )
        with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
            for row in rows:
                # COPY binds no SQLAlchemy types: clean text here as schema.Text does elsewhere.
                copy.write_row(tuple(clean_text(v) if isinstance(v, str) else v for v in row.values()))
        cursor.execute(
            f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {staging} ON CONFLICT DO NOTHING"
        )
        cursor.execute(f"TRUNCATE {staging}")


# Row groups that go through COPY on PostgreSQL: the many, insert-only ones.
COPIED = {"engagement": schema.engagements, "account_stub": schema.accounts}


def _json_text(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


class RecordWriter:
    """Builds each upsert statement once per dialect and writes grouped records with executemany."""

    def __init__(self, dialect: Dialect, *, keep_deleted_text: bool = True) -> None:
        self.dialect = dialect.name
        self.keep_deleted_text = keep_deleted_text
        self._statements = self._build_statements()
        self._compiled = (
            {name: CompiledStatement(stmt, dialect) for name, stmt in self._statements.items()}
            if self.dialect == "sqlite"
            else {}
        )

    def _insert(self, table: Table) -> Any:
        return dialect_insert(self.dialect, table)

    def _keep_known(self, table: Table, stmt: Any, key: Sequence[str], columns: Iterable[str]) -> Any:
        """INSERT … ON CONFLICT DO UPDATE that keeps a known value where the new one is NULL."""
        excluded = stmt.excluded
        values = {name: func.coalesce(excluded[name], table.c[name]) for name in columns}
        return stmt.on_conflict_do_update(index_elements=list(key), set_=values)

    def _upsert(self, table: Table, key: Sequence[str], columns: Iterable[str]) -> Any:
        """INSERT … ON CONFLICT DO UPDATE that replaces `columns` with the new values."""
        stmt = self._insert(table)
        return stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in columns}
        )

    def _build_statements(self) -> dict[str, Any]:
        a, p, f = schema.accounts, schema.posts, schema.follows
        e = schema.engagements
        account_stmt = self._insert(a)
        account_upsert = account_stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                **{
                    name: func.coalesce(account_stmt.excluded[name], a.c[name])
                    for name in (
                        "handle",
                        "display_name",
                        "description",
                        "created_at_us",
                        "followers",
                        "following",
                        "posts_count",
                        "status",
                    )
                },
                "watched": or_(account_stmt.excluded.watched, a.c.watched),
                "collected_at_us": account_stmt.excluded.collected_at_us,
            },
        )
        post_stmt = self._insert(p)
        post_upsert = post_stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "author_id": post_stmt.excluded.author_id,
                "created_at_us": post_stmt.excluded.created_at_us,
                "text": case(
                    (
                        p.c.deleted_at_us.is_(None) | (true() if self.keep_deleted_text else false()),
                        post_stmt.excluded.text,
                    ),
                    else_=literal_column("''"),
                ),
                **{
                    name: post_stmt.excluded[name]
                    for name in (
                        "lang",
                        "reply_to",
                        "reply_root",
                        "quote_of",
                        "repost_of",
                        "urls",
                        "mentions",
                        "hashtags",
                    )
                },
            },
        )
        post_delete_stmt = self._insert(p)
        deleted_text = p.c.text if self.keep_deleted_text else literal_column("''")
        post_delete = post_delete_stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "deleted_at_us": func.coalesce(p.c.deleted_at_us, post_delete_stmt.excluded.deleted_at_us),
                "text": deleted_text,
            },
        )
        follow_delete_stmt = self._insert(f)
        return {
            "account_stub": self._insert(a).on_conflict_do_nothing(index_elements=["id"]),
            "account": account_upsert,
            "account_snapshot": self._insert(schema.account_snapshots).on_conflict_do_nothing(),
            "post": post_upsert,
            # An engagement never changes once made; its key includes its post and time.
            "engagement": self._insert(e).on_conflict_do_nothing(),
            "follow": self._keep_known(f, self._insert(f), ["id"], ("followed_id", "created_at_us")),
            "metric_snapshot": self._insert(schema.metric_snapshots).on_conflict_do_nothing(),
            "person": self._keep_known(
                schema.people, self._insert(schema.people), ["id"], ("name", "aliases", "roles", "handles")
            ),
            "kept": self._insert(schema.kept).on_conflict_do_nothing(),
            "enrichment": self._upsert(
                schema.enrichments, ["post_id", "enricher"], ("version", "enriched_at_us", "result")
            ),
            "deletion": self._insert(schema.deletions).on_conflict_do_nothing(index_elements=["id"]),
            "post_delete": post_delete,
            "follow_delete": follow_delete_stmt.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "deleted_at_us": func.coalesce(
                        f.c.deleted_at_us, follow_delete_stmt.excluded.deleted_at_us
                    )
                },
            ),
        }

    def write(self, conn: Connection, records: Sequence[CanonicalRecord]) -> None:
        """Upsert every record; accounts referenced but not described get a stub row first."""
        groups: dict[str, list[Row]] = {}
        described: set[str] = set()
        referenced: set[str] = set()
        json_as_text = self.dialect == "sqlite"
        for record in records:
            for name, row in _rows_of(record, referenced, json_as_text):
                groups.setdefault(name, []).append(row)
                if name == "account":
                    described.add(row["id"])
        if any(row["time_observed"] for row in groups.get("engagement", ())):
            groups["engagement"] = self._first_sightings(conn, groups["engagement"])
        collected = time.time_ns() // 1000  # when reachwatch collected them: what retention ages by
        for row in (*groups.get("engagement", ()), *groups.get("account", ())):
            row["collected_at_us"] = collected
        stubs = [
            {"id": ident, "platform": platform_of(ident), "collected_at_us": collected}
            for ident in sorted(referenced - described)
        ]
        if stubs:
            self._run(conn, "account_stub", stubs)
        for name in WRITE_ORDER:
            rows = groups.get(name)
            if rows:
                # Rows in key order touch neighbouring pages: far fewer page writes per batch.
                rows.sort(key=SORT_KEYS[name])
                self._run(conn, name, rows)

    def _first_sightings(self, conn: Connection, rows: list[Row]) -> list[Row]:
        """Engagements with an observed time are kept only the first time they are seen: a later
        poll of the same reposted-by list must not add the same repost again at a later time."""
        observed = [row for row in rows if row["time_observed"]]
        by_post: dict[str, set[str]] = {}
        for row in observed:
            by_post.setdefault(row["post_id"], set()).add(row["id"])
        known: set[tuple[str, str]] = set()
        e = schema.engagements
        for post_id, ids in by_post.items():
            found = conn.execute(
                select(e.c.id).where(e.c.post_id == post_id, e.c.id.in_(sorted(ids)))
            ).scalars()
            known.update((post_id, ident) for ident in found)
        kept: list[Row] = []
        for row in rows:
            key = (row["post_id"], row["id"])
            if row["time_observed"]:
                if key in known:
                    continue
                known.add(key)
            kept.append(row)
        return kept

    def _run(self, conn: Connection, name: str, rows: list[Row]) -> None:
        compiled = self._compiled.get(name)
        if compiled is not None:
            compiled.run(conn, rows)
        elif name in COPIED and self.dialect == "postgresql":
            copy_insert(conn, COPIED[name], rows)
        else:
            conn.execute(self._statements[name], rows)


def _rows_of(record: CanonicalRecord, referenced: set[str], json_as_text: bool) -> list[tuple[str, Row]]:
    """The (statement name, row) pairs one record writes; adds the account ids it mentions.

    With `json_as_text` JSON columns are encoded here, for the driver-level SQLite path.
    """
    if isinstance(record, Engagement):
        referenced.add(record.actor_id)
        return [
            (
                "engagement",
                {
                    "id": record.id,
                    "kind": record.kind.value,
                    "actor_id": record.actor_id,
                    "post_id": record.post_id,
                    "created_at_us": record.created_at_us,
                    "via_id": record.via_id,
                    "time_observed": record.time_observed,
                },
            )
        ]
    if isinstance(record, Post):
        referenced.add(record.author_id)
        row = msgspec.structs.asdict(record)
        if json_as_text:
            row["urls"], row["mentions"], row["hashtags"] = (
                _json_text(record.urls),
                _json_text(record.mentions),
                _json_text(record.hashtags),
            )
        return [("post", row)]
    if isinstance(record, Account):
        return [("account", msgspec.structs.asdict(record))]
    if isinstance(record, Follow):
        referenced.add(record.follower_id)
        referenced.add(record.followed_id)
        return [("follow", msgspec.structs.asdict(record))]
    if isinstance(record, AccountSnapshot):
        referenced.add(record.account_id)
        return [("account_snapshot", msgspec.structs.asdict(record))]
    if isinstance(record, MetricSnapshot):
        return [("metric_snapshot", msgspec.structs.asdict(record))]
    if isinstance(record, Kept):
        return [("kept", msgspec.structs.asdict(record))]
    if isinstance(record, Enrichment):
        row = msgspec.structs.asdict(record)
        if json_as_text:
            row["result"] = _json_text(record.result)
        return [("enrichment", row)]
    if isinstance(record, Person):
        row = msgspec.structs.asdict(record)
        if json_as_text:
            for name in ("aliases", "roles", "handles"):
                row[name] = _json_text(row[name])
        return [("person", row)]
    return _deletion_rows(record, referenced)


def _deletion_rows(record: Deletion, referenced: set[str]) -> list[tuple[str, Row]]:
    if record.actor_id is not None:
        referenced.add(record.actor_id)
    rows: list[tuple[str, Row]] = [("deletion", _deletion_row(record, record.id))]
    if record.target == "post":
        # A deleted reply or quote is also a deleted engagement (a quoting reply has two).
        rows.append(("deletion", _deletion_row(record, f"{record.id}#quote")))
        rows.append(
            (
                "post_delete",
                {
                    "id": record.id,
                    "platform": platform_of(record.id),
                    "author_id": record.actor_id or record.id,
                    "deleted_at_us": record.deleted_at_us,
                    "text": "",
                },
            )
        )
    elif record.target == "follow":
        rows.append(
            (
                "follow_delete",
                {
                    "id": record.id,
                    "follower_id": record.actor_id or "",
                    "deleted_at_us": record.deleted_at_us,
                },
            )
        )
    return rows


def _deletion_row(record: Deletion, ident: str) -> Row:
    return {
        "id": ident,
        "target": record.target,
        "kind": record.kind.value if record.kind else None,
        "actor_id": record.actor_id,
        "deleted_at_us": record.deleted_at_us,
    }


WRITE_ORDER = (
    "account",
    "account_snapshot",
    "post",
    "engagement",
    "follow",
    "metric_snapshot",
    "person",
    "kept",
    "enrichment",
    "deletion",
    "post_delete",
    "follow_delete",
)


def _by_id(row: Row) -> Any:
    return row["id"]


SORT_KEYS: dict[str, Any] = {
    **dict.fromkeys(WRITE_ORDER, _by_id),
    "engagement": itemgetter("post_id", "kind", "created_at_us", "id"),
    "account_snapshot": itemgetter("account_id", "observed_at_us"),
    "metric_snapshot": itemgetter("post_id", "observed_at_us"),
    "kept": itemgetter("record_id", "reason", "detail"),
    "enrichment": itemgetter("post_id", "enricher"),
}

"""Opening a store (SQLite file or PostgreSQL URL), migrating it, and writing ingest batches atomically.

One transaction per batch holds the raw payloads, the canonical records, the quarantined payloads
and the source's cursor: after a crash the store is at the end of some batch, never in between.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Connection, Engine, Text, any_, bindparam, create_engine, event, inspect, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError, StatementError

from reachwatch.errors import StoreDataError, StoreError, StoreUnavailableError
from reachwatch.model import CanonicalRecord, WriteBatch
from reachwatch.store import schema
from reachwatch.store.writer import CompiledStatement, RecordWriter, copy_insert, dialect_insert

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 72_420_001  # PostgreSQL advisory lock id held while migrating


T = TypeVar("T")


class WriteResult(msgspec.Struct, kw_only=True):
    raw_new: int
    duplicates: int
    records: int  # canonical records written (those of new events, plus the batch's own)


def database_url(db: str) -> str:
    """A SQLAlchemy URL for a SQLite path or a postgresql:// URL (driven by psycopg 3)."""
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    if db.startswith(("postgresql+", "sqlite:")):
        return db
    if "://" in db:
        raise StoreError(
            f"Cannot open the store {db!r}: give a SQLite file path or a postgresql:// URL "
            "(with --db, REACHWATCH_DB or 'db = ...' in reachwatch.toml)."
        )
    return f"sqlite:///{Path(db).expanduser()}"


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # The wait comes first: switching a new file to WAL takes its lock, and workers opening the
    # same new store together must wait for each other instead of failing with "locked".
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL lets readers in while the ingest writes; NORMAL keeps every commit across a process kill.
    for attempt in range(50):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB: big ingest batches dirty many pages
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA mmap_size=1073741824")  # readers share the OS page cache instead of copying
    cursor.close()


_REVISION = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:"([^"]*)"|None)', re.M)


def head_revision() -> str | None:
    """The head of the migration chain in `migrations/versions`, read from the files' revision lines
    (what alembic's ScriptDirectory computes; tests check they agree)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for kind, value in _REVISION.findall(path.read_text()):
            if value:
                (revisions if kind == "revision" else downs).add(value)
    heads = sorted(revisions - downs)
    if len(heads) > 1:
        raise StoreError(f"The migrations have {len(heads)} heads ({', '.join(heads)}): merge them.")
    return heads[0] if heads else None


class Store:
    """The one object that holds a database; services receive it, only store/ speaks SQL."""

    def __init__(self, engine: Engine, *, keep_deleted_text: bool = True) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = RecordWriter(engine.dialect, keep_deleted_text=keep_deleted_text)
        # The key of the audit log's MACs, kept outside the store (`audit_key`): with it, an entry
        # appended by someone who has only the database cannot pass `audit verify`.
        self.audit_key: bytes | None = None
        raw_insert = dialect_insert(self.dialect, schema.raw_events).on_conflict_do_nothing(
            index_elements=["event_key"]
        )
        self._raw_compiled = (
            CompiledStatement(raw_insert, engine.dialect) if self.dialect == "sqlite" else None
        )

    @classmethod
    def open(cls, db: str, *, migrate: bool = True, keep_deleted_text: bool = True) -> Store:
        """Open (creating if needed) and migrate the store at `db`."""
        url = database_url(db)
        if url.startswith("sqlite:///"):
            folder = Path(url.removeprefix("sqlite:///")).parent
            if not folder.exists():
                raise StoreError(
                    f"Cannot create the store in {folder}: the folder does not exist. Create it first."
                )
        engine = create_engine(url, json_serializer=_json_dumps, json_deserializer=msgspec.json.decode)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine, keep_deleted_text=keep_deleted_text)
        if migrate:
            store.migrate()
        return store

    @property
    def location(self) -> str:
        """Where the data lives, for people (passwords hidden)."""
        if self.dialect == "sqlite":
            return str(Path(self.engine.url.database or "").resolve())
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raise a StoreError unless the database answers a trivial query (health checks)."""
        with self.connect() as conn:
            conn.execute(select(1))

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads, with database errors turned into StoreErrors."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreUnavailableError(
                f"The store at {self.location} could not be read: {exc.orig}"
            ) from exc

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic write; a refused row raises StoreDataError, a lost server StoreUnavailableError."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except (IntegrityError, DataError) as exc:
            raise StoreDataError(f"The store refused a row: {exc.orig}") from exc
        except OperationalError as exc:
            raise StoreUnavailableError(
                f"The store at {self.location} is unavailable: {exc.orig}. Check the database server "
                "or the file, then run the command again."
            ) from exc
        except StatementError as exc:
            if isinstance(exc.orig, (OverflowError, ValueError, TypeError)):
                raise StoreDataError(f"The store refused a value: {exc.orig}") from exc
            raise StoreError(f"Writing to the store at {self.location} failed: {exc}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"Writing to the store at {self.location} failed: {exc}") from exc
        except (OverflowError, ValueError, TypeError) as exc:
            # The drivers raise these themselves for values they cannot bind (before any SQL runs).
            raise StoreDataError(f"The store refused a value: {exc}") from exc

    # -- schema ---------------------------------------------------------------------------------
    @staticmethod
    def _alembic_config() -> Any:
        from alembic.config import Config  # alembic loads only when a migration runs

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        return config

    @staticmethod
    def _revision_of(conn: Connection) -> str | None:
        """The schema version recorded in the store (alembic's table), read without loading alembic."""
        if not inspect(conn).has_table("alembic_version"):
            return None
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if found is None else str(found)

    def schema_version(self) -> str | None:
        with self.connect() as conn:
            return self._revision_of(conn)

    def head_version(self) -> str | None:
        """The newest migration: the one revision no other names as its down_revision."""
        return head_revision()

    def migrate(self) -> None:
        """Bring the schema to the newest version (a no-op when it is there already)."""
        try:
            head = self.head_version()
            if self.schema_version() == head:
                return
            from alembic import command

            config = self._alembic_config()
            with self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    # Workers starting together must not migrate twice: one waits for the other.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                else:
                    # Take SQLite's write lock before looking, for the same reason.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                if self._revision_of(conn) == head:
                    return
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise StoreUnavailableError(
                f"Cannot reach the store at {self.location}: {exc.orig}. Check that the database server "
                "is running and the URL is right."
            ) from exc

    # -- ingest ---------------------------------------------------------------------------------
    def write_batch(self, batch: WriteBatch) -> WriteResult:
        """Write one batch atomically; events already stored (same event key) are counted, not written."""
        with self.transaction() as conn:
            raw_new, records = self.write_batch_in(conn, batch)
        return WriteResult(raw_new=raw_new, duplicates=len(batch.events) - raw_new, records=records)

    def _stored_keys(self, conn: Connection, keys: list[str]) -> set[str]:
        """Which of `keys` the raw log holds already (the keys are time-ordered: a cheap probe)."""
        found: set[str] = set()
        column = schema.raw_events.c.event_key
        for start in range(0, len(keys), 5_000):
            chunk = keys[start : start + 5_000]
            # Rendering thousands of bound names through SQLAlchemy costs more than the lookup itself.
            if self.dialect == "sqlite":
                sql = f"SELECT event_key FROM raw_events WHERE event_key IN ({','.join('?' * len(chunk))})"
                found.update(row[0] for row in conn.exec_driver_sql(sql, tuple(chunk)))
            else:
                keys_array = bindparam("keys", chunk, type_=ARRAY(Text))
                found.update(conn.execute(select(column).where(column == any_(keys_array))).scalars())
        return found

    def write_batch_in(self, conn: Connection, batch: WriteBatch) -> tuple[int, int]:
        """Write a batch inside the caller's transaction; returns (new raw events, records written)."""
        stored = (
            self._stored_keys(conn, [event.raw.event_key for event in batch.events])
            if batch.events
            else set()
        )
        new = [event for event in batch.events if event.raw.event_key not in stored]
        if new:
            rows = [msgspec.structs.asdict(event.raw) for event in new]
            if self._raw_compiled is not None:
                self._raw_compiled.run(conn, rows)
            else:
                copy_insert(conn, schema.raw_events, rows)
        records = [record for event in new for record in event.records]
        records.extend(batch.records)
        if records:
            self._writer.write(conn, records)
        if batch.quarantine:
            conn.execute(
                schema.quarantine.insert(), [msgspec.structs.asdict(item) for item in batch.quarantine]
            )
        if batch.cursor is not None:
            self._save_cursor(conn, *batch.cursor)
        return len(new), len(records)

    def write_records(self, records: Sequence[CanonicalRecord]) -> None:
        """Upsert canonical records outside an ingest (people, watchlist, scenario metadata)."""
        self.write_batch(WriteBatch(records=list(records)))

    def _save_cursor(self, conn: Connection, source: str, value: str) -> None:
        stmt = dialect_insert(self.dialect, schema.cursors)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["source"],
                set_={"value": stmt.excluded.value, "updated_at_us": stmt.excluded.updated_at_us},
            ),
            {"source": source, "value": value, "updated_at_us": time.time_ns() // 1000},
        )

    def get_cursor(self, source: str) -> str | None:
        with self.connect() as conn:
            value = conn.execute(
                select(schema.cursors.c.value).where(schema.cursors.c.source == source)
            ).scalar_one_or_none()
        return value


def as_struct(row: Any, kind: type[T]) -> T:
    """A result row as a msgspec struct (its keys made plain strings first, as msgspec wants)."""
    return msgspec.convert({str(key): value for key, value in row._asdict().items()}, kind)

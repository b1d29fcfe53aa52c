"""Shared fixtures: a store on each back end, real payload paths, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import psycopg
import pytest

from reachwatch.store import queries
from reachwatch.store.database import Store

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PG_URL = os.environ.get("REACHWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


_pg_state: dict[str, str | None] = {}


def postgres_or_skip() -> str:
    """The test server's URL, starting PostgreSQL if it is down; skips only if it cannot run here."""
    if "reason" not in _pg_state:
        reason = None
        if not _pg_reachable():
            if Path("/etc/postgresql").exists():
                subprocess.run(PG_START, shell=True, check=False, capture_output=True, timeout=60)
                for _ in range(30):
                    if _pg_reachable():
                        break
                    time.sleep(0.5)
            if not _pg_reachable():
                reason = f"PostgreSQL is not reachable at {PG_URL} and could not be started with: {PG_START}"
        _pg_state["reason"] = reason
    if _pg_state["reason"]:
        pytest.skip(_pg_state["reason"])
    return PG_URL


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = postgres_or_skip()
    schema = f"rw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(str(tmp_path / "store.db"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def golden_lines() -> list[bytes]:
    return (FIXTURES / "jetstream_golden_v1.jsonl").read_bytes().splitlines()


def shared_file(*parts: str) -> Path:
    """A file from ../shared/data, or a clean skip when this checkout has none."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present (shared data sets are not shipped with the project)")
    return path


def store_fingerprint(store: Store) -> dict[str, object]:
    """Everything `stats` counts, less where the store is and the per-source cursors."""
    counts = msgspec.structs.asdict(queries.stats(store))
    for volatile in ("location", "cursors"):
        counts.pop(volatile)
    return counts


@pytest.fixture(scope="session")
def demo_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str, str]]:
    """The demo scenario plus a hostile post, built once per test session for the web tests."""
    from tests.web_fixtures import build_demo_store

    store, trigger, watched = build_demo_store(tmp_path_factory.mktemp("web") / "demo.db")
    try:
        yield store, trigger, watched
    finally:
        store.close()

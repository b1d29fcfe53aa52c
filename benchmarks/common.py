"""Shared helpers for the benchmark scripts: cached generated input and fresh stores."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from reachwatch.scenario.generator import ScenarioConfig
from reachwatch.service.scenario import generate

DATA = Path(os.environ.get("REACHWATCH_BENCH_DATA", Path(__file__).resolve().parents[1] / "bench-data"))
PG_URL = os.environ.get("REACHWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def generated_file(events: int, seed: int = 7) -> Path:
    """A generated Jetstream JSONL file of `events` lines, made once and reused."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"generated-{events}-seed{seed}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".partial")
        with partial.open("wb") as out:
            generate(ScenarioConfig(seed=seed), events, out)
        partial.rename(path)
    return path


def fresh_sqlite(name: str) -> str:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{name}.db"
    for leftover in DATA.glob(f"{name}.db*"):
        leftover.unlink()
    return str(path)


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new schema, dropped afterwards."""
    schema = f"rw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def worktree(root: Path, ref: str, where: Path) -> Iterator[Path]:
    """A detached `git worktree` of `ref` at `where` (an earlier tree to measure beside today's),
    removed afterwards."""
    subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(where), ref],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield where
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(where)],
                       check=False, capture_output=True)  # fmt: skip

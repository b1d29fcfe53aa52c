"""Data safety: nothing is deleted that a user did not ask to delete. An archive of old posts
imported today is today's data; retention is off by default, also for `serve`; its first run needs
a confirmation, which the scheduled job never gives."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reachwatch.cli.main import app
from reachwatch.config import RetentionSettings
from reachwatch.errors import UsageError
from reachwatch.service import retention
from reachwatch.store.database import Store
from tests.conftest import shared_file, store_fingerprint

runner = CliRunner()


def _import_archive(store_url: str, path: Path) -> None:
    done = runner.invoke(app, ["ingest", str(path), "--db", store_url, "--create", "--progress", "none"])
    assert done.exit_code == 0, done.output


def _old_archive(store_url: str) -> Store:
    """Real twarc2 output of 2021 tweets and their retweets (engagements), imported now."""
    _import_archive(store_url, shared_file("payloads", "x_twitter", "twarc2_v2_api", "brexit.jsonl"))
    store = Store.open(store_url)
    counts = store_fingerprint(store)
    assert sum(counts["engagements"].values()) > 0  # type: ignore[attr-defined]
    return store


def test_serving_an_imported_archive_deletes_nothing(store_url: str) -> None:
    store = _old_archive(store_url)
    try:
        before = store_fingerprint(store)
        # Off by default: the job `serve` starts returns at once and deletes nothing.
        stop = threading.Event()
        default = RetentionSettings()
        assert default.enabled is False
        retention.run_every(store, default, stop, first_after_s=0.0)
        # Enabled: the scheduled first run waits for a confirmation instead of deleting.
        enabled = RetentionSettings(enabled=True, every_hours=1)
        job = threading.Thread(target=retention.run_every, args=(store, enabled, stop, 0.05))
        job.start()
        deadline = time.monotonic() + 20
        while retention.SCHEDULE.waiting is None and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        job.join(10)
        assert retention.SCHEDULE.waiting is not None
        assert "first retention run" in retention.SCHEDULE.waiting
        assert store_fingerprint(store) == before
        # Confirmed by hand: still nothing, since it was all collected just now (the posts' own
        # times, September 2021, do not count).
        report = retention.run(store, enabled, confirmed=True, actor="test")
        assert all(c.deleted == 0 for c in report.classes), report
        assert store_fingerprint(store) == before
    finally:
        retention.SCHEDULE.waiting = None
        store.close()


def test_retention_ages_by_collection_time_not_post_time(store_url: str) -> None:
    store = _old_archive(store_url)
    try:
        settings = RetentionSettings(enabled=True, engagement_days=90, raw_days=30)
        later = time.time_ns() // 1000 + 100 * 86_400_000_000  # 100 days after the import
        plan = {c.data_class: c for c in retention.run(store, settings, dry_run=True, now_us=later).classes}
        engagements = plan["engagements of non-watched accounts"]
        assert engagements.deleted == engagements.total > 0  # collected 100 days before `later`
        assert plan["raw payloads"].deleted == plan["raw payloads"].total
    finally:
        store.close()


def test_retention_cli_says_what_to_do(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    assert runner.invoke(app, ["init", "--db", db]).exit_code == 0
    off = runner.invoke(app, ["retention", "--db", db])
    assert isinstance(off.exception, UsageError)  # exit 2 at the command's boundary
    assert "Retention is off" in str(off.exception)
    assert "enabled = true" in str(off.exception)
    first = runner.invoke(app, ["retention", "--db", db], env={"REACHWATCH_RETENTION__ENABLED": "1"})
    assert isinstance(first.exception, UsageError)
    assert "--yes" in str(first.exception)
    confirmed = runner.invoke(
        app, ["retention", "--db", db, "--yes"], env={"REACHWATCH_RETENTION__ENABLED": "1"}
    )
    assert confirmed.exit_code == 0, confirmed.output
    again = runner.invoke(app, ["retention", "--db", db], env={"REACHWATCH_RETENTION__ENABLED": "1"})
    assert again.exit_code == 0, again.output  # not the first any more, and nothing to delete


def test_a_missing_store_is_refused_not_created(tmp_path: Path) -> None:
    db = tmp_path / "typo.db"
    for command in (
        ["post", "x", "--db", str(db)],
        ["stats", "--db", str(db)],
        ["search", "a", "--db", str(db)],
    ):
        found = runner.invoke(app, command)
        assert isinstance(found.exception, UsageError)
        assert "There is no store at" in str(found.exception)
        assert "reachwatch init" in str(found.exception)
        assert not db.exists()


@pytest.mark.parametrize("flag", [[], ["--create"]])
def test_ingest_creates_a_store_only_when_asked(tmp_path: Path, flag: list[str]) -> None:
    db = tmp_path / "new.db"
    source = tmp_path / "empty.jsonl"
    source.write_text("")
    done = runner.invoke(app, ["ingest", str(source), "--db", str(db), "--progress", "none", *flag])
    assert (done.exit_code == 0) == bool(flag), done.output
    assert db.exists() == bool(flag)

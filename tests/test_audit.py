"""The audit trail on both stores: appended in order and chained; the database itself refuses
edits and deletions; and when someone with the database's keys edits, removes or inserts an
entry anyway, `verify` names the first broken one."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from reachwatch.cli.main import app
from reachwatch.errors import StoreDataError, StoreError
from reachwatch.service import audit
from reachwatch.store.database import Store


def _fill(store: Store, count: int = 5) -> None:
    for n in range(count):
        audit.record(store, "officer-1", "view-post", f"bluesky:post{n}", detail={"why": "case 7", "n": n})


def _drop_guards(store: Store) -> None:
    """What someone with direct access to the database could do first."""
    with store.transaction() as conn:
        if store.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


def test_entries_chain_and_verify(store: Store) -> None:
    assert audit.verify(store).intact  # an empty log holds
    _fill(store)
    newest = audit.entries(store, limit=2)
    assert [entry.seq for entry in newest] == [5, 4]
    assert newest[0].prev_hash == newest[1].hash
    found = audit.verify(store)
    assert found.intact
    assert found.entries == 5


def test_the_database_refuses_edits_and_deletions(store: Store) -> None:
    _fill(store, 2)
    with pytest.raises(StoreError, match="append-only"), store.transaction() as conn:
        conn.execute(text("UPDATE audit_log SET target = 'x' WHERE seq = 1"))
    with pytest.raises(StoreError, match="append-only"), store.transaction() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 1"))
    assert audit.verify(store).intact


@pytest.mark.parametrize(
    ("tamper", "broken_at", "reason"),
    [
        ("UPDATE audit_log SET target = 'bluesky:other' WHERE seq = 3", 3, "changed"),
        ("UPDATE audit_log SET actor = 'nobody' WHERE seq = 1", 1, "changed"),
        ("DELETE FROM audit_log WHERE seq = 2", 2, "missing"),
        ("DELETE FROM audit_log WHERE seq = 5", None, ""),  # the newest removed: see below
    ],
)
def test_tampering_is_found(store: Store, tamper: str, broken_at: int | None, reason: str) -> None:
    _fill(store)
    _drop_guards(store)
    with store.transaction() as conn:
        conn.execute(text(tamper))
    found = audit.verify(store)
    if broken_at is None:
        # Cutting the tail leaves a shorter chain that holds: a checkpoint kept outside shows it.
        assert found.intact
        assert found.entries == 4
        return
    assert not found.intact
    assert found.broken_at == broken_at
    assert reason in found.reason


def test_a_forged_entry_with_a_recomputed_hash_still_breaks_the_next(store: Store) -> None:
    _fill(store)
    _drop_guards(store)
    from reachwatch.store.audit import entry_hash

    first = audit.entries(store, limit=5)[-1]
    forged = entry_hash(
        first.prev_hash, 1, first.at_us, first.actor, first.action, "bluesky:forged", None, first.detail
    )
    with store.transaction() as conn:
        conn.execute(
            text("UPDATE audit_log SET target = 'bluesky:forged', hash = :h WHERE seq = 1"), {"h": forged}
        )
    found = audit.verify(store)
    assert not found.intact
    assert found.broken_at == 2  # entry 1 now hashes right, but entry 2 points at the old hash


def test_concurrent_writers_keep_one_chain(store: Store) -> None:
    def write(worker: int) -> None:
        for n in range(10):
            audit.record(store, f"officer-{worker}", "search", f"q{n}")

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = audit.verify(store)
    assert found.intact
    assert found.entries == 40


def test_cli(store_url: str, store: Store) -> None:
    _fill(store, 3)
    runner = CliRunner()
    listed = runner.invoke(app, ["audit", "list", "--db", store_url])
    assert listed.exit_code == 0
    assert "view-post" in listed.output
    assert "intact: 3 entries" in runner.invoke(app, ["audit", "verify", "--db", store_url]).output
    _drop_guards(store)
    with store.transaction() as conn:
        conn.execute(text("UPDATE audit_log SET target = 'x' WHERE seq = 2"))
    broken = runner.invoke(app, ["audit", "verify", "--db", store_url])
    assert isinstance(broken.exception, StoreDataError)
    assert "entry 2 was changed" in str(broken.exception)


def test_a_checkpoint_catches_a_cut_or_rewritten_end(store: Store) -> None:
    _fill(store, 4)
    kept = audit.head(store)
    assert kept.seq == 4
    assert audit.Checkpoint.parse(str(kept)) == kept
    _fill(store, 2)
    assert audit.verify(store, kept).intact  # entries after the checkpoint are fine
    _drop_guards(store)
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
    assert audit.verify(store).intact  # without the checkpoint the shorter chain looks whole
    cut = audit.verify(store, kept)
    assert not cut.intact
    assert "removed from its end" in cut.reason
    # Rewriting the end with a fresh chain from entry 4 on is caught too.
    _fill(store, 1)
    rewritten = audit.verify(store, kept)
    assert (rewritten.intact, rewritten.broken_at) == (False, 4)
    runner = CliRunner()
    with pytest.raises(Exception, match="not a checkpoint"):
        audit.Checkpoint.parse("12:nothex")
    assert runner.invoke(app, ["audit", "head", "--db", store.location]).exit_code == 0


def test_replace_and_truncate_are_refused_too(store: Store) -> None:
    """INSERT OR REPLACE (SQLite) deletes the old row without a DELETE trigger; TRUNCATE
    (PostgreSQL) empties the table without row triggers: both are refused by the database."""
    _fill(store, 3)
    if store.dialect == "sqlite":
        tamper = (
            "INSERT OR REPLACE INTO audit_log (seq, at_us, actor, action, target, case_id, detail, "
            "prev_hash, hash) SELECT seq, at_us, 'forger', action, target, case_id, detail, "
            "prev_hash, hash FROM audit_log WHERE seq = 2"
        )
    else:
        tamper = "TRUNCATE audit_log"
    with pytest.raises(StoreError, match="append-only"), store.transaction() as conn:
        conn.execute(text(tamper))
    assert audit.verify(store).intact
    assert audit.verify(store).entries == 3


def test_with_an_audit_key_an_appended_forgery_is_found(store: Store) -> None:
    """Someone with only the database appends an entry with a correct chain hash: without the
    audit key (kept outside the store) it has no valid MAC, and verify names it."""
    from reachwatch.store.audit import GENESIS, entry_hash

    _fill(store, 2)  # written before the deployment set a key: no MAC, still fine
    store.audit_key = b"kept-outside-the-database"
    _fill(store, 2)
    assert audit.verify(store).intact
    last = audit.entries(store, limit=1)[0]
    seq, at = last.seq + 1, last.at_us + 1
    forged = entry_hash(last.hash, seq, at, "forger", "view-post", "x", None, {})
    assert forged != GENESIS
    with store.transaction() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (seq, at_us, actor, action, target, case_id, detail, prev_hash, hash) "
                "VALUES (:seq, :at, 'forger', 'view-post', 'x', NULL, :detail, :prev, :hash)"
            ),
            {"seq": seq, "at": at, "detail": "{}", "prev": last.hash, "hash": forged},
        )
    found = audit.verify(store)
    assert not found.intact
    assert found.broken_at == seq
    assert "MAC" in found.reason

"""A real ingest process killed with SIGKILL mid-stream loses no acknowledged event and duplicates none."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import store_fingerprint
from reachwatch.scenario.generator import ScenarioConfig
from reachwatch.service.ingest import IngestOptions, ingest_file
from reachwatch.service.scenario import generate
from reachwatch.store import queries
from reachwatch.store.database import Store

SMALL = ScenarioConfig(
    seed=11, baseline_days=6, population=800, coordinated=20, observe_hours=24, engagement_scale=0.5
)


def _ingest_command(path: Path, db: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "reachwatch",
        "ingest",
        str(path),
        "--db",
        str(db),
        "--batch-size",
        "300",
        "--progress",
        "json",
        "--create",
        "--trusted-records",  # the scenario file carries its own protected person
    ]


def _run_until_killed(path: Path, db: Path, acks_before_kill: int, rng: random.Random) -> dict[str, int]:
    """Start an ingest, wait for some acknowledgements, SIGKILL it at a random instant after."""
    process = subprocess.Popen(_ingest_command(path, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    last: dict[str, int] = {}
    try:
        for _ in range(acks_before_kill):
            line = process.stdout.readline()
            if not line:
                break
            message = json.loads(line)
            if "done" in message:
                pytest.fail("the ingest finished before it could be killed; give it a larger file")
            last = message
        time.sleep(rng.uniform(0.0, 0.05))  # somewhere inside the next batch, or its commit
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return last


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing_acknowledged_and_duplicates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with path.open("wb") as out:
        written = generate(SMALL, 25_000, out)
    assert written == 25_000

    reference = Store.open(str(tmp_path / "reference.db"))
    ingest_file(reference, path, IngestOptions(batch_size=1_000, trusted_records=True))
    expected = store_fingerprint(reference)
    reference.close()
    assert expected["raw_events"] == written  # every generated event is distinct and valid

    db = tmp_path / "killed.db"
    rng = random.Random(3)
    for acks in (4, 9, 15):
        acknowledged = _run_until_killed(path, db, acks, rng)
        assert acknowledged, "the ingest acknowledged nothing before it was killed"
        survivor = Store.open(str(db))
        # everything acknowledged is durable: at least as many events as the last acknowledgement said
        assert queries.stats(survivor).raw_events >= acknowledged["events"]
        cursor = json.loads(survivor.get_cursor(f"file:{path.resolve()}") or "{}")
        assert cursor["offset"] >= acknowledged["position"]
        survivor.close()

    finished = subprocess.run(_ingest_command(path, db), capture_output=True, timeout=300, check=True)
    done = json.loads(finished.stdout.splitlines()[-1])["done"]
    assert done["resumed_from"] > 0
    assert done["duplicates"] == 0  # the restart resumed exactly where the last commit ended

    final = Store.open(str(db))
    assert store_fingerprint(final) == expected
    final.close()

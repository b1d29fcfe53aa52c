"""How long `reachwatch` takes to its first output, today's tree against an earlier commit, in one run.

Each command runs in a fresh interpreter (as a user's shell runs it), several times, alternating the
two trees; the table prints the median wall time of each. The earlier tree is a `git worktree` of
`--baseline` (default: the commit before the lazy command table), imported through PYTHONPATH with
the same virtual environment, so only the code differs.

    .venv/bin/python benchmarks/cli_startup.py [--baseline REF] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS: list[list[str]] = [
    ["--version"],
    ["--help"],
    ["eval", "--help"],
    ["post", "--help"],
    ["spillover", "--help"],
    ["coordination", "--help"],
    ["stats", "--db", "{db}"],
    ["search", "Whitfield", "--db", "{db}", "--limit", "3"],
]


def first_output_s(src: Path, args: list[str]) -> float:
    """Seconds from start to the first byte on stdout (or to exit, when nothing is printed)."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "120"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "reachwatch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert process.stdout is not None
    process.stdout.read(1)
    first = time.perf_counter() - started
    process.stdout.read()
    process.wait()
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="ea561f9", help="the earlier commit to compare with")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        baseline = Path(scratch) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline],
                       check=True, capture_output=True)  # fmt: skip
        try:
            db = Path(scratch) / "small.db"
            events = Path(scratch) / "events.jsonl"
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
            cli = [sys.executable, "-m", "reachwatch"]
            subprocess.run([*cli, "generate", "--out", str(events), "--events", "20000"],
                           check=True, capture_output=True, env=env)  # fmt: skip
            subprocess.run([*cli, "ingest", str(events), "--db", str(db), "--create"],
                           check=True, capture_output=True, env=env)  # fmt: skip
            print(f"{'command':<44} {'before (s)':>10} {'now (s)':>8} {'ratio':>6}")
            for command in COMMANDS:
                filled = [part.replace("{db}", str(db)) for part in command]
                before: list[float] = []
                now: list[float] = []
                for _ in range(args.runs):
                    before.append(first_output_s(baseline / "src", filled))
                    now.append(first_output_s(ROOT / "src", filled))
                b, n = statistics.median(before), statistics.median(now)
                shown = " ".join("DB" if part == str(db) else part for part in filled)
                print(f"reachwatch {shown:<33} {b:>10.2f} {n:>8.2f} {b / n:>5.1f}x")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                           check=False, capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()

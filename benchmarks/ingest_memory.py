"""Peak memory of an ingest: `reachwatch ingest` of N generated events, peak RSS of that process.

Run: .venv/bin/python benchmarks/ingest_memory.py --events 5000000
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from common import fresh_sqlite, generated_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    args = parser.parse_args()
    path = generated_file(args.events)
    db = fresh_sqlite("memory")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "reachwatch", "ingest", str(path), "--db", db, "--progress", "none"],
        check=True,
    )
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"{args.events:,} events in {seconds:.0f} s ({args.events / seconds:,.0f} events/s); "
        f"peak RSS of the ingest process: {peak_kib / 1024:,.0f} MiB"
    )


if __name__ == "__main__":
    main()

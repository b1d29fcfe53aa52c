"""Ingest throughput: generated Jetstream JSONL into SQLite and PostgreSQL, in events per second.

Run: .venv/bin/python benchmarks/ingest_throughput.py --events 1000000 [--pg-events 200000]
The ingest runs in this one process (one core); the figure includes reading, parsing,
normalising, enrichment (language, mentions, harm; SQLite is also measured without it), the raw
log, canonical upserts, full-text indexing and the commits.
"""

from __future__ import annotations

import argparse
import os
import time

from common import fresh_postgres, fresh_sqlite, generated_file
from reachwatch.service.ingest import IngestOptions, ingest_file
from reachwatch.store.database import Store


def run(db: str, events: int, batch_size: int, enrich: bool = True) -> tuple[float, int]:
    path = generated_file(events)
    store = Store.open(db)
    started = time.perf_counter()
    report = ingest_file(store, path, IngestOptions(batch_size=batch_size, resume=False, enrich=enrich))
    seconds = time.perf_counter() - started
    store.close()
    assert report.events == events, report
    return seconds, report.events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pg-events", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=IngestOptions().batch_size)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, batch size {args.batch_size}")
    seconds, events = run(fresh_sqlite("throughput"), args.events, args.batch_size)
    line = "sqlite     {:>10,} events in {:7.1f} s = {:>9,.0f} events/s ({})"
    print(line.format(events, seconds, events / seconds, "enriched"))
    seconds, events = run(fresh_sqlite("throughput"), args.events, args.batch_size, enrich=False)
    print(line.format(events, seconds, events / seconds, "no enrichment"))
    if not args.skip_postgres:
        with fresh_postgres() as url:
            seconds, events = run(url, args.pg_events, args.batch_size)
        print(f"postgresql {events:>10,} events in {seconds:7.1f} s = {events / seconds:>9,.0f} events/s")


if __name__ == "__main__":
    main()

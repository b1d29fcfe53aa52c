"""The Jetstream path end to end: a WebSocket replay server on loopback → the live client →
normalise → keep policy → durable batches in SQLite, in events per second on one core.

Run: .venv/bin/python benchmarks/jetstream_live.py --events 500000
The server runs in its own process pinned to the second core; this process (client, pipeline and
store writes, all threads) is pinned to the first. Two modes are measured in the same run:
  keep-all  every event is written (raw log + canonical records), the worst case;
  watched   a watchlist of 1,000 accounts: every event is parsed and checked, the few that
            concern watched accounts are written (what `reachwatch collect` does on the firehose).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import time
from pathlib import Path

from common import fresh_sqlite, generated_file
from reachwatch.connectors.base import Stopper
from reachwatch.connectors.bluesky.stream import JetstreamOptions, JetstreamSource
from reachwatch.service.pipeline import Pipeline, PipelineOptions
from reachwatch.service.tracking import KeepPolicy
from reachwatch.store.database import Store

PORT = 8799
BATCH = int(os.environ.get("BATCH", "20000"))


def serve(path: str, port: int) -> None:
    """Send every line of the file to each client as fast as the socket takes them, then idle."""
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
        os.sched_setaffinity(0, {1})
    from websockets.asyncio.server import serve as ws_serve

    with Path(path).open("rb") as handle:
        lines = [line.rstrip(b"\n").decode() for line in handle]

    async def handler(socket) -> None:  # type: ignore[no-untyped-def]
        for line in lines:
            await socket.send(line)
        await socket.wait_closed()

    async def main() -> None:
        async with ws_serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
            await asyncio.Future()

    asyncio.run(main())


def measure(events: int, path: Path, policy: KeepPolicy | None, label: str) -> None:
    server = multiprocessing.Process(target=serve, args=(str(path), PORT), daemon=True)
    server.start()
    time.sleep(1.5)
    store = Store.open(fresh_sqlite(f"jetstream-{label}"))
    source = JetstreamSource(JetstreamOptions(url=f"ws://127.0.0.1:{PORT}/subscribe"))
    pipeline = Pipeline(
        store, PipelineOptions(batch_size=BATCH), policies={source.name: policy} if policy else None
    )
    stopper = Stopper()
    started = time.perf_counter()

    def until_all_read() -> None:
        while not stopper.stopped:
            report = pipeline.reports.get(source.name)
            if report is not None and report.received >= events:
                stopper.stop()
            time.sleep(0.01)

    pipeline.run([source], stopper, workers=[until_all_read])
    seconds = time.perf_counter() - started
    server.terminate()
    report = pipeline.reports[source.name]
    store.close()
    rate = report.received / seconds
    print(
        f"{label:9s} {report.received:>9,} events in {seconds:6.2f} s = {rate:>8,.0f} events/s "
        f"(written {report.written:,}, not kept {report.dropped:,}, quarantined {report.quarantined:,})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=500_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    path = generated_file(args.events)
    dids = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle):
            if number % 97 == 0 and line.startswith(b'{"did":"'):
                dids.append(line.split(b'"did":"', 1)[1].split(b'"', 1)[0].decode())
    watched = {f"bluesky:{did}" for did in random.Random(1).sample(dids, min(1_000, len(dids)))}
    print(f"Jetstream end to end, {args.events:,} generated events, client pinned to one core")
    measure(args.events, path, None, "keep-all")
    measure(args.events, path, KeepPolicy(watched), "watched")


if __name__ == "__main__":
    main()

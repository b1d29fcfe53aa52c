"""Scale-out over NATS JetStream on loopback: a Jetstream-format capture through 1, then 2 (or
--workers) enrich workers, enrichment on (language, people, the harm transformer), one writer into
PostgreSQL. Prints, per worker count: throughput draining a backlog, the scaling ratio against
one worker, end-to-end p99 (collector publish → committed row) at a steady rate, and the backlog
under a burst of 10× that rate and how long it takes to drain.

    .venv/bin/python benchmarks/bus_scaling.py [--events 6000] [--workers 1,2] [--steady 0.5]

`--steady` is the steady rate as a share of the measured one-worker throughput. Workers run as
separate processes (`reachwatch worker enrich|write`), as deployed; NATS on 127.0.0.1:4222.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import nats

from common import fresh_postgres, generated_file
from reachwatch.config import BusSettings
from reachwatch.service import bus, cluster, workers
from reachwatch.store.database import Store

NATS_URL = os.environ.get("REACHWATCH_TEST_NATS", "nats://127.0.0.1:4222")


def jetstream_lines(events: int) -> Path:
    """The scenario's Jetstream lines only (its canonical header holds configuration)."""
    source = generated_file(max(events * 2, 10_000))
    out = source.with_name(f"jetstream-only-{events}.jsonl")
    if not out.exists():
        lines = [line for line in source.read_bytes().splitlines() if line.startswith(b'{"did"')][:events]
        out.write_bytes(b"\n".join(lines) + b"\n")
    return out


def start(kind: str, db: str, prefix: str, port: int, log: Path, threads: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REACHWATCH_BUS__PREFIX": prefix, "REACHWATCH_BUS__BATCH_SIZE": "200"}
    args = [sys.executable, "-m", "reachwatch", "worker", kind, "--db", db, "--nats", NATS_URL,
            "--metrics-port", str(port)]  # fmt: skip
    if kind == "write":
        args.append("--no-alerts")
    else:  # each worker's model on one core: workers, not threads, are what is scaled
        args += ["--model-threads", str(threads)]
    return subprocess.Popen(args, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def backlog(settings: BusSettings) -> int:
    found = await cluster.status(settings)
    return sum(c.pending + c.ack_pending for c in found.consumers if c.name in (bus.ENRICH, bus.WRITE))


def _raw_count(store: Store) -> int:
    from sqlalchemy import text

    with store.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM raw_events")).scalar_one())


def histogram(metrics: str) -> list[tuple[float, float]]:
    """The end-to-end histogram's cumulative buckets (upper edge, count), +Inf last."""
    found = re.findall(r'reachwatch_end_to_end_seconds_bucket\{le="([^"]+)"\} ([0-9.e+]+)', metrics)
    return [(float(edge), float(count)) for edge, count in found]


def p99(before: list[tuple[float, float]], after: list[tuple[float, float]]) -> float:
    """The 99th percentile of what was observed between two scrapes, as its bucket's upper edge."""
    counts = [(edge, count - (before[i][1] if before else 0.0)) for i, (edge, count) in enumerate(after)]
    total = counts[-1][1] if counts else 0.0
    return next((edge for edge, count in counts if total and count >= 0.99 * total), float("inf"))


async def run_one(capture: Path, n_workers: int, steady: float | None, tmp: Path) -> dict[str, float]:
    prefix = f"rwbench{uuid.uuid4().hex[:8]}"
    settings = BusSettings(url=NATS_URL, prefix=prefix)
    result: dict[str, float] = {}
    with fresh_postgres() as db:
        Store.open(db).close()
        log = tmp / f"workers-{n_workers}.log"
        events = len(capture.read_bytes().splitlines())
        published = await workers.Collector(settings).replay(capture, "bench")
        assert published == events
        procs = [start("write", db, prefix, 9310, log)]
        began = time.perf_counter()
        procs += [start("enrich", db, prefix, 9320 + i, log) for i in range(n_workers)]
        try:
            # From 5 % to 95 % committed: the workers' start (loading the models) is left out.
            marks: dict[float, float] = {}
            while True:
                done = _raw_count_url(db) / events
                for share in (0.05, 0.95):
                    if done >= share and share not in marks:
                        marks[share] = time.perf_counter()
                if done >= 1:
                    break
                await asyncio.sleep(0.25)
            result["drain_s"] = time.perf_counter() - began
            result["throughput"] = 0.9 * events / max(marks[0.95] - marks[0.05], 1e-9)
            if steady is not None:
                result.update(await steady_and_burst(settings, capture, steady))
        finally:
            for process in procs:
                process.terminate()
            for process in procs:
                process.wait(timeout=30)
    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    for name in [*bus.Names(prefix).streams(), f"KV_{prefix}_workers"]:
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
    await client.close()
    return result


def _raw_count_url(db: str) -> int:
    store = Store.open(db)
    try:
        return _raw_count(store)
    finally:
        store.close()


async def steady_and_burst(settings: BusSettings, capture: Path, rate: float) -> dict[str, float]:
    """The capture again under other source names (the writer finds them already stored, so rows
    are not doubled; latency still runs publish → commit): 10 s at `rate`, then 3 s at 10×; the
    backlog sampled each second until it drains."""
    lines = capture.read_bytes().splitlines()
    steady_n, burst_n = int(rate * 10), int(rate * 30)
    steady_file, burst_file = capture.with_name("steady.jsonl"), capture.with_name("burst.jsonl")
    steady_file.write_bytes(b"\n".join(lines[:steady_n]) + b"\n")
    burst_file.write_bytes(b"\n".join(lines[steady_n : steady_n + burst_n]) + b"\n")

    async def publish() -> None:
        await workers.Collector(settings).replay(steady_file, "steady", rate)
        await workers.Collector(settings).replay(burst_file, "burst", rate * 10)

    async with httpx.AsyncClient() as http:
        before = histogram((await http.get("http://127.0.0.1:9310/metrics")).text)
    task = asyncio.create_task(publish())
    started = time.perf_counter()
    most, burst_ended, drained_at = 0, None, None
    while time.perf_counter() - started < 300:
        await asyncio.sleep(1.0)
        depth = await backlog(settings)
        most = max(most, depth)
        if task.done() and burst_ended is None:
            burst_ended = time.perf_counter()
        if task.done() and depth == 0:
            drained_at = time.perf_counter()
            break
    async with httpx.AsyncClient() as http:
        metrics = (await http.get("http://127.0.0.1:9310/metrics")).text
    return {
        "steady_rate": rate,
        "p99_s": p99(before, histogram(metrics)),
        "max_backlog": float(most),
        "drain_after_burst_s": (drained_at - burst_ended) if drained_at and burst_ended else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=6_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--steady", type=float, default=0.5, help="steady rate, share of 1-worker throughput")
    args = parser.parse_args()
    capture = jetstream_lines(args.events)
    tmp = capture.parent
    counts = [int(n) for n in args.workers.split(",")]
    rows = []
    one = None
    for n in counts:
        found = asyncio.run(run_one(capture, n, None, tmp))
        one = one or found["throughput"]
        rows.append((n, found))
    steady_rate = (one or 0) * args.steady
    burst = asyncio.run(run_one(capture, counts[-1], steady_rate, tmp))
    print(f"{args.events:,} Jetstream events, enrichment on (language, people, harm transformer), "
          f"1 writer → PostgreSQL, harm model on 1 thread per worker, {os.cpu_count()} cores")  # fmt: skip
    print(f"{'enrich workers':>14} {'events/s':>10} {'× one':>7} {'drain s':>8}")
    for n, found in rows:
        ratio = found["throughput"] / (one or 1)
        print(f"{n:>14} {found['throughput']:>10,.0f} {ratio:>7.2f} {found['drain_s']:>8.1f}")
    print(
        f"steady {steady_rate:,.0f}/s then 10× for 3 s, {counts[-1]} workers: p99 publish→commit ≤ "
        f"{burst['p99_s']:g} s; backlog peaked at {burst['max_backlog']:,.0f} messages and drained "
        f"{burst['drain_after_burst_s']:.1f} s after the burst"
    )


if __name__ == "__main__":
    main()

"""Alert latency under load: from an event entering ingest to the webhook receiving its alert.

Run: .venv/bin/python benchmarks/alert_latency.py [--seconds 60] [--rate 2000] [--postgres]

A source thread emits background events at --rate per second (likes and reposts of ordinary posts,
and new ordinary posts, as canonical JSON payloads) into the live pipeline (normalise → enrich:
language, people named, harm → write → alert engine). Every --probe-every seconds it also emits a
watched account's post threatening a protected person, which the rule under test matches. A real
HTTP server on loopback receives the signed webhooks and checks each signature; the latency of a
probe is the receiver's clock minus the moment the probe was handed to the pipeline.
"""

from __future__ import annotations

import argparse
import http.server
import random
import statistics
import sys
import threading
import time

import msgspec

from common import fresh_postgres, fresh_sqlite
from reachwatch.alerts.channels import verify
from reachwatch.connectors.base import Fetched, Stopper
from reachwatch.model import Account, Engagement, EngagementKind, Person, Post
from reachwatch.service import alerts
from reachwatch.service.alerts import AlertEngine
from reachwatch.service.delivery import Deliverer
from reachwatch.service.pipeline import Pipeline, PipelineOptions
from reachwatch.store.database import Store

SECRET = "bench-secret"
WATCHED = "bluesky:did:plc:watchedbench"
RULES = """
channels:
  ops: {{type: webhook, url: "{url}", max_attempts: 5}}
rules:
  - id: threat-naming-protected
    title: Threat naming a protected person
    severity: high
    when: {{watched_author: true, protected_person_named: true, harm_flag: {{any_of: [threat]}}}}
    notify: [ops]
"""
WORDS = ("the budget vote tonight rain train match coffee school road news music film").split()  # noqa: SIM905


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.bad_signatures = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                at = time.time()
                if not verify(
                    SECRET.encode(),
                    self.headers["X-Reachwatch-Timestamp"],
                    body,
                    self.headers["X-Reachwatch-Signature"],
                ):
                    receiver.bad_signatures += 1
                receiver.arrived[msgspec.json.decode(body)["post_id"]] = at
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


class LoadSource:
    """Background events at a steady rate, with a probe every `probe_every` seconds."""

    name = "bench"

    def __init__(self, rate: float, seconds: float, probe_every: float) -> None:
        self.rate, self.seconds, self.probe_every = rate, seconds, probe_every
        self.sent: dict[str, float] = {}
        self.background = 0
        self.ran_s = 0.0
        self.rng = random.Random(7)

    def _event(self, n: int) -> bytes:
        rng = self.rng
        if n % 10 == 0:
            post = Post(
                id=f"bluesky:at://did:plc:u{n % 5000}/app.bsky.feed.post/b{n}",
                platform="bluesky",
                author_id=f"bluesky:did:plc:u{n % 5000}",
                created_at_us=time.time_ns() // 1000,
                text=" ".join(rng.choices(WORDS, k=12)),
                lang="en",
            )
            return msgspec.json.encode(post)
        target = rng.randrange(max(1, n // 10))
        kind = EngagementKind.LIKE if rng.random() < 0.8 else EngagementKind.REPOST
        engagement = Engagement(
            id=f"bluesky:at://did:plc:f{n}/app.bsky.feed.{kind.value}/e{n}",
            kind=kind,
            actor_id=f"bluesky:did:plc:f{n % 50_000}",
            post_id=f"bluesky:at://did:plc:u{target * 10 % 5000}/app.bsky.feed.post/b{target * 10}",
            created_at_us=time.time_ns() // 1000,
        )
        return msgspec.json.encode(engagement)

    def run(self, emit: object, stopper: Stopper, cursor: str | None) -> None:
        start = time.monotonic()
        next_probe = start + 2.0  # let the pipeline warm up first
        tick = 0.01
        n = probes = 0
        while not stopper.stopped and time.monotonic() - start < self.seconds:
            due = int((time.monotonic() - start) * self.rate)
            if due > n:
                emit([Fetched(source=self.name, payload=self._event(i)) for i in range(n, due)])  # type: ignore[operator]
                self.background += due - n
                n = due
            if time.monotonic() >= next_probe:
                probes += 1
                post_id = f"bluesky:at://did:plc:watchedbench/app.bsky.feed.post/probe{probes}"
                probe = Post(
                    id=post_id,
                    platform="bluesky",
                    author_id=WATCHED,
                    created_at_us=time.time_ns() // 1000,
                    text=f"Dana Whitfield should be hanged, number {probes}",
                    lang="en",
                )
                self.sent[post_id] = time.time()
                emit(Fetched(source=self.name, payload=msgspec.json.encode(probe)))  # type: ignore[operator]
                next_probe += self.probe_every
            time.sleep(tick)
        self.ran_s = time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="background events per second")
    parser.add_argument("--probe-every", type=float, default=0.5)
    parser.add_argument(
        "--flush-interval", type=float, default=0.25, help="the pipeline's batch deadline (s)"
    )
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL schema instead of SQLite")
    args = parser.parse_args()
    if args.postgres:
        with fresh_postgres() as url:
            run(args, url)
    else:
        run(args, fresh_sqlite("alert-latency"))


def run(args: argparse.Namespace, db: str) -> None:
    store = Store.open(db)
    receiver = Receiver()
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    setup = Pipeline(store)
    setup.write_now(
        [
            Fetched(
                source="setup",
                payload=msgspec.json.encode(Person(id="dana-whitfield", name="Dana Whitfield")),
            ),
            Fetched(
                source="setup",
                payload=msgspec.json.encode(
                    Account(
                        id=WATCHED,
                        platform="bluesky",
                        handle="watched.bench",
                        followers=10_000_000,
                        watched=True,
                    )
                ),
            ),
        ]
    )
    alerts.save_rules(store, RULES.format(url=receiver.url), "bench")
    engine = AlertEngine(store)
    deliverer = Deliverer(
        store,
        lambda: engine.rules,
        webhook_secret=SECRET,
        wake=engine.delivery_wanted,
        allowed_hosts=("127.0.0.1",),
    )
    stopper = Stopper()
    pipeline = Pipeline(
        store, PipelineOptions(flush_interval_s=args.flush_interval), on_written=engine.on_batch
    )
    source = LoadSource(args.rate, args.seconds, args.probe_every)
    pipeline.run(
        [source],
        stopper,
        workers=[lambda: deliverer.run(lambda: stopper.stopped, idle_s=0.2)],
        duration_s=args.seconds + 3,  # the last probes' alerts still go out
    )
    time.sleep(1.0)
    deliverer.deliver_due()
    latencies = sorted(
        (receiver.arrived[p] - t) * 1000 for p, t in source.sent.items() if p in receiver.arrived
    )
    missing = len(source.sent) - len(latencies)
    receiver.server.shutdown()
    deliverer.close()
    report = pipeline.reports.get("bench")
    print(f"store: {store.location}; flush interval {args.flush_interval} s; python {sys.version.split()[0]}")
    print(
        f"background: {source.background:,} events in {source.ran_s:.1f} s = "
        f"{source.background / source.ran_s:,.0f}/s "
        f"(target {args.rate:,.0f}/s); written {report.written if report else 0:,}"
    )
    if not latencies:
        print("no probe alert arrived")
        return
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"probes: {len(source.sent)} sent, {len(latencies)} delivered, {missing} missing, "
        f"{receiver.bad_signatures} bad signatures"
    )
    figures = f"p50 {q[49]:.0f}  p90 {q[89]:.0f}  p99 {q[98]:.0f}  max {latencies[-1]:.0f}"
    print(f"ingest -> webhook latency ms: {figures}")
    store.close()


if __name__ == "__main__":
    main()

"""Health and Prometheus metrics of a worker (and of `serve`): events in and out, backlog per
consumer, batch and end-to-end latency, errors and dead letters, on a small HTTP server of its
own (`/healthz`, `/metrics`), each process with its own registry."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 30, 60, 120)


class WorkerMetrics:
    """One worker's metrics and what its health page says."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.started = time.time()
        self.registry = CollectorRegistry()
        labels = {"kind": kind}
        r = self.registry
        self.events_in = Counter("reachwatch_events_in", "Messages (or batch events) taken in", registry=r)
        self.events_out = Counter("reachwatch_events_out", "Events published on or newly written", registry=r)
        self.duplicates = Counter("reachwatch_duplicates", "Events the store already held", registry=r)
        self.errors = Counter("reachwatch_errors", "Errors, by stage", ["stage"], registry=r)
        self.dead_letters = Counter(
            "reachwatch_dead_letters", "Messages moved to the dead-letter stream", ["stage"], registry=r
        )
        self.stream_full = Counter("reachwatch_stream_full", "Publishes a full stream refused", registry=r)
        self.pending = Gauge(
            "reachwatch_consumer_pending",
            "Messages not yet delivered, per consumer",
            ["consumer"],
            registry=r,
        )
        self.ack_pending = Gauge(
            "reachwatch_consumer_ack_pending", "Delivered, not yet acknowledged", ["consumer"], registry=r
        )
        self.batch_seconds = Histogram("reachwatch_batch_seconds", "Time to handle one batch", registry=r)
        self.latency_seconds = Histogram(
            "reachwatch_end_to_end_seconds", "From the collector's publish to the committed row",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        Gauge("reachwatch_worker_info", "This worker", ["kind"], registry=r).labels(**labels).set(1)
        self.connected: Callable[[], bool] = lambda: False
        self.notes: deque[tuple[float, str]] = deque(maxlen=20)

    def note(self, message: str) -> None:
        self.notes.append((time.time(), message))

    def health(self) -> tuple[int, dict[str, object]]:
        ok = self.connected()
        return (200 if ok else 503), {
            "status": "ok" if ok else "degraded",
            "kind": self.kind,
            "nats": "connected" if ok else "not connected",
            "uptime_s": round(time.time() - self.started, 1),
            "recent": [message for _, message in list(self.notes)[-5:]],
        }


def serve_metrics(metrics: WorkerMetrics, host: str, port: int) -> ThreadingHTTPServer:
    """Serve /healthz and /metrics on (host, port) in a daemon thread; port 0 picks a free one."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/metrics":
                body, status, kind = generate_latest(metrics.registry), 200, CONTENT_TYPE_LATEST
            elif self.path.split("?")[0] == "/healthz":
                status, found = metrics.health()
                body, kind = json.dumps(found).encode(), "application/json"
            else:
                body, status, kind = b"Not found: /healthz or /metrics\n", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server

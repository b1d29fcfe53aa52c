"""`reachwatch worker collect|enrich|write` and `reachwatch cluster status`: the pipeline as
separate processes over NATS JetStream, on as many machines as the load needs."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.options import AsJson, Db
from reachwatch.cli.render import console
from reachwatch.config import BusSettings, Settings, load_settings
from reachwatch.errors import UsageError
from reachwatch.service import cluster, platforms, workers
from reachwatch.service.alerts import AlertEngine
from reachwatch.service.collect import Stopper, live_plan
from reachwatch.service.pipeline import SourceReport
from reachwatch.service.store_access import open_store
from reachwatch.service.worker_metrics import serve_metrics

app = typer.Typer(help="Run one part of the pipeline as a worker on NATS JetStream.", no_args_is_help=True)
cluster_app = typer.Typer(
    help="The workers' streams, consumers and backlog on NATS JetStream.", no_args_is_help=True
)

Nats = Annotated[str | None, typer.Option("--nats", help="NATS URL(s) (default: the bus.url setting).")]
MetricsPort = Annotated[
    int | None,
    typer.Option(help="Serve /healthz and /metrics on this port (0: any free one; default: none)."),
]
MetricsHost = Annotated[str, typer.Option(help="Address the metrics server listens on.")]


def _run(worker: workers.Worker, job: object, port: int | None, host: str) -> None:
    """Run a worker until SIGINT/SIGTERM (finishing the batch in hand), with its metrics served."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    if port is not None:
        server = serve_metrics(worker.metrics, host, port)
        console.print(
            f"{worker.kind} worker: /healthz and /metrics on http://{host}:{server.server_port}", markup=False
        )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.stop)
        await job  # type: ignore[misc]

    asyncio.run(main())


def _bus(nats: str | None, db: str | None = None) -> tuple[Settings, BusSettings]:
    """The settings, and the bus section with --nats in place of its URL when given."""
    settings = load_settings(db=db)
    return settings, settings.bus if nats is None else settings.bus.model_copy(update={"url": nats})


@app.command("collect")
def collect(
    file: Annotated[
        Path | None,
        typer.Argument(help="A JSONL capture (Jetstream, canonical, …), one payload a line; or --live."),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live", help="Run the platforms' live streams for the watchlist and registry (as collect does)."
        ),
    ] = False,
    db: Db = None,
    source: Annotated[
        str, typer.Option(help="The source name a file's events are recorded under.")
    ] = "replay",
    rate: Annotated[
        float | None, typer.Option(help="Payloads a second (default: as fast as the stream takes them).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Stop after this many payloads.")] = None,
    nats: Nats = None,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Publish payloads to the raw stream exactly as received, with their provenance: a file's
    lines, or with --live what the platforms' live streams give and the keep policy keeps; when the
    stream is full, wait (backpressure) rather than drop."""
    if (file is None) == (not live):
        raise UsageError("Give either a FILE to replay or --live (the platforms' live streams), not both.")
    if rate is not None and rate <= 0:
        raise UsageError("--rate must be above 0 payloads a second.")
    settings, bus_settings = _bus(nats, db)
    worker = workers.Collector(bus_settings)
    if file is not None:
        _run(worker, _report(worker.replay(file, source, rate, limit=limit)), metrics_port, metrics_host)
        return
    if rate is not None or limit is not None:
        raise UsageError("--rate and --limit apply to a FILE replay, not to --live.")
    stopper = Stopper()
    store = open_store(settings)
    clients = platforms.clients(settings, stopper)
    try:
        plan = live_plan(store, clients)
    finally:
        store.close()
    if not plan.sources:
        clients.close()
        raise UsageError(
            "No live stream to run: watch an account (`reachwatch watch add`) or register a protected "
            "person (`reachwatch people add`), and check the platforms' settings."
        )
    console.print(f"live: {', '.join(source.name for source in plan.sources)}", markup=False)
    try:
        job = worker.live(plan.sources, plan.policies, plan.cursors, stopper=stopper)
        _run(worker, _live_report(job), metrics_port, metrics_host)
    finally:
        clients.close()


async def _live_report(job: Awaitable[dict[str, SourceReport]]) -> None:
    for report in (await job).values():
        line = f"{report.source}: {report.received:,} received, {report.written:,} published, "
        line += f"{report.dropped:,} not kept" + (f"; stopped: {report.error}" if report.error else "")
        console.print(line, markup=False)


async def _report(job: object) -> None:
    sent = await job  # type: ignore[misc]
    console.print(f"published {sent:,} payload(s)", markup=False)


@app.command("enrich")
def enrich(
    db: Db = None,
    nats: Nats = None,
    no_enrich: Annotated[
        bool, typer.Option("--no-enrich", help="Normalise only (no language, people, harm).")
    ] = False,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Take raw payloads from the shared work queue, normalise and enrich them, publish write
    batches; run as many as the load needs, on any machine that reaches NATS."""
    settings, bus_settings = _bus(nats, db)
    store = open_store(settings)
    stage = workers.open_stage(store, not no_enrich)
    store.close()
    worker = workers.EnrichWorker(bus_settings, stage, max_payload_bytes=settings.max_payload_bytes)
    _run(worker, worker.run(), metrics_port, metrics_host)


@app.command("write")
def write(
    db: Db = None,
    nats: Nats = None,
    no_alerts: Annotated[
        bool, typer.Option("--no-alerts", help="Do not evaluate alert rules after writing.")
    ] = False,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Write enriched batches to the store (PostgreSQL for several writers), then evaluate the
    alert rules and acknowledge; file dead letters into the quarantine."""
    settings, bus_settings = _bus(nats, db)
    store = open_store(settings)
    engine = None if no_alerts else AlertEngine(store)
    worker = workers.WriteWorker(bus_settings, store, alerts=engine)
    try:
        _run(worker, worker.run(), metrics_port, metrics_host)
    finally:
        store.close()


@cluster_app.command("status")
def status(nats: Nats = None, as_json: AsJson = False) -> None:
    """Streams (messages, bytes, limits), consumers (backlog, unacknowledged, redelivered) and the
    workers taking from each."""
    _, bus_settings = _bus(nats)
    found = asyncio.run(cluster.status(bus_settings))
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    streams = Table(title=f"Streams on {found.url}")
    for column in ("stream", "messages", "bytes", "limit (bytes)", "when full"):
        streams.add_column(column)
    for stream in found.streams:
        limit = "none" if stream.max_bytes < 0 else f"{stream.max_bytes:,}"
        streams.add_row(stream.name, f"{stream.messages:,}", f"{stream.bytes:,}", limit, stream.discard)
    console.print(streams)
    consumers = Table(title="Consumers (each a work queue shared by its workers)")
    for column in ("consumer", "stream", "backlog", "unacknowledged", "redelivered", "workers waiting"):
        consumers.add_column(column)
    for consumer in found.consumers:
        consumers.add_row(
            consumer.name, consumer.stream, f"{consumer.pending:,}", f"{consumer.ack_pending:,}",
            f"{consumer.redelivered:,}", str(consumer.waiting),
        )  # fmt: skip
    console.print(consumers)
    team = Table(title=f"Workers reporting in ({len(found.workers)})")
    for column in ("worker", "kind", "last seen", "events in", "events out"):
        team.add_column(column)
    for worker in found.workers:
        team.add_row(
            worker.id,
            worker.kind,
            f"{worker.seen_s_ago:.0f} s ago",
            f"{worker.events_in:,}",
            f"{worker.events_out:,}",
        )
    console.print(team)

"""`reachwatch coordination`: accounts acting in concert, with the evidence, and an export."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.options import AsJson, Db, Names
from reachwatch.cli.render import console, safe
from reachwatch.cli.session import viewing
from reachwatch.errors import UsageError
from reachwatch.model import micros_from_datetime
from reachwatch.service.coordination import (
    SIGNALS,
    CoordinationOptions,
    EdgeEvidence,
    cluster_evidence,
    detect,
    edge_evidence,
)
from reachwatch.service.exports import export_network

UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600}


def parse_window(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*", text)
    if match is None:
        raise UsageError(f"--window {text!r}: write seconds, or a number with s, m or h (60s, 5m).")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def parse_time(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        return micros_from_datetime(datetime.fromisoformat(text))
    except ValueError as exc:
        raise UsageError(f"{text!r} is not an ISO time (e.g. 2026-10-13 or 2026-10-13T18:00:00Z).") from exc


def coordination(
    db: Db = None,
    window: Annotated[str, typer.Option(help="How close in time co-actions must be: 60s, 5m, 1h.")] = "60s",
    since: Annotated[str | None, typer.Option(help="From this ISO time (default: everything).")] = None,
    until: Annotated[str | None, typer.Option(help="Until this ISO time (default: now).")] = None,
    signal: Annotated[
        list[str] | None,
        typer.Option(help=f"Signals to use (repeatable): {', '.join(SIGNALS)}. Default: all."),
    ] = None,
    min_weight: Annotated[int, typer.Option(help="Co-actions for an edge between two accounts.")] = 2,
    min_repeats: Annotated[int, typer.Option(help="Items a cluster must have acted on together.")] = 3,
    similarity: Annotated[
        float, typer.Option(min=0.05, max=1.0, help="Word-set Jaccard for near-duplicate texts.")
    ] = 0.9,
    export: Annotated[
        Path | None, typer.Option(help="Write the network: .gexf, .graphml, .csv or .parquet.")
    ] = None,
    chunk_actions: Annotated[
        int,
        typer.Option(
            min=1,
            help="About how many actions of a signal are held at once (read in time chunks).",
        ),
    ] = CoordinationOptions(since_us=0, until_us=1).chunk_actions,
    edge: Annotated[
        list[str] | None,
        typer.Option(help="Twice: two accounts (ids or pseudonyms); shows the evidence behind their edge."),
    ] = None,
    as_json: AsJson = False,
    names_under_case: Names = None,
) -> None:
    """Accounts that repost, link or tag the same things within seconds, again and again (ordinary
    accounts by pseudonym unless named under an open case)."""
    options = CoordinationOptions(
        since_us=parse_time(since, 0),
        until_us=parse_time(until, 2**62),
        window_s=parse_window(window),
        min_weight=min_weight,
        min_repeats=min_repeats,
        similarity=similarity,
        signals=signal or list(SIGNALS),
        chunk_actions=chunk_actions,
    )
    if edge is not None:
        _edge(db, names_under_case, options, edge, as_json)
        return
    with viewing(db, names_under_case) as (store, viewer):
        found = detect(store, options)
        evidence = cluster_evidence(store, options, found[1]) if export is not None else []
        report, network = viewer.show(found, "coordination", "all", via="cli")
        evidence = viewer.show(evidence, "export", "coordination evidence", via="cli") if evidence else []
    written = export_network(network, export, evidence) if export is not None else []
    if as_json:
        print(msgspec.json.encode(report).decode())
        return
    edges = ", ".join(f"{name} {count:,} edges" for name, count in report.edges.items())
    console.print(
        f"{report.accounts:,} accounts in the co-action network ({edges}); "
        f"{len(report.clusters)} coordinated cluster(s); {report.seconds:.2f} s",
        markup=False,
    )
    if report.signal_clusters:
        flagged = {account for cluster in report.clusters for account in cluster.accounts}
        alone = "; ".join(
            f"{signal} {sum(c.size for c in clusters):,} in {len(clusters)} cluster(s)"
            for signal, clusters in report.signal_clusters.items()
        )
        console.print(
            f"accounts flagged: merged view {len(flagged):,}; each signal alone: {alone}", markup=False
        )
    for cluster in report.clusters:
        table = Table(title=f"cluster {cluster.label}: {cluster.size} accounts, score {cluster.score:.1f}")
        for column in ("signal", "item", "members", "spread (s)"):
            table.add_column(column)
        for item in cluster.evidence:
            table.add_row(item.signal, safe(item.item, 70), str(item.members), f"{item.spread_s:.1f}")
        console.print(table)
        console.print(
            safe("accounts: " + ", ".join(cluster.accounts[:12]) + (" …" if cluster.size > 12 else ""))
        )
    for path in written:
        console.print(f"wrote {path}", markup=False)


def _edge(
    db: str | None, names: str | None, options: CoordinationOptions, ends: list[str], as_json: bool
) -> None:
    """The evidence behind one edge: every co-action of the two accounts, by signal."""
    if len(ends) != 2:
        raise UsageError("Give --edge twice: the two accounts of the edge (ids or the pseudonyms shown).")
    with viewing(db, names) as (store, viewer):
        a, b = viewer.account(ends[0]), viewer.account(ends[1])
        found = EdgeEvidence(accounts=[a, b], items=edge_evidence(store, options, a, b))
        found = viewer.show(found, "coordination", f"edge {a} {b}", via="cli")
    if as_json:
        print(msgspec.json.encode(found).decode())
        return
    table = Table(title=f"{found.accounts[0]} — {found.accounts[1]}: {len(found.items)} co-action(s)")
    for column in ("signal", "item", "first's message", "second's message", "apart (s)"):
        table.add_column(column)
    for item in found.items:
        table.add_row(
            item.signal, safe(item.item, 50), safe(item.a_message, 50), safe(item.b_message, 50),
            f"{item.seconds_apart:.1f}",
        )  # fmt: skip
    console.print(table)

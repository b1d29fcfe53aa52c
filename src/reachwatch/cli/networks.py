"""`reachwatch network` and `reachwatch export network`: who engages with whom, their
communities and bridges, written for Gephi, R or pandas."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.coordination import parse_time, parse_window
from reachwatch.cli.options import AsJson, Db, Names
from reachwatch.cli.render import console, safe
from reachwatch.cli.session import viewing
from reachwatch.service.coordination import CoordinationOptions, cluster_evidence, detect
from reachwatch.service.exports import FORMATS, export_network
from reachwatch.service.networks import NetworkKind, NetworkOptions, NetworkReport, build

export_app = typer.Typer(help="Write data out for other tools.", no_args_is_help=True)

Post = Annotated[str | None, typer.Option(help="A post id: the post, its thread and its quotes.")]
Account = Annotated[str | None, typer.Option(help="An account id: its posts and the threads under them.")]
Since = Annotated[str | None, typer.Option(help="Posts from this ISO time.")]
Until = Annotated[str | None, typer.Option(help="Posts until this ISO time.")]
MinWeight = Annotated[int, typer.Option(help="Interactions or shared posts for an edge.")]


class ExportKind(StrEnum):
    INTERACTION = "interaction"
    CO_ENGAGEMENT = "co-engagement"
    COORDINATION = "coordination"


def _options(
    kind: NetworkKind,
    post: str | None,
    account: str | None,
    since: str | None,
    until: str | None,
    weight: int,
) -> NetworkOptions:
    return NetworkOptions(
        kind=kind, post_id=post, author_id=account, since_us=parse_time(since, 0),
        until_us=parse_time(until, 2**62), min_weight=weight,
    )  # fmt: skip


def network(
    db: Db = None,
    kind: Annotated[NetworkKind, typer.Option(help="Which network.")] = NetworkKind.INTERACTION,
    post: Post = None,
    account: Account = None,
    since: Since = None,
    until: Until = None,
    min_weight: MinWeight = 1,
    export: Annotated[Path | None, typer.Option(help=f"Also write it: {', '.join(FORMATS)}.")] = None,
    as_json: AsJson = False,
    names_under_case: Names = None,
) -> None:
    """Communities of engaging accounts (Leiden), what each talks about, and the bridges between.
    Ordinary engagers are shown (and exported) by pseudonym unless named under an open case."""
    with viewing(db, names_under_case) as (store, viewer):
        post = viewer.resolve(post) if post else None
        account = viewer.account(account) if account else None
        report, graph = viewer.show(
            build(store, _options(kind, post, account, since, until, min_weight)),
            "view-network", post or account or "all", kind=kind.value, via="cli",
        )  # fmt: skip
    written = export_network(graph, export) if export is not None else []
    if as_json:
        print(msgspec.json.encode(report).decode())
        return
    _print(report)
    for path in written:
        console.print(f"wrote {path}", markup=False)


def _print(report: NetworkReport) -> None:
    console.print(
        f"{report.options.kind} network: {report.accounts:,} accounts, {report.edges:,} edges from "
        f"{report.engagements:,} engagements; {report.seconds:.2f} s"
        + (
            f"; on {report.hub_posts:,} post(s) with more than {report.options.max_post_engagers:,} "
            f"engagers, each tied to the {report.options.time_neighbours} who engaged next"
            if report.hub_posts
            else ""
        ),
        markup=False,
    )
    table = Table(title="Communities (Leiden), largest first")
    for column in ("#", "size", "engagement", "top accounts", "hashtags", "domains"):
        table.add_column(column)
    for community in report.communities:
        table.add_row(
            str(community.label),
            f"{community.size:,}",
            f"{community.engagement_share:.0%}",
            safe(", ".join(top.handle or top.account for top in community.top_accounts[:3]), 60),
            safe(", ".join(f"#{tag} {n}" for tag, n in community.top_hashtags[:3]), 40),
            safe(", ".join(f"{domain} {n}" for domain, n in community.top_domains[:3]), 40),
        )
    console.print(table)
    bridges = Table(title=f"Bridging accounts (betweenness {report.betweenness} × participation)")
    for column in ("account", "score", "betweenness", "participation", "communities"):
        bridges.add_column(column)
    for bridge in report.bridges:
        bridges.add_row(
            safe(bridge.handle or bridge.account, 50), f"{bridge.score:.4f}", f"{bridge.betweenness:.4f}",
            f"{bridge.participation:.2f}", str(bridge.communities),
        )  # fmt: skip
    console.print(bridges)


@export_app.command("network")
def export_network_command(
    out: Annotated[Path, typer.Argument(help=f"File to write: {', '.join(FORMATS)}.")],
    db: Db = None,
    kind: Annotated[ExportKind, typer.Option(help="Which network.")] = ExportKind.INTERACTION,
    post: Post = None,
    account: Account = None,
    since: Since = None,
    until: Until = None,
    min_weight: Annotated[
        int | None,
        typer.Option(
            help="Interactions, shared posts or co-actions for an edge (default: as `network` "
            "and `coordination` use: 1, and 2 for coordination)."
        ),
    ] = None,
    window: Annotated[str, typer.Option(help="Coordination only: the co-action window.")] = "60s",
    names_under_case: Names = None,
) -> None:
    """Write the interaction, co-engagement or coordination network with each account's community
    (ordinary engagers by pseudonym unless named under an open case)."""
    with viewing(db, names_under_case) as (store, viewer):
        post = viewer.resolve(post) if post else None
        account = viewer.account(account) if account else None
        if kind == ExportKind.COORDINATION:
            options = CoordinationOptions(
                since_us=parse_time(since, 0),
                until_us=parse_time(until, 2**62),
                window_s=parse_window(window),
            )
            if min_weight is not None:  # else `reachwatch coordination`'s default: it flags whom that flags
                options.min_weight = max(min_weight, 1)
            _, graph = detect(store, options)
            evidence = viewer.show(cluster_evidence(store, options, graph), "export", "coordination evidence",
                                   via="cli")  # fmt: skip
        else:
            weight = 1 if min_weight is None else min_weight
            _, graph = build(store, _options(NetworkKind(kind.value), post, account, since, until, weight))
            evidence = []
        graph = viewer.show(graph, "export", f"{kind.value} network", file=str(out), via="cli")
    for path in export_network(graph, out, evidence):
        console.print(
            f"wrote {path} ({len(graph.accounts):,} accounts, {len(graph.weight):,} edges)", markup=False
        )

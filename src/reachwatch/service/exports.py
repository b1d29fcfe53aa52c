"""Networks written for the tools researchers use: GEXF and GraphML (Gephi), CSV edge and node
lists (R, pandas), Parquet (Arrow). Names of accounts are written as given; nothing is executed."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import igraph as ig
import pyarrow as pa
import pyarrow.parquet as pq

from reachwatch.errors import UsageError
from reachwatch.service.coordination import EdgeEvidence, Network
from reachwatch.service.spreadsheet import safe_cell

FORMATS = (".gexf", ".graphml", ".csv", ".parquet")


def _node_rows(network: Network) -> list[dict[str, object]]:
    return [
        {"id": index, "account": account, "cluster": cluster, "flagged": flagged}
        for index, (account, cluster, flagged) in enumerate(
            zip(network.accounts, network.cluster, network.flagged, strict=True)
        )
    ]


def _edge_rows(network: Network) -> list[dict[str, object]]:
    rows = []
    for position, (source, target, weight) in enumerate(
        zip(network.source, network.target, network.weight, strict=True)
    ):
        row: dict[str, object] = {"source": source, "target": target, "weight": weight}
        for signal, weights in network.signal_weights.items():
            row[signal.replace("-", "_")] = weights[position]
        rows.append(row)
    return rows


def _iso(at_us: int) -> str:
    """ISO 8601 in UTC to the microsecond, as every download writes times."""
    return datetime.fromtimestamp(at_us / 1e6, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _evidence_rows(network: Network, evidence: list[EdgeEvidence]) -> list[dict[str, object]]:
    index = {account: i for i, account in enumerate(network.accounts)}
    return [
        {
            "source": index.get(edge.accounts[0], -1),
            "target": index.get(edge.accounts[1], -1),
            "source_account": edge.accounts[0],
            "target_account": edge.accounts[1],
            "signal": item.signal,
            "item": item.item,
            "source_message": item.a_message,
            "target_message": item.b_message,
            "source_at": _iso(item.a_at_us),
            "target_at": _iso(item.b_at_us),
            "seconds_apart": item.seconds_apart,
        }
        for edge in evidence
        for item in edge.items
    ]


def export_network(network: Network, path: Path, evidence: list[EdgeEvidence] | None = None) -> list[Path]:
    """Write the network in the format its suffix names; returns the files written. With
    `evidence`, also the messages behind each edge, one row per co-action, beside it
    (`NAME.evidence.csv` or `.parquet`; CSV beside a GEXF or GraphML file)."""
    written = _export_network(network, path)
    if evidence:
        rows = _evidence_rows(network, evidence)
        suffix = ".parquet" if path.suffix.lower() == ".parquet" else ".csv"
        target = path.with_name(f"{path.stem}.evidence{suffix}")
        if suffix == ".csv":
            with target.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["source"])
                writer.writeheader()
                writer.writerows({key: safe_cell(value) for key, value in row.items()} for row in rows)
        else:
            pq.write_table(pa.Table.from_pylist(rows), target)
        written.append(target)
    return written


def _export_network(network: Network, path: Path) -> list[Path]:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"Cannot export to {path.name}: use one of {', '.join(FORMATS)}.")
    if not path.parent.is_dir():
        raise UsageError(f"Cannot export to {path}: the folder does not exist.")
    nodes, edges = _node_rows(network), _edge_rows(network)
    if suffix == ".graphml":
        graph = ig.Graph(n=len(nodes), edges=[(e["source"], e["target"]) for e in edges], directed=True)
        for key in ("account", "cluster", "flagged"):
            graph.vs[key] = [node[key] for node in nodes]
        for key in edges[0] if edges else ():
            if key not in ("source", "target"):
                graph.es[key] = [edge[key] for edge in edges]
        graph.write_graphml(str(path))
        return [path]
    if suffix == ".gexf":
        _write_gexf(nodes, edges, path)
        return [path]
    node_path = path.with_name(f"{path.stem}.nodes{suffix}")
    if suffix == ".csv":
        for rows, target in ((edges, path), (nodes, node_path)):
            with target.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["id"])
                writer.writeheader()
                writer.writerows({key: safe_cell(value) for key, value in row.items()} for row in rows)
        return [path, node_path]
    pq.write_table(pa.Table.from_pylist(edges), path)
    pq.write_table(pa.Table.from_pylist(nodes), node_path)
    return [path, node_path]


def _write_gexf(nodes: list[dict[str, object]], edges: list[dict[str, object]], path: Path) -> None:
    root = ET.Element("gexf", {"xmlns": "http://gexf.net/1.3", "version": "1.3"})
    graph = ET.SubElement(root, "graph", {"defaultedgetype": "directed", "mode": "static"})
    attributes = ET.SubElement(graph, "attributes", {"class": "node"})
    for index, (name, kind) in enumerate((("cluster", "integer"), ("flagged", "boolean"))):
        ET.SubElement(attributes, "attribute", {"id": str(index), "title": name, "type": kind})
    node_list = ET.SubElement(graph, "nodes")
    for node in nodes:
        element = ET.SubElement(node_list, "node", {"id": str(node["id"]), "label": str(node["account"])})
        values = ET.SubElement(element, "attvalues")
        ET.SubElement(values, "attvalue", {"for": "0", "value": str(node["cluster"])})
        ET.SubElement(values, "attvalue", {"for": "1", "value": str(node["flagged"]).lower()})
    edge_list = ET.SubElement(graph, "edges")
    for index, edge in enumerate(edges):
        ET.SubElement(
            edge_list,
            "edge",
            {
                "id": str(index),
                "source": str(edge["source"]),
                "target": str(edge["target"]),
                "weight": str(edge["weight"]),
            },
        )
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)

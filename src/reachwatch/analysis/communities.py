"""Clusters of accounts in a weighted network, with Leiden (igraph + leidenalg): the established
method, fast on a million edges, seeded so the same input gives the same clusters."""

from __future__ import annotations

import igraph as ig
import leidenalg as la
import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]


def undirected(n_nodes: int, source: Ints, target: Ints, weight: npt.NDArray[np.float64]) -> ig.Graph:
    """The weighted undirected graph: u→v and v→u become one edge carrying both weights."""
    graph = ig.Graph(n=n_nodes, edges=np.column_stack([source, target]).tolist(), directed=False)
    graph.es["weight"] = weight.tolist()
    return graph.simplify(combine_edges="sum")


def leiden(n_nodes: int, source: Ints, target: Ints, weight: npt.NDArray[np.float64], seed: int = 7) -> Ints:
    """A community label per node (isolated nodes get their own); edges taken as undirected."""
    return leiden_on(undirected(n_nodes, source, target, weight), seed)


def leiden_on(graph: ig.Graph, seed: int = 7) -> Ints:
    """`leiden` on a graph already built with `undirected`."""
    partition = la.find_partition(graph, la.ModularityVertexPartition, weights="weight", seed=seed)
    return np.asarray(partition.membership, dtype=np.int64)


def positions(n_nodes: int, source: Ints, target: Ints, weight: npt.NDArray[np.float64]) -> list[list[float]]:
    """Where to draw each node, scaled into [0, 1000]²: a radial tree (Reingold–Tilford) around the
    most connected node of each component — for a cascade, the author in the middle and each ring
    one step further along the chains — with no randomness, so the same network is drawn the same
    way every time, in about a millisecond for a thousand nodes."""
    if n_nodes < 2:
        return [[500.0, 500.0]] * n_nodes
    graph = undirected(n_nodes, source, target, weight)
    strength = np.asarray(graph.strength(weights="weight"), dtype=np.float64)
    roots = [max(members, key=lambda i: (strength[i], -i)) for members in graph.connected_components()]
    coords = np.asarray(
        graph.layout_reingold_tilford_circular(mode="all", root=roots).coords, dtype=np.float64
    )
    low = coords.min(axis=0)
    span = float(max(np.ptp(coords, axis=0).max(), 1e-9))
    placed: list[list[float]] = np.round((coords - low) / span * 1000.0, 1).tolist()
    return placed

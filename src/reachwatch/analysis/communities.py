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


def dense_groups(
    n_nodes: int, source: Ints, target: Ints, weight: npt.NDArray[np.float64], density: float, seed: int = 7
) -> Ints:
    """A group label per node by Leiden on the Constant Potts Model at resolution `density`: a set
    of nodes is worth grouping when its edge weight per pair of members exceeds `density`. In a
    partition no single move improves, every group of two or more has at least that density, so
    a tight group is never merged into a looser one below it (modularity does that: its resolution
    scales with the whole graph) and a clique far above it is never split."""
    graph = undirected(n_nodes, source, target, weight)
    partition = la.find_partition(
        graph, la.CPMVertexPartition, weights="weight", resolution_parameter=density, seed=seed,
        n_iterations=-1,
    )  # fmt: skip
    return np.asarray(partition.membership, dtype=np.int64)


def positions(
    n_nodes: int,
    source: Ints,
    target: Ints,
    weight: npt.NDArray[np.float64],
    *,
    clusters: Ints | None = None,
) -> list[list[float]]:
    """Where to draw each node, scaled into [0, 1000]²: a radial tree (Reingold–Tilford) around the
    most connected node of each component — for a cascade, the author in the middle and each ring
    one step further along the chains — or, given `clusters`, each community as its own disc
    (largest first, from the middle outwards) with its strongest members at its centre. Neither
    draws on randomness, so the same network is drawn the same way every time."""
    if n_nodes < 2:
        return [[500.0, 500.0]] * n_nodes
    graph = undirected(n_nodes, source, target, weight)
    strength = np.asarray(graph.strength(weights="weight"), dtype=np.float64)
    if clusters is not None:
        coords = _discs(np.asarray(clusters, dtype=np.int64), strength)
    else:
        roots = [max(members, key=lambda i: (strength[i], -i)) for members in graph.connected_components()]
        coords = np.asarray(
            graph.layout_reingold_tilford_circular(mode="all", root=roots).coords, dtype=np.float64
        )
    low = coords.min(axis=0)
    span = float(max(np.ptp(coords, axis=0).max(), 1e-9))
    placed: list[list[float]] = np.round((coords - low) / span * 1000.0, 1).tolist()
    return placed


GOLDEN_ANGLE = np.pi * (3 - np.sqrt(5))


def _sunflower(n: int) -> npt.NDArray[np.float64]:
    """n points filling a disc of radius √n evenly (Vogel's spiral), the first at the centre."""
    k = np.arange(n, dtype=np.float64)
    return np.column_stack([np.cos(k * GOLDEN_ANGLE), np.sin(k * GOLDEN_ANGLE)]) * np.sqrt(k + 0.5)[:, None]


def _discs(labels: Ints, strength: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A disc per community, its members by strength from the centre; the discs laid largest
    first in rows (shelf packing) about as wide as the whole is tall, never overlapping."""
    coords = np.zeros((len(labels), 2), dtype=np.float64)
    found, sizes = np.unique(labels, return_counts=True)
    radii = np.sqrt(sizes + 0.5) + 1.0  # a margin between discs
    width = max(float(np.sqrt(np.sum((2 * radii) ** 2))), float(2 * radii.max()))
    x = y = row_height = 0.0
    for at in np.lexsort((found, -sizes)).tolist():
        members = np.flatnonzero(labels == found[at])
        members = members[np.lexsort((members, -strength[members]))]
        side = 2 * float(radii[at])
        if x > 0 and x + side > width:
            x, y, row_height = 0.0, y + row_height, 0.0
        coords[members] = np.asarray([x + side / 2, y + side / 2]) + _sunflower(len(members))
        x, row_height = x + side, max(row_height, side)
    return coords

"""The shape of a cascade: the spread tree of a post (node 0 the post, every repost, quote and reply
a node under the one it came through), its depth, widest level and structural virality.

Structural virality (Goel, Anderson, Hofman & Watts, Management Science 2016) is the mean distance
between all pairs of nodes. In a tree it equals the Wiener index over the pair count, and the
Wiener index is Σ over edges of s·(n − s), s the size of the subtree below the edge, so it is
computed exactly in linear time for any size: no sampling approximation is needed, even for
millions of nodes. Depths come from pointer doubling and subtree sizes level by level (NumPy);
a chain deeper than 1,000 levels is summed in one reverse pass instead.
"""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

LEVELS_VECTORISED = 1_000

Ints = npt.NDArray[np.int64]


class CascadeShape(msgspec.Struct, kw_only=True):
    size: int  # nodes, the post included
    depth: int  # the longest path from the post, in hops
    max_breadth: int  # the most nodes at one depth
    structural_virality: float
    through_others: int  # nodes attached through another engagement, not straight to the post
    cycles_cut: int  # nodes whose parent links looped (bad data): attached to the post instead


def _depths(parent: Ints) -> tuple[Ints, Ints]:
    """Depth of every node by pointer doubling; nodes caught in a cycle come back as -1."""
    n = len(parent)
    jump = parent.copy()
    dist = (np.arange(n) != 0).astype(np.int64)
    for _ in range(max(1, int(np.ceil(np.log2(max(n, 2))))) + 1):
        dist = dist + dist[jump]
        jump = jump[jump]
    looped = jump != 0
    dist[looped] = -1
    return dist, looped


def shape(size: int, parent: Ints) -> CascadeShape:
    """The shape of a cascade of `size` nodes (the post included).

    `parent` covers only the nodes that matter to the structure: the post (index 0, its own
    parent) and every node that hangs under, or has children under, another engagement;
    parent[i] is the index of node i's parent. The other size − len(parent) nodes are leaves
    straight under the post, counted without being listed, so a million plain reposts cost nothing.
    """
    parent = parent.astype(np.int64, copy=True)
    parent[0] = 0
    depth, looped = _depths(parent)
    cut = int(looped.sum())
    if cut:
        parent[looped] = 0
        depth, _ = _depths(parent)
    if size <= 1:
        return CascadeShape(size=max(size, 1), depth=0, max_breadth=0, structural_virality=0.0,
                            through_others=0, cycles_cut=cut)  # fmt: skip
    leaves = size - len(parent)
    subtree = _subtree_sizes(parent, depth)
    below = subtree[1:].astype(np.float64)
    wiener = float(np.sum(below * (size - below))) + leaves * float(size - 1)
    breadth = np.bincount(depth[1:], minlength=2) if len(parent) > 1 else np.zeros(2, dtype=np.int64)
    breadth[1] += leaves
    return CascadeShape(
        size=size,
        depth=int(depth.max()) if len(parent) > 1 and int(depth.max()) > 1 else 1,
        max_breadth=int(breadth.max()),
        structural_virality=2.0 * wiener / (size * (size - 1)),
        through_others=int(np.count_nonzero(parent[1:])),
        cycles_cut=cut,
    )


def _subtree_sizes(parent: Ints, depth: Ints) -> Ints:
    size = np.ones(len(parent), dtype=np.int64)
    deepest = int(depth.max())
    if deepest <= LEVELS_VECTORISED:
        order = np.argsort(depth, kind="stable")
        bounds = np.searchsorted(depth[order], np.arange(deepest + 2))
        for level in range(deepest, 0, -1):
            nodes = order[bounds[level] : bounds[level + 1]]
            np.add.at(size, parent[nodes], size[nodes])
        return size
    for node in np.argsort(depth, kind="stable")[::-1]:  # a very deep chain: one pass, deepest first
        if node:
            size[parent[node]] += size[node]
    return size

"""Twitter15 / Twitter16 propagation trees (Ma, Gao & Wong, ACL 2017) read as finished cascades.

Each tree file has one edge per line, `['parent_uid', 'parent_tweet_id', 'parent_delay'] ->
['uid', 'tweet_id', 'delay']`, delays in minutes after the source; the first line hangs the source
under ROOT. Nodes are retweets and replies without a type flag. Facts: the data's SOURCE.txt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import msgspec

from reachwatch.errors import PayloadError


class TreeCascade(msgspec.Struct, kw_only=True):
    """A finished cascade: node 0 is the source post; delays in seconds, parents as node indices."""

    id: str
    author: str
    label: str
    delays_s: list[float]
    parents: list[int]

    @property
    def engagements(self) -> int:
        return len(self.delays_s) - 1


Node = tuple[str, ...]
_PART = r"'([^']*)'"
_NODE = rf"\[{_PART},\s*{_PART},\s*'(-?[0-9.]+)'\]"
EDGE = re.compile(rf"{_NODE}\s*->\s*{_NODE}")


def parse_tree(cascade_id: str, text: str, label: str = "") -> TreeCascade:
    edges: list[tuple[Node, Node]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = EDGE.fullmatch(line.strip())
        if match is None:
            raise PayloadError("invalid-value", f"tree {cascade_id} line {number}: {line[:120]!r}")
        edges.append((match.groups()[:3], match.groups()[3:]))
    # The ROOT line is usually first, but not always: find it, then number the rest in file order.
    root = next((child for parent, child in edges if parent[0] == "ROOT"), None)
    if root is None:
        raise PayloadError("missing-field", f"tree {cascade_id} has no ROOT line")
    index: dict[Node, int] = {root: 0}
    for _, child in edges:
        index.setdefault(child, len(index))
    delays = [0.0] * len(index)
    parents = [0] * len(index)
    for parent, child in edges:
        at = index[child]
        if at == 0:
            continue
        # Some trees list nodes minutes before the source (clock skew): they count from the start.
        delays[at] = max(float(child[2]) * 60.0, 0.0)
        parents[at] = index.get(parent, 0) if parent != child else 0
    return TreeCascade(id=cascade_id, author=root[0], label=label, delays_s=delays, parents=parents)


def read_trees(folder: Path) -> Iterator[TreeCascade]:
    """Every cascade under a twitter15 / twitter16 folder (with label.txt and tree/)."""
    labels: dict[str, str] = {}
    label_file = folder / "label.txt"
    if label_file.is_file():
        for line in label_file.read_text().splitlines():
            label, _, ident = line.partition(":")
            labels[ident.strip()] = label.strip()
    for path in sorted((folder / "tree").glob("*.txt")):
        yield parse_tree(path.stem, path.read_text(), labels.get(path.stem, ""))

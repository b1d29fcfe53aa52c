"""Leiden community detection at a million edges: how long, and whether it finds what is there.

Run: .venv/bin/python benchmarks/communities_1m.py [--edges 1000000]
1. A planted-partition network (500 communities of 200 accounts, 1,000,000 weighted edges, 90% of
   them inside a community): time of `analysis.communities.leiden` (graph built from arrays,
   partition found) and NMI of the found communities against the planted ones.
2. When ../shared/data/networks/voterfraud2020-partial is present: the real retweet network
   (retweeter — retweeted tweet, 423k edges) clustered the same way; each tweet's community is
   compared (NMI) with its author's published Infomap community (5 communities, Abilov et al.).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import igraph as ig
import numpy as np

from reachwatch.analysis.communities import leiden

VOTERFRAUD = Path(__file__).resolve().parents[2] / "shared" / "data" / "networks" / "voterfraud2020-partial"


def planted(edges: int, communities: int = 500, size: int = 200, inside: float = 0.9, seed: int = 5):
    rng = np.random.default_rng(seed)
    n = communities * size
    truth = np.repeat(np.arange(communities), size)
    source = rng.integers(0, n, edges)
    same = rng.random(edges) < inside
    target = np.where(same, truth[source] * size + rng.integers(0, size, edges), rng.integers(0, n, edges))
    keep = source != target
    weight = rng.integers(1, 5, int(keep.sum())).astype(np.float64)
    return n, source[keep], target[keep], weight, truth


def nmi(found: np.ndarray, truth: np.ndarray) -> float:
    return float(ig.compare_communities(found.tolist(), truth.tolist(), method="nmi"))


def purity(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of nodes whose community's majority label is their own label."""
    pairs = found.astype(np.int64) * (int(truth.max()) + 1) + truth
    _, counts = np.unique(pairs, return_counts=True)
    keys = np.unique(pairs)
    best: dict[int, int] = {}
    for key, count in zip((keys // (int(truth.max()) + 1)).tolist(), counts.tolist(), strict=True):
        best[key] = max(best.get(key, 0), count)
    return sum(best.values()) / len(found)


def voterfraud() -> None:
    retweets = sorted((VOTERFRAUD / "retweets").rglob("*.csv"))
    if not retweets:
        print("voterfraud2020: not present, skipped")
        return
    users: dict[str, int] = {}
    tweets: dict[str, int] = {}
    source, target = [], []
    for path in retweets:
        with path.open() as handle:
            for row in csv.DictReader(handle):
                source.append(users.setdefault(row["user_id"], len(users)))
                target.append(tweets.setdefault(row["retweeted_id"], len(tweets)))
    author_community: dict[str, int] = {}
    for path in sorted((VOTERFRAUD / "tweets").rglob("*.csv")):
        with path.open() as handle:
            for row in csv.DictReader(handle):
                if row["user_community"] != "" and row["tweet_id"] in tweets:
                    author_community[row["tweet_id"]] = int(row["user_community"])
    n_users = len(users)
    s = np.asarray(source, dtype=np.int64)
    t = np.asarray(target, dtype=np.int64) + n_users
    started = time.perf_counter()
    labels = leiden(n_users + len(tweets), s, t, np.ones(len(s)))
    seconds = time.perf_counter() - started
    known = [(tweets[tweet] + n_users, community) for tweet, community in author_community.items()]
    found = np.asarray([labels[node] for node, _ in known])
    truth = np.asarray([community for _, community in known])
    print(
        f"voterfraud2020 retweet network: {n_users:,} retweeters + {len(tweets):,} tweets, {len(s):,} edges; "
        f"Leiden {seconds:.2f} s, {len(set(labels.tolist())):,} communities; NMI of {len(known):,} tweets "
        f"against their authors' published communities {nmi(found, truth):.3f}, purity "
        f"{purity(found, truth):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edges", type=int, default=1_000_000)
    args = parser.parse_args()
    n, source, target, weight, truth = planted(args.edges)
    started = time.perf_counter()
    labels = leiden(n, source, target, weight)
    seconds = time.perf_counter() - started
    print(
        f"planted partition: {n:,} accounts, {len(source):,} edges; Leiden {seconds:.2f} s, "
        f"{len(set(labels.tolist())):,} communities found (500 planted), NMI {nmi(labels, truth):.3f}"
    )
    voterfraud()


if __name__ == "__main__":
    main()

"""Side by side, in one run: co-repost, co-link and near-duplicate text networks (60 s window, min
weight 2, similarity 0.9, texts of 5+ words) of the same N generated actions, from the same CSV,
by coordination-network-toolkit 1.5.2 and by reachwatch — time and peak memory.

Run: .venv/bin/python benchmarks/coordination_all_signals.py --events 467000 [--store]
       [--chunk-actions N ...] [--no-toolkit]
The input: write_actions with 30 % text posts (a planted ring posting one claim reworded, and
chatter from a small vocabulary, so chance near-duplicates happen) and 20 % link posts; the rest
reposts. Each side runs in its own process; peak memory is that child's own (os.wait4).
  toolkit     preprocess, then `compute co_retweet`, `compute co_link`, `compute co_similar_tweet`
              (each its own process; peak = the largest)
  reachwatch  read the CSV with Arrow; co_action_edges for reposts and links; near-duplicates
              compared only within the window, in bounded chunks (match_texts with times);
              the three summed and grouped (Leiden, constant Potts model) as `coordination` does
Co-repost and co-link edges are compared; co-similar edges are counted only (the toolkit tokenises
differently: tests/test_coordination.py compares them on shared tokens). Co-link differs where text
posts have no link: the toolkit 1.5.2 stores such a message's link as '' and pairs them through it.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from common import DATA
from reachwatch.scenario.actions import write_actions

OURS = """
import sys, csv
from pathlib import Path
import numpy as np
from reachwatch.analysis.communities import dense_groups
from reachwatch.analysis.coordination import co_action_edges, sorted_unique
from reachwatch.analysis.near_duplicates import co_similar_edges
from reachwatch.connectors.files.toolkit_csv import links, messages, read_toolkit_csv, reposts
table = read_toolkit_csv(Path(sys.argv[1]))
budget = int(sys.argv[3])
out = {}
index = {}
every = []
for name, part in (("co_retweet", reposts(table)), ("co_link", links(table))):
    e = co_action_edges(part.accounts, part.items, part.times_ms, 60_000, 2, messages=part.messages,
                        max_pairs=budget)
    names = part.account_ids
    out[name] = {(names[s], names[t], int(w)) for s, t, w in zip(e.source, e.target, e.weight)}
texts = messages(table)
e = co_similar_edges(texts.accounts, texts.texts, texts.times_ms, 60_000, 2, threshold=0.9, min_tokens=5,
                     max_pairs=budget)
out["co_similar_tweet"] = {(texts.account_ids[s], texts.account_ids[t], int(w))
                           for s, t, w in zip(e.source, e.target, e.weight)}
accounts = sorted({a for edges in out.values() for u, v, _ in edges for a in (u, v)})
code = {a: i for i, a in enumerate(accounts)}
n = len(accounts)
keys = np.asarray([code[u] * n + code[v] for edges in out.values() for u, v, _ in edges], dtype=np.int64)
weights = np.asarray([w for edges in out.values() for *_, w in edges], dtype=np.float64)
groups = 0
if len(keys):
    distinct, inverse = np.unique(keys, return_inverse=True)
    summed = np.bincount(inverse, weights=weights)
    source, target = np.divmod(distinct, n)
    groups = len(set(dense_groups(n, source, target, summed, 4.0).tolist()))
with open(sys.argv[2], "w", newline="") as handle:
    writer = csv.writer(handle)
    for name, edges in out.items():
        writer.writerows((name, u, v, w) for u, v, w in sorted(edges))
print(groups)
"""


STORE = """
import sys, time
from reachwatch.service.coordination import CoordinationOptions, detect
from reachwatch.store.database import Store
store = Store.open(sys.argv[1])
report, _ = detect(store, CoordinationOptions(since_us=0, until_us=2**62, chunk_actions=int(sys.argv[2])))
print(sum(c.size for c in report.clusters), len(report.clusters), *report.edges.values())
"""


def build_store(data: Path, db: Path) -> None:
    """The same actions as records in a SQLite store: reposts as engagements, the rest as posts
    with their links (what `reachwatch coordination` reads)."""
    import csv

    from reachwatch.model import Engagement, EngagementKind, Post
    from reachwatch.store.database import Store

    store = Store.open(str(db))
    batch: list[Post | Engagement] = []
    with data.open(newline="") as handle:
        for row in csv.DictReader(handle):
            account, at = f"file:{row['user_id']}", int(float(row["timestamp"]) * 1_000_000)
            if row["repost_id"]:
                original = f"file:{row['repost_id']}"
                batch.append(Engagement(id=f"file:{row['message_id']}", kind=EngagementKind.REPOST,
                                        actor_id=account, post_id=original, created_at_us=at))  # fmt: skip
            else:
                text, urls = row["message"], row["urls"].split()
                batch.append(Post(id=f"file:{row['message_id']}", platform="file", author_id=account,
                                  created_at_us=at, text=text, urls=urls))  # fmt: skip
            if len(batch) >= 20_000:
                store.write_records(batch)
                batch = []
    store.write_records(batch)
    store.close()


def run(command: list[str]) -> tuple[float, float, str]:
    """(seconds, peak MiB, stdout) of one child process: os.wait4 gives that child's own rusage."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), command)
    return seconds, usage.ru_maxrss / 1024, output


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=467_000)
    parser.add_argument("--max-pairs", type=int, default=20_000_000, help="pairs per chunk: the memory bound")
    parser.add_argument(
        "--store", action="store_true", help="also `coordination` over a SQLite store of them"
    )
    parser.add_argument(
        "--chunk-actions", type=int, action="append",
        help="with --store: `coordination --chunk-actions N` (repeatable; default 1,000,000)",
    )  # fmt: skip
    parser.add_argument(
        "--no-toolkit", action="store_true", help="reachwatch only (for sizes the toolkit takes hours on)"
    )
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    data = DATA / f"actions-all-{args.events}.csv"
    if not data.exists():
        write_actions(data, args.events, texts=0.3, links=0.2)
    ours_out = DATA / f"reachwatch-all-{args.events}.csv"
    ours_s, ours_mb, groups = run([sys.executable, "-c", OURS, str(data), str(ours_out), str(args.max_pairs)])
    ours: dict[str, set[tuple[str, str, int]]] = {}
    for line in ours_out.read_text().splitlines():
        name, u, v, w = line.split(",")
        ours.setdefault(name, set()).add((u, v, int(w)))
    print(
        f"{args.events:,} actions (30 % text, 20 % links), 60 s window, min weight 2 ({os.cpu_count()} cores)"
    )
    print(f"{'':12s} {'seconds':>8s} {'peak MiB':>9s}")
    chunk = f"({int(groups):,} groups; {args.max_pairs:,} pairs a chunk)"
    print(f"{'reachwatch':12s} {ours_s:8.2f} {ours_mb:9.0f}   {chunk}")
    if args.store:
        db = DATA / f"store-all-{args.events}.db"
        if not db.exists():
            build_store(data, db)
        for chunk_actions in args.chunk_actions or [1_000_000]:
            store_s, store_mb, found = run([sys.executable, "-c", STORE, str(db), str(chunk_actions)])
            shown = f"(over the store, every signal, chunks of {chunk_actions:,} actions: flagged, "
            shown += f"clusters, edges per signal {found.strip()})"
            print(f"{'coordination':12s} {store_s:8.2f} {store_mb:9.0f}   {shown}")
    if args.no_toolkit:
        print("edges: " + ", ".join(f"{name} {len(edges):,}" for name, edges in ours.items()))
        return
    db = DATA / f"toolkit-all-{args.events}.db"
    for leftover in DATA.glob(f"toolkit-all-{args.events}.db*"):
        leftover.unlink()
    tool = [sys.executable, "-m", "coordination_network_toolkit", str(db)]
    steps = {"preprocess": run([*tool, "preprocess", "--format", "csv", str(data)])[:2]}
    for name in ("co_retweet", "co_link", "co_similar_tweet"):
        steps[name] = run(
            [*tool, "compute", name, "--time_window", "60", "--min_edge_weight", "2", "--n_cpus", "2",
             "--similarity_threshold", "0.9", "--min_document_size_similarity", "5"]
        )[:2]  # fmt: skip
    toolkit_s = sum(seconds for seconds, _ in steps.values())
    toolkit_mb = max(peak for _, peak in steps.values())
    detail = ", ".join(f"{name} {seconds:.1f} s / {peak:.0f} MiB" for name, (seconds, peak) in steps.items())
    print(f"{'toolkit':12s} {toolkit_s:8.2f} {toolkit_mb:9.0f}   ({detail})")
    with sqlite3.connect(db) as conn:
        theirs = {
            name: {
                (str(u), str(v), int(w))
                for u, v, w in conn.execute(
                    f"select user_1, user_2, weight from {name}_network where user_1 != user_2"
                )
            }
            for name in ("co_retweet", "co_link", "co_similar_tweet")
        }
    with sqlite3.connect(db) as conn:
        (empty,) = conn.execute("select count(*) from message_url where url = ''").fetchone()
    notes = {
        "co_similar_tweet": " (tokenisers differ: counted, not compared)",
        "co_link": f" (the toolkit stores {empty:,} link-less messages as linking to '', and pairs them)",
    }
    for name in ("co_retweet", "co_link", "co_similar_tweet"):
        same = "identical" if theirs[name] == ours.get(name, set()) else "differ"
        note = notes.get(name, "") if same == "differ" or name == "co_similar_tweet" else ""
        counts = f"toolkit {len(theirs[name]):,} edges, reachwatch {len(ours.get(name, set())):,}"
        print(f"{name}: {counts}: {same}{note}")
    print(f"ratio: {toolkit_s / ours_s:.1f}x faster, memory {ours_mb / toolkit_mb:.2f}x the toolkit's peak")


if __name__ == "__main__":
    main()

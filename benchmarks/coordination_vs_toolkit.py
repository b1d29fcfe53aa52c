"""Side by side, in one run: the 60 s co-repost network of the same N generated repost events,
from the same CSV to the edge list, by coordination-network-toolkit 1.5.2 and by reachwatch.

Run: .venv/bin/python benchmarks/coordination_vs_toolkit.py --events 1000000
Each side runs in its own process (time and peak memory measured by the parent with getrusage):
  toolkit     `compute_networks DB preprocess --format csv FILE`, then `compute_networks DB compute
              co_retweet --time_window 60 --min_edge_weight 2 --n_cpus 2 --output_format graphml`
  reachwatch  read the CSV with Arrow, co_action_edges (NumPy), write the edge list as CSV
Both edge lists are compared after: they must be identical (self-loops left out of both).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sqlite3
import subprocess
import sys
import time

from common import DATA
from reachwatch.scenario.actions import write_actions

OURS = """
import sys, csv, time
from pathlib import Path
from reachwatch.analysis.coordination import co_action_edges
from reachwatch.connectors.files.toolkit_csv import read_toolkit_csv, reposts
table = reposts(read_toolkit_csv(Path(sys.argv[1])))
edges = co_action_edges(table.accounts, table.items, table.times_ms, 60_000, 2, messages=table.messages)
names = table.account_ids
with open(sys.argv[2], "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["source", "target", "weight"])
    sources, targets = [names[i] for i in edges.source], [names[i] for i in edges.target]
    writer.writerows(zip(sources, targets, edges.weight.tolist()))
"""


def run(command: list[str]) -> tuple[float, float]:
    """(seconds, peak MiB) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    data = DATA / f"reposts-{args.events}.csv"
    if not data.exists():
        write_actions(data, args.events)
    toolkit_db = DATA / f"toolkit-{args.events}.db"
    for leftover in DATA.glob(f"toolkit-{args.events}.db*"):
        leftover.unlink()
    tool = [sys.executable, "-m", "coordination_network_toolkit"]
    pre_s, pre_mb = run([*tool, str(toolkit_db), "preprocess", "--format", "csv", str(data)])
    graphml = DATA / f"toolkit-edges-{args.events}.graphml"
    net_s, net_mb = run(
        [*tool, str(toolkit_db), "compute", "co_retweet", "--time_window", "60", "--min_edge_weight", "2",
         "--n_cpus", "2", "--output_file", str(graphml), "--output_format", "graphml"]
    )  # fmt: skip
    edges_out = DATA / f"reachwatch-edges-{args.events}.csv"
    ours_s, ours_mb = run([sys.executable, "-c", OURS, str(data), str(edges_out)])
    with sqlite3.connect(toolkit_db) as conn:
        theirs = {
            (str(u), str(v), int(w))
            for u, v, w in conn.execute(
                "select user_1, user_2, weight from co_retweet_network where user_1 != user_2"
            )
        }
    with edges_out.open() as handle:
        reader = csv.reader(handle)
        next(reader)
        ours = {(u, v, int(w)) for u, v, w in reader}
    toolkit_s = pre_s + net_s
    print(f"{args.events:,} repost events, 60 s window, min weight 2 ({os.cpu_count()} cores)")
    print(f"{'':12s} {'seconds':>8s} {'peak MiB':>9s}")
    steps = f"(preprocess {pre_s:.2f} s + co_retweet {net_s:.2f} s)"
    print(f"{'toolkit':12s} {toolkit_s:8.2f} {max(pre_mb, net_mb):9.0f}   {steps}")
    print(f"{'reachwatch':12s} {ours_s:8.2f} {ours_mb:9.0f}")
    print(
        f"ratio {toolkit_s / ours_s:.1f}x faster; edges: toolkit {len(theirs):,}, reachwatch {len(ours):,}, "
        f"identical: {theirs == ours}"
    )


if __name__ == "__main__":
    main()

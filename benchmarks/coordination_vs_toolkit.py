"""Side by side, in one run: the 60 s co-repost network of the same N generated repost events,
from the same CSV to the edge list, by coordination-network-toolkit 1.5.2 and by reachwatch.

Run: .venv/bin/python benchmarks/coordination_vs_toolkit.py --events 1000000
Each side runs in its own process (time, and peak memory from that child's own rusage via os.wait4),
--repeat times alternating (default 3); medians are reported:
  toolkit     `compute_networks DB preprocess --format csv FILE`, then `compute_networks DB compute
              co_retweet --time_window 60 --min_edge_weight 2 --n_cpus 2 --output_format graphml`
  reachwatch  read the CSV with Arrow, co_action_edges (NumPy), write the edge list as CSV
Both edge lists are compared after: they must be identical (self-loops left out of both).
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import statistics
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
    """(seconds, peak MiB) of one child process: os.wait4 gives that child's own rusage."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, command)
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side, alternating; medians shown")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    data = DATA / f"reposts-{args.events}.csv"
    if not data.exists():
        write_actions(data, args.events)
    toolkit_db = DATA / f"toolkit-{args.events}.db"
    tool = [sys.executable, "-m", "coordination_network_toolkit"]
    graphml = DATA / f"toolkit-edges-{args.events}.graphml"
    edges_out = DATA / f"reachwatch-edges-{args.events}.csv"
    pre_runs, net_runs, our_runs = [], [], []
    pre_mb = net_mb = ours_mb = 0.0  # the largest of the runs
    for _ in range(args.repeat):
        for leftover in DATA.glob(f"toolkit-{args.events}.db*"):
            leftover.unlink()
        pre_s, pre_peak = run([*tool, str(toolkit_db), "preprocess", "--format", "csv", str(data)])
        net_s, net_peak = run(
            [*tool, str(toolkit_db), "compute", "co_retweet", "--time_window", "60", "--min_edge_weight", "2",
             "--n_cpus", "2", "--output_file", str(graphml), "--output_format", "graphml"]
        )  # fmt: skip
        ours_s, ours_peak = run([sys.executable, "-c", OURS, str(data), str(edges_out)])
        pre_mb, net_mb, ours_mb = max(pre_mb, pre_peak), max(net_mb, net_peak), max(ours_mb, ours_peak)
        pre_runs.append(pre_s)
        net_runs.append(net_s)
        our_runs.append(ours_s)
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
    pre_s, net_s, ours_s = (statistics.median(runs) for runs in (pre_runs, net_runs, our_runs))
    toolkit_s = statistics.median(p + n for p, n in zip(pre_runs, net_runs, strict=True))
    print(
        f"{args.events:,} repost events, 60 s window, min weight 2 ({os.cpu_count()} cores); "
        f"median of {args.repeat} alternating runs"
    )
    print(f"{'':12s} {'seconds':>8s} {'peak MiB':>9s}")
    steps = f"(preprocess {pre_s:.2f} s + co_retweet {net_s:.2f} s)"
    print(f"{'toolkit':12s} {toolkit_s:8.2f} {max(pre_mb, net_mb):9.0f}   {steps}")
    print(f"{'reachwatch':12s} {ours_s:8.2f} {ours_mb:9.0f}")
    print("runs, toolkit: " + ", ".join(f"{p + n:.2f}" for p, n in zip(pre_runs, net_runs, strict=True)))
    print("runs, reachwatch: " + ", ".join(f"{t:.2f}" for t in our_runs))
    print(
        f"ratio {toolkit_s / ours_s:.1f}x faster; edges: toolkit {len(theirs):,}, reachwatch {len(ours):,}, "
        f"identical: {theirs == ours}"
    )


if __name__ == "__main__":
    main()

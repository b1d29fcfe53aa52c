"""Fit the organic control accounts' timing on real retweet cascades and write its table.

Run: .venv/bin/python training/fit_organic_timing.py [--data FOLDER]
(default FOLDER: ../shared/data/cascades/twitter15-16-propagation-trees)
From every Twitter15 + Twitter16 propagation tree: how long after a post each retweet or reply
came (seconds, heavy-tailed: half within the first hours, a long tail over days), and in how many
of the cascades each account took part (most once, a few in dozens). Writes their quantiles to
src/reachwatch/scenario/organic_timing.json, which `reachwatch eval scenario` draws the control
accounts of its coordination checks from: ordinary engagers timed as real ones are.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import msgspec
import numpy as np

from reachwatch.connectors.files.propagation_trees import EDGE, read_trees

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cascades" / "twitter15-16-propagation-trees"
OUT = ROOT / "src" / "reachwatch" / "scenario" / "organic_timing.json"
LEVELS = 201  # quantiles at 0, 0.5 %, …, 100 %


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the table")
    args = parser.parse_args()
    folders = [args.data / name for name in ("twitter15", "twitter16")]
    missing = [str(folder) for folder in folders if not (folder / "tree").is_dir()]
    if missing:
        raise SystemExit(
            f"No propagation trees at {', '.join(missing)}: give --data the folder holding them."
        )
    delays: list[float] = []
    cascades_per_user: Counter[str] = Counter()
    trees = 0
    for folder in folders:
        for tree in read_trees(folder):
            trees += 1
            delays.extend(delay for delay in tree.delays_s[1:] if delay > 0)
        for path in sorted((folder / "tree").glob("*.txt")):
            users = {match.group(4) for match in map(EDGE.fullmatch, path.read_text().split("\n")) if match}
            cascades_per_user.update(users - {"ROOT"})
    levels = np.linspace(0.0, 1.0, LEVELS)
    table = {
        "source": "Twitter15 + Twitter16 propagation trees (Ma, Gao & Wong, ACL 2017), every tree",
        "trees": trees,
        "delays": len(delays),
        "users": len(cascades_per_user),
        "levels": levels.round(4).tolist(),
        "delay_s": np.quantile(np.asarray(delays), levels).round(1).tolist(),
        "cascades_per_user": np.quantile(np.asarray(list(cascades_per_user.values())), levels).tolist(),
    }
    args.out.write_bytes(msgspec.json.format(msgspec.json.encode(table), indent=1))
    joined = np.asarray(list(cascades_per_user.values()))
    print(
        f"{trees} trees, {len(delays):,} delays (median {np.median(delays) / 60:.0f} min), "
        f"{len(joined):,} accounts (mean {joined.mean():.2f} cascades); wrote {args.out}"
    )


if __name__ == "__main__":
    main()

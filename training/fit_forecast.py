"""Fit the reach forecast's calibration on real finished cascades and write the model file.

Run: .venv/bin/python training/fit_forecast.py [--data ../shared/data/cascades/twitter15-16-propagation-trees]
Uses the 'fit' half of Twitter15 + Twitter16 (a fixed split by tweet id); `reachwatch eval forecast`
scores the other half. Writes src/reachwatch/analysis/models/forecast.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import msgspec

from reachwatch.analysis.backtest import cascade_from_tree, fit_calibration, half_of
from reachwatch.connectors.files.propagation_trees import read_trees

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cascades" / "twitter15-16-propagation-trees"
OUT = ROOT / "src" / "reachwatch" / "analysis" / "models" / "forecast.json"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--min-engagements", type=int, default=50)
    args = parser.parse_args()
    started = time.perf_counter()
    cascades = [
        cascade_from_tree(tree.id, tree.author, tree.delays_s, tree.parents)
        for folder in ("twitter15", "twitter16")
        for tree in read_trees(args.data / folder)
    ]
    fit = [c for c in cascades if half_of(c.id) == "fit" and c.final >= args.min_engagements]
    calibration = fit_calibration(fit)
    calibration = msgspec.structs.replace(
        calibration,
        trained_on=f"Twitter15+16 'fit' half: {len(fit)} cascades, >= {args.min_engagements} engagements",
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(msgspec.json.format(msgspec.json.encode(calibration), indent=1) + b"\n")
    kernel = calibration.kernel
    seconds = time.perf_counter() - started
    print(f"fitted on {len(fit)} cascades in {seconds:.1f} s: kernel s0={kernel.s0} θ={kernel.theta}")
    for at_age in calibration.corrections:
        alone, prior = at_age.alone, at_age.with_prior
        weight = f", author-median weight {prior.prior_weight:.2f}" if prior else ""
        spread = f"[{alone.low:+.3f}, {alone.high:+.3f}]"
        print(f"  age {at_age.age_s:>8.0f} s: offset {alone.median:+.3f} {spread}{weight}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

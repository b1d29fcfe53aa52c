"""What the deployed harm rule flags on a real feed nobody labelled for training: the 3,226 real
Bluesky posts of ../shared/data/bluesky (a keyword sample about homelessness, Aug-Oct 2025), run
through the enrichment stage exactly as ingest runs it (language, harm; the platform's language
tag where it gave one). Prints each class's flagged share, the not-scored count by language, the
EM estimate of each class's prior in this feed (Saerens et al. 2002), and the flagged shares with
those priors applied — the `eval harm --fit-priors` path, which stays opt-in.

Run: .venv/bin/python benchmarks/harm_real_feed.py [--csv PATH] [--show 10]
"""

from __future__ import annotations

import argparse
import collections
import csv
import sys
from pathlib import Path

import numpy as np

from reachwatch.enrich.harm import CLASSES, shipped_model
from reachwatch.enrich.normalise import normalise
from reachwatch.enrich.stage import HarmEnricher, LanguageEnricher, Result
from reachwatch.model import Post
from reachwatch.service.harm_priors import estimate

CSV = (
    Path(__file__).resolve().parents[2]
    / "shared" / "data" / "bluesky" / "bluesky-homelessness-posts" / "bluesky_homelessness_posts.csv"
)  # fmt: skip


def posts(path: Path) -> list[Post]:
    csv.field_size_limit(1 << 24)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Post(
            id=f"bluesky:{row['uri']}", platform="bluesky", author_id=f"bluesky:{row['author_did']}",
            created_at_us=i, text=row["text"], lang=(row.get("lang") or "").split(",")[0] or None,
        )
        for i, row in enumerate(rows)
    ]  # fmt: skip


def flagged_shares(results: list[Result]) -> dict[str, float]:
    scored = [result for result in results if result and "scores" in result]
    return {
        name: sum(name in result["flagged"] for result in scored) / max(len(scored), 1) for name in CLASSES
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--csv", type=Path, default=CSV)
    parser.add_argument("--show", type=int, default=0, help="print this many flagged posts per class")
    args = parser.parse_args()
    if not args.csv.is_file():
        sys.exit(f"No {args.csv}: pass --csv with the Bluesky posts CSV (../shared/data/bluesky).")
    feed = posts(args.csv)
    normalised = [normalise(post.text) for post in feed]
    language, harm = LanguageEnricher(), HarmEnricher()
    earlier = {"language": language.results(feed, normalised)}
    results = harm.results(feed, normalised, earlier)
    scored = [result for result in results if result and "scores" in result]
    skipped = collections.Counter(
        str(result["lang"]) for result in results if result and "not_scored" in result
    )
    print(f"{harm.version}: {len(feed):,} posts, {len(scored):,} scored, not scored by lang: {dict(skipped)}")
    for name, share in flagged_shares(results).items():
        by = collections.Counter(result["by"][name] for result in scored if name in result["flagged"])
        print(f"  flagged {name:<10} {share:6.1%}   by {dict(by)}")
    print(f"  own words re-read (quotes or reports): {sum(bool(r.get('own_words')) for r in scored):,}")
    model = shipped_model()
    priors = estimate([result["raw"] for result in scored], model)
    training = {name: f"{value:.3f}" for name, value in model.training_priors.items()}
    print(
        "EM priors of this feed:",
        {name: f"{value:.3f}" for name, value in priors.items()},
        "training:",
        training,
    )
    shifted = HarmEnricher(priors=priors).results(feed, normalised, earlier)
    print(
        "  with those priors applied:",
        {name: f"{share:.1%}" for name, share in flagged_shares(shifted).items()},
    )
    for name in CLASSES if args.show else ():
        ranked = sorted((r for r in scored if name in r["flagged"]), key=lambda r: -float(r["scores"][name]))
        print(f"\n{name}:")
        for result in ranked[: args.show]:
            index = results.index(result)
            print(f"  {result['scores'][name]:.2f} {feed[index].text[:140]!r}")
    print("mean offensive probability:", f"{np.mean([r['scores']['offensive'] for r in scored]):.3f}")


if __name__ == "__main__":
    main()

"""Throughput of the whole enrichment stage as ingest runs it — language, protected-people
mentions, harm (the fine-tuned int8 MiniLM on every post in English, the rules, the own-words
re-read of posts that quote or report) — on two cores, beside the peer alt-profanity-check on the
same texts in the same run, and each part alone.

Run: .venv/bin/python benchmarks/harm_throughput.py [--posts 5000] [--repeat 3]
Texts: the 3,226 real Bluesky posts of ../shared/data/bluesky (with their platform language tags),
and real tweets (TweetEval offensive train) when ../shared/data is present, else the demo
scenario's texts. The process is pinned to CPUs 0-1 and onnxruntime gets two threads. The registry
holds 200 people (the demo's minister and 199 made-up names with aliases and handles). Batches of
500 posts, as ingest hands them to the enrichers at its default batch size.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "2"

from reachwatch.enrich.harm import HarmModel  # noqa: E402
from reachwatch.enrich.normalise import normalise  # noqa: E402
from reachwatch.enrich.stage import (  # noqa: E402
    HarmEnricher,
    LanguageEnricher,
    MentionEnricher,
    Result,
)
from reachwatch.model import Person, Post  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BLUESKY = SHARED / "bluesky" / "bluesky-homelessness-posts" / "bluesky_homelessness_posts.csv"
TWEETS = SHARED / "harm" / "tweeteval" / "offensive" / "train_text.txt"
BATCH = 500
SURNAMES = ["Okafor", "Lindqvist", "Moreau", "Castellano", "Nakamura", "Brennan", "Szabo", "Haddad"]
FIRST = ["Amara", "Tobias", "Ines", "Rafael", "Keiko", "Siobhan", "Gergely", "Leila", "Dana", "Mark"]


def corpora(count: int) -> dict[str, list[tuple[str, str | None]]]:
    found: dict[str, list[tuple[str, str | None]]] = {}
    if BLUESKY.is_file():
        csv.field_size_limit(1 << 24)
        with BLUESKY.open(encoding="utf-8", newline="") as handle:
            rows = [
                (row["text"], (row.get("lang") or "").split(",")[0] or None) for row in csv.DictReader(handle)
            ]
        found["bluesky (3,226 real posts)"] = [(text, lang) for text, lang in rows if text.strip()][:count]
    if TWEETS.is_file():
        found["tweets (TweetEval offensive train)"] = [
            (text, None) for text in TWEETS.read_text(encoding="utf-8").splitlines()[:count]
        ]
    if not found:
        from reachwatch.scenario import texts as scenario_texts

        texts = [*scenario_texts.TOPICS, *scenario_texts.NEUTRAL_MENTIONS, *scenario_texts.ABUSIVE]
        found["demo scenario texts"] = [(text, "en") for text in (texts * (count // len(texts) + 1))[:count]]
    return found


def registry() -> list[Person]:
    people = [
        Person(
            id="dana-whitfield",
            name="Dana Whitfield",
            aliases=["the Safeguarding Minister", "Ms Whitfield"],
            handles={"bluesky": ["danawhitfield.bsky.social"]},
        )
    ]
    for n in range(199):
        first, last = FIRST[n % len(FIRST)], SURNAMES[n % len(SURNAMES)] + f"{n:03d}"
        people.append(
            Person(
                id=f"p{n}",
                name=f"{first} {last}",
                aliases=[f"Minister {last}"],
                handles={"bluesky": [f"{first.lower()}{last.lower()}.bsky.social"], "x": [f"{last}MP"]},
            )
        )
    return people


def as_posts(rows: list[tuple[str, str | None]]) -> list[Post]:
    return [
        Post(
            id=f"bluesky:at://did:plc:bench/app.bsky.feed.post/{i}",
            platform="bluesky",
            author_id="bluesky:did:plc:bench",
            created_at_us=1_790_000_000_000_000 + i,
            text=text,
            lang=lang,
        )
        for i, (text, lang) in enumerate(rows)
    ]


def timed(repeat: int, work: Callable[[], object]) -> float:
    """Median seconds of `repeat` runs."""
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=5_000, help="at most this many posts per corpus")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, set(range(min(os.cpu_count() or 1, 2))))
    model = HarmModel(threads=2)
    language, mentions, harm = LanguageEnricher(), MentionEnricher(registry()), HarmEnricher(model)
    try:
        from profanity_check import predict_prob
    except ImportError:
        predict_prob = None
        print(
            "alt-profanity-check is not installed (pip install -e '.[dev]'): no peer figure", file=sys.stderr
        )
    print(f"{model.version}, two cores (CPUs 0-1), batches of {BATCH}, {len(registry())} protected people")
    for name, rows in corpora(args.posts).items():
        measure(name, as_posts(rows), (language, mentions, harm), args.repeat, predict_prob)


def measure(
    name: str,
    posts: list[Post],
    enrichers: tuple[LanguageEnricher, MentionEnricher, HarmEnricher],
    repeat: int,
    peer: Callable[[list[str]], object] | None,
) -> None:
    batches = [posts[i : i + BATCH] for i in range(0, len(posts), BATCH)]
    texts = [post.text for post in posts]
    language, mentions, harm = enrichers
    harm.model.logits(texts[:64])  # warm-up

    def stage() -> list[Result]:
        found: list[Result] = []
        for batch in batches:  # as EnrichmentStage.apply runs them: each text normalised once
            normalised = [normalise(post.text) for post in batch]
            earlier: dict[str, list[Result]] = {}
            for enricher in enrichers:
                earlier[enricher.name] = enricher.results(batch, normalised, earlier)
            found += earlier["harm"]
        return found

    def part(enricher: LanguageEnricher | MentionEnricher) -> Callable[[], None]:
        def run() -> None:
            for batch in batches:
                enricher.results(batch, [normalise(post.text) for post in batch])

        return run

    results = stage()
    scored = sum(1 for result in results if result and "scores" in result)
    reread = sum(1 for result in results if result and result.get("own_words"))
    print(
        f"\n{name}: {len(posts):,} posts; {scored:,} scored by the model, {reread:,} also on their own words"
    )
    figures = {
        "whole stage: language + mentions + harm": timed(repeat, stage),
        "  language (py3langid, where the platform gave no tag)": timed(repeat, part(language)),
        "  mentions of protected people (Aho-Corasick)": timed(repeat, part(mentions)),
        "  harm model alone, one pass per post (int8 ONNX)": timed(repeat, lambda: harm.model.logits(texts)),
    }
    if peer is not None:
        figures["alt-profanity-check 1.9.1 predict_prob (scores only)"] = timed(repeat, lambda: peer(texts))
    for label, seconds in figures.items():
        print(f"{label:<58} {len(posts) / seconds:>10,.0f} posts/s (median of {repeat})")


if __name__ == "__main__":
    main()

"""Enrichment throughput: harm tier 1 + protected-people mentions on one core, beside the peer
alt-profanity-check on the same texts in the same run; and tier 2 (the int8 ONNX MiniLM) on two.

Run: .venv/bin/python benchmarks/harm_throughput.py [--posts 100000] [--tier2-posts 2000]
Texts are real tweets (TweetEval offensive + hate train, repeated to --posts) when ../shared/data is
present, else the demo scenario's texts. One core: the process is pinned to CPU 0 and BLAS and
onnxruntime get one thread. The registry holds 200 people (the demo's minister and 199 made-up
names with aliases and handles). Batches of 5,000 posts, as ingest hands them to the enrichers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

from reachwatch.enrich.embedding import DEFAULT_MODEL_DIR, SentenceEncoder  # noqa: E402
from reachwatch.enrich.harm import HarmTier2  # noqa: E402
from reachwatch.enrich.normalise import normalise  # noqa: E402
from reachwatch.model import Person, Post  # noqa: E402
from reachwatch.service.enrichment import HarmEnricher, LanguageEnricher, MentionEnricher  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "harm" / "tweeteval"
BATCH = 5_000
SURNAMES = ["Okafor", "Lindqvist", "Moreau", "Castellano", "Nakamura", "Brennan", "Szabo", "Haddad"]
FIRST = ["Amara", "Tobias", "Ines", "Rafael", "Keiko", "Siobhan", "Gergely", "Leila", "Dana", "Mark"]


def texts(count: int) -> list[str]:
    found: list[str] = []
    for task in ("offensive", "hate"):
        path = SHARED / task / "train_text.txt"
        if path.is_file():
            found += path.read_text(encoding="utf-8").splitlines()
    if not found:
        from reachwatch.scenario import texts as scenario_texts

        found = [*scenario_texts.TOPICS, *scenario_texts.NEUTRAL_MENTIONS, *scenario_texts.ABUSIVE]
    return (found * (count // len(found) + 1))[:count]


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


def as_posts(batch: list[str], offset: int) -> list[Post]:
    return [
        Post(
            id=f"bluesky:at://did:plc:bench/app.bsky.feed.post/{offset + i}",
            platform="bluesky",
            author_id="bluesky:did:plc:bench",
            created_at_us=1_790_000_000_000_000 + i,
            text=text,
            lang="en",
        )
        for i, text in enumerate(batch)
    ]


def rate(label: str, count: int, seconds: list[float]) -> float:
    best = count / min(seconds)
    print(
        f"{label:<58} {count / statistics.median(seconds):>10,.0f} posts/s "
        f"(median of {len(seconds)}; best {best:,.0f})"
    )
    return count / statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--tier2-posts", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    args = parser.parse_args()
    corpus = texts(args.posts)
    batches = [as_posts(corpus[i : i + BATCH], i) for i in range(0, len(corpus), BATCH)]
    harm, mentions, language = HarmEnricher(), MentionEnricher(registry()), LanguageEnricher()
    os.sched_setaffinity(0, {0})
    print(
        f"{len(corpus):,} posts in batches of {BATCH:,}, one core (CPU 0), {len(registry())} protected people"
    )
    timings: dict[str, list[float]] = {"harm": [], "mentions": [], "both": [], "peer": []}
    try:
        from profanity_check import predict_prob
    except ImportError:
        predict_prob = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        for batch in batches:
            harm.results(batch)
        timings["harm"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for batch in batches:
            mentions.results(batch)
        timings["mentions"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for batch in batches:  # as the enrichment stage runs them: each text normalised once
            normalised = [normalise(post.text) for post in batch]
            harm.results(batch, normalised)
            mentions.results(batch, normalised)
        timings["both"].append(time.perf_counter() - started)
        if predict_prob is not None:
            started = time.perf_counter()
            for i in range(0, len(corpus), BATCH):
                predict_prob(corpus[i : i + BATCH])
            timings["peer"].append(time.perf_counter() - started)
    rate("harm rules + tier 1 (scores, flags, evidence words)", len(corpus), timings["harm"])
    rate("mentions of protected people (Aho-Corasick)", len(corpus), timings["mentions"])
    ours = rate("harm rules + tier 1 + mentions (text normalised once)", len(corpus), timings["both"])
    if timings["peer"]:
        theirs = rate("alt-profanity-check 1.9.1 predict_prob (scores only)", len(corpus), timings["peer"])
        print(f"{'ratio ours / peer':<58} {ours / theirs:>10.2f}x")
    untagged_batch = [
        Post(id=p.id, platform=p.platform, author_id=p.author_id, created_at_us=p.created_at_us, text=p.text)
        for p in batches[0]
    ]
    started = time.perf_counter()
    language.results(untagged_batch)
    rate(
        "language identification (py3langid), no platform tag",
        len(untagged_batch),
        [time.perf_counter() - started],
    )

    if not (args.model / "model.onnx").is_file():
        print(f"tier 2: no embedding model in {args.model} (make models); skipped", file=sys.stderr)
        return
    os.sched_setaffinity(0, set(range(min(os.cpu_count() or 1, 2))))
    encoder = SentenceEncoder(args.model, threads=2)
    tier2 = HarmTier2(encoder)
    sample = corpus[: args.tier2_posts]
    encoder.encode(sample[:64])  # warm-up
    seconds = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        tier2.scores(sample)
        seconds.append(time.perf_counter() - started)
    rate(f"tier 2 ({encoder.version}), 2 cores", len(sample), seconds)
    staged = HarmEnricher(tier2=tier2)
    posts = as_posts(sample, 0)
    started = time.perf_counter()
    results = staged.results(posts)
    elapsed = time.perf_counter() - started
    read = sum("tier2" in (result or {}) for result in results)
    print(
        f"tiers 1+2 as enrichment runs them: {read / len(posts):.1%} of posts borderline and read by tier 2; "
        f"{len(posts) / elapsed:,.0f} posts/s on 2 cores"
    )


if __name__ == "__main__":
    main()

"""Full-text search latency over N posts: p50/p95/p99 of `search` for a mix of queries.

Run: .venv/bin/python benchmarks/search_latency.py --posts 1000000 [--backend sqlite|postgresql]
Posts are written straight through the store (not the ingest) with Zipf-distributed words from
a vocabulary plus the scenario's sentences, so common words match hundreds of thousands of posts.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from common import fresh_postgres, fresh_sqlite
from reachwatch.model import Post
from reachwatch.scenario import texts
from reachwatch.store import queries
from reachwatch.store.database import Store

SYLLABLES = ["ka", "lo", "mi", "ter", "an", "so", "vel", "ru", "pen", "da", "ix", "or", "bel", "tu", "ne"]
QUERIES = [
    "minister",
    "jailed",
    "Whitfield",
    "election",
    "football tonight",
    '"must resign"',
    "petrol prices",
    "kaloter",
    "nope-not-there",
    "free speech",
    "the",
    "grooming gangs",
    "weather ridiculous",
]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    return ["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(size)]


def fill(store: Store, posts: int, rng: random.Random) -> None:
    words = vocabulary(rng, 20_000)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    sentences = texts.TOPICS + texts.CHATTER + texts.ABUSIVE + texts.NEUTRAL_MENTIONS + texts.COORDINATED
    person = {
        "name": "Dana Whitfield",
        "surname": "Whitfield",
        "handle": "danawhitfield.bsky.social",
        "tag": "#DanaWhitfield",
    }
    batch: list[Post] = []
    for index in range(posts):
        text = " ".join(rng.choices(words, weights, k=rng.randint(6, 30)))
        if rng.random() < 0.3:
            text = texts.fill(rng.choice(sentences), rng, person)[0] + " " + text
        batch.append(
            Post(
                id=f"bluesky:at://did:plc:bench{index % 5000}/app.bsky.feed.post/{index}",
                platform="bluesky",
                author_id=f"bluesky:did:plc:bench{index % 5000}",
                created_at_us=1_700_000_000_000_000 + index * 1_000_000,
                text=text,
            )
        )
        if len(batch) == 20_000:
            store.write_records(batch)
            batch = []
    if batch:
        store.write_records(batch)


def measure(store: Store, rounds: int) -> None:
    for order in ("newest", "relevance"):
        timings = []
        for _ in range(rounds):
            for query in QUERIES:
                started = time.perf_counter()
                queries.search(store, query, limit=20, order=order)  # type: ignore[arg-type]
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95)]
        p99 = timings[int(len(timings) * 0.99)]
        print(
            f"  order={order:<9} {len(timings)} searches: p50 {statistics.median(timings):6.1f} ms, "
            f"p95 {p95:6.1f} ms, p99 {p99:6.1f} ms, max {timings[-1]:6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        rng = random.Random(1)
        if backend == "sqlite":
            store = Store.open(fresh_sqlite("search"))
            fill(store, args.posts, rng)
            print(f"sqlite, {args.posts:,} posts:")
            measure(store, args.rounds)
            store.close()
        else:
            with fresh_postgres() as url:
                store = Store.open(url)
                fill(store, args.posts, rng)
                print(f"postgresql, {args.posts:,} posts:")
                measure(store, args.rounds)
                store.close()


if __name__ == "__main__":
    main()

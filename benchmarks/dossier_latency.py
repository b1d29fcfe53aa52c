"""The reach dossier of one post with N engagement events, on SQLite: seconds per dossier.

Run: .venv/bin/python benchmarks/dossier_latency.py --engagements 1000000
Builds (once, cached in bench-data/) a store with one post of a 50M-follower author that has N
engagements (60% likes, 25% reposts, 7% quotes, 8% replies; a fifth of reposts and quotes came
through another repost), 300k distinct engagers with follower counts, and 120 earlier posts of
the same author for the baseline. Then times `reachwatch post` 's service call, warm.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from common import DATA, fresh_sqlite
from reachwatch.model import Account, CanonicalRecord, Engagement, EngagementKind, Post, WriteBatch
from reachwatch.service.reach import dossier
from reachwatch.store.database import Store

T0 = 1_780_000_000_000_000  # 2026-05-28: the whole history lies in the past
MINUTE = 60_000_000
AUTHOR = "bluesky:did:plc:bigaccount"
POST = "bluesky:at://did:plc:bigaccount/app.bsky.feed.post/trigger"
KINDS = (
    [EngagementKind.LIKE] * 60
    + [EngagementKind.REPOST] * 25
    + [EngagementKind.QUOTE] * 7
    + [EngagementKind.REPLY] * 8
)


def build(db: str, engagements: int) -> None:
    rng = random.Random(7)
    store = Store.open(db)
    actors = 300_000
    records: list[CanonicalRecord] = [
        Account(id=AUTHOR, platform="bluesky", handle="big.bsky.social", followers=50_000_000),
        Post(id=POST, platform="bluesky", author_id=AUTHOR, created_at_us=T0, text="the post"),
    ]
    for n in range(actors):
        records.append(
            Account(
                id=f"bluesky:did:plc:a{n:08d}", platform="bluesky", followers=int(rng.paretovariate(1.2) * 50)
            )
        )
    store.write_batch(WriteBatch(records=records))
    amplifications: list[str] = []
    batch: list[CanonicalRecord] = []
    at = T0
    for n in range(engagements):
        at += int(rng.expovariate(1 / (MINUTE / 60)) * (1 + n / 100_000))
        kind = rng.choice(KINDS)
        actor = f"bluesky:did:plc:a{rng.randrange(actors):08d}"
        ident = f"bluesky:at://{actor[8:]}/app.bsky.feed.{kind.value}/e{n:08d}"
        via = (
            rng.choice(amplifications)
            if amplifications and kind in (EngagementKind.REPOST, EngagementKind.QUOTE) and rng.random() < 0.2
            else None
        )
        if kind in (EngagementKind.REPOST, EngagementKind.QUOTE):
            amplifications.append(ident)
        batch.append(
            Engagement(id=ident, kind=kind, actor_id=actor, post_id=POST, created_at_us=at, via_id=via)
        )
        if len(batch) >= 50_000:
            store.write_batch(WriteBatch(records=batch))
            batch = []
    for day in range(1, 121):
        earlier = f"bluesky:at://did:plc:bigaccount/app.bsky.feed.post/e{day}"
        batch.append(
            Post(
                id=earlier,
                platform="bluesky",
                author_id=AUTHOR,
                created_at_us=T0 - day * 17 * 3600 * 1_000_000,
            )
        )
        for k in range(rng.randrange(50, 400)):
            batch.append(
                Engagement(
                    id=f"{earlier}/r{k}", kind=EngagementKind.REPOST, actor_id=f"bluesky:did:plc:a{k:08d}",
                    post_id=earlier, created_at_us=T0 - day * 17 * 3600 * 1_000_000 + k * MINUTE,
                )
            )  # fmt: skip
    store.write_batch(WriteBatch(records=batch))
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engagements", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = DATA / f"dossier-{args.engagements}.db"
    if not path.exists():
        started = time.perf_counter()
        db = fresh_sqlite(f"dossier-{args.engagements}-building")
        build(db, args.engagements)
        for suffix in ("", "-wal", "-shm"):
            source = DATA / f"dossier-{args.engagements}-building.db{suffix}"
            if source.exists():
                source.rename(DATA / f"dossier-{args.engagements}.db{suffix}")
        print(f"built the store in {time.perf_counter() - started:.0f} s")
    store = Store.open(str(path))
    dossier(store, POST)  # warm the page cache once
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        found = dossier(store, POST)
        times.append(time.perf_counter() - started)
    store.close()
    events = sum(found.counts.values())
    print(
        f"dossier of a post with {events:,} engagements ({found.cascade.size:,} cascade nodes, "
        f"{found.audience.amplifiers:,} amplifiers): median {statistics.median(times):.3f} s, "
        f"max {max(times):.3f} s over {args.runs} runs (SQLite, warm)"
    )


if __name__ == "__main__":
    main()

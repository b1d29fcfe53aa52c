"""Ordinary background traffic around the scenario, generated lazily so benchmarks can reach millions."""

from __future__ import annotations

import random
from collections.abc import Iterator

from reachwatch.scenario import texts, wire

POST, REPOST, LIKE = "app.bsky.feed.post", "app.bsky.feed.repost", "app.bsky.feed.like"


def iter_filler(builder_seed: int, start_us: int, end_us: int, count: int) -> Iterator[tuple[int, bytes]]:
    """Ordinary background traffic in time order (chatter posts and likes), for benchmarks at scale."""
    rng = random.Random(builder_seed + 1)
    dids = [wire.new_did(rng) for _ in range(20_000)]
    recent: list[tuple[str, str]] = []
    step = max(1, (end_us - start_us) // max(count, 1))
    at = start_us
    for clock in range(1, count + 1):
        at += rng.randint(1, 2 * step)
        did = rng.choice(dids)
        rkey = wire.tid(at, clock)
        if not recent or rng.random() < 0.15:
            record = {"createdAt": wire.iso(at), "langs": ["en"], "text": rng.choice(texts.CHATTER)}
            line, cid = wire.commit_event(did, at, POST, rkey, record, rng)
            recent.append((wire.post_uri(did, rkey), cid))
            if len(recent) > 5_000:
                recent = recent[-2_500:]
        else:
            kind = REPOST if rng.random() < 0.12 else LIKE
            uri, cid = recent[int(len(recent) * rng.random() ** 0.5)]
            subject = {"uri": uri, "cid": cid}
            line, _ = wire.commit_event(
                did, at, kind, rkey, {"createdAt": wire.iso(at), "subject": subject}, rng
            )
        yield at, line

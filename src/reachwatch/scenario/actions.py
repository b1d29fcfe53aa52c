"""Generated repost/link actions in the coordination-network-toolkit's CSV format, with a planted
ring of accounts that repost the same posts within seconds of each other: the input of the
coordination tests and of the side-by-side benchmark."""

from __future__ import annotations

import csv
import random
from pathlib import Path

TOOLKIT_COLUMNS = [
    "message_id",
    "user_id",
    "username",
    "repost_id",
    "reply_id",
    "message",
    "timestamp",
    "urls",
]


CLAIM = (
    "they are hiding the real figures from us the election was stolen and the minister knows it "
    "share before it gets deleted"
)
WORDS = (
    "the a of to and in is it for on that this with was be at by not are from have we they you "
    "my our weather match train coffee garden school music news today tomorrow weekend morning "
    "happy great terrible long short new old local city council road park rain sun film book "
    "dinner"
)

VOCABULARY = WORDS.split()


def reworded(rng: random.Random, words: list[str], changes: int) -> str:
    """The claim with a few words dropped or swapped: what a copy-paste campaign posts."""
    text = list(words)
    for _ in range(changes):
        at = rng.randrange(len(text))
        if rng.random() < 0.5:
            del text[at]
        else:
            text[at] = rng.choice(VOCABULARY)
    return " ".join(text)


def write_actions(
    path: Path,
    events: int,
    *,
    seed: int = 11,
    users: int = 50_000,
    ring: int = 50,
    links: float = 0.0,
    texts: float = 0.0,
) -> list[str]:
    """Write `events` actions (reposts, posts with links at rate `links`, plain text posts at rate
    `texts`) over about a month; returns the planted ring's user ids. With `texts`, the ring also
    posts the same claim reworded, within seconds, and ordinary users post short chatter drawn
    from a small vocabulary (so chance near-duplicates happen too)."""
    rng = random.Random(seed)
    originals = max(events // 40, 10)
    start = 1_700_000_000
    span = 30 * 86_400
    ring_users = [f"ring{n:03d}" for n in range(ring)]
    ring_targets = rng.sample(range(originals), min(60, originals))
    domains = [f"https://news{n}.example/story/{k}" for n in range(40) for k in range(25)]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TOOLKIT_COLUMNS)
        written = 0
        for target in ring_targets:  # the ring: everyone within ~20 s of the first
            at = start + rng.randrange(span)
            for user in ring_users:
                writer.writerow([f"m{written}", user, user, f"p{target}", "", "", at + rng.randrange(20), ""])
                written += 1
        if texts:
            for _ in range(20):
                at = start + rng.randrange(span)
                for user in ring_users:
                    text = reworded(rng, CLAIM.split(), rng.randrange(3))
                    writer.writerow([f"m{written}", user, user, "", "", text, at + rng.randrange(30), ""])
                    written += 1
        while written < events:
            user = f"u{int(rng.paretovariate(1.1) * 7) % users}"
            at = start + rng.randrange(span)
            draw = rng.random()
            if draw < texts:
                chatter = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randrange(3, 9)))
                writer.writerow([f"m{written}", user, user, "", "", chatter, at // 600 * 600, ""])
            elif draw < texts + links:
                url = rng.choice(domains)
                extra = f" {rng.choice(domains)}" if rng.random() < 0.2 else ""
                writer.writerow([f"m{written}", user, user, "", "", "see this", at, url + extra])
            else:
                # A few posts draw many reposts (the most popular about 3% of all), each post's
                # reposts spread over hours after it is made.
                post = int(originals * rng.random() ** 3)
                at = start + (post * 7_919) % span + int(rng.expovariate(1 / 43_200))
                writer.writerow([f"m{written}", user, user, f"p{post}", "", "", at, ""])
            written += 1
    return ring_users

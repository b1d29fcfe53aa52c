"""Why engagements are clustered by post: plain sqlite3 inserts of like-shaped rows under several layouts.

Run: .venv/bin/python benchmarks/sqlite_layouts.py --events 1000000
Each layout gets a fresh WAL database with the store's pragmas and 20,000-row transactions of a
raw-log row (480-byte payload, time-ordered unique key) plus, except for `raw-only`, one engagement.
No Python normalisation is involved: this is SQLite's own cost for each layout.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time

from common import fresh_sqlite

B32 = "abcdefghijklmnopqrstuvwxyz234567"
LAYOUTS = {
    "raw-only": [],
    "rows, no index": ["CREATE TABLE e (id TEXT, kind TEXT, actor TEXT, post_id TEXT, created INT)"],
    "random-key primary key": [
        "CREATE TABLE e (id TEXT PRIMARY KEY, kind TEXT, actor TEXT, post_id TEXT, created INT)"
    ],
    "primary key + post index": [
        "CREATE TABLE e (id TEXT PRIMARY KEY, kind TEXT, actor TEXT, post_id TEXT, created INT)",
        "CREATE INDEX e_post ON e (post_id, created)",
    ],
    "clustered by post, sorted batch (the store's)": [
        "CREATE TABLE e (post_id TEXT, created INT, id TEXT, kind TEXT, actor TEXT, "
        "PRIMARY KEY (post_id, created, id)) WITHOUT ROWID",
        "CREATE INDEX e_created ON e (created)",
    ],
}


def run(name: str, ddl: list[str], events: int) -> float:
    conn = sqlite3.connect(fresh_sqlite("layouts"))
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-131072", "temp_store=MEMORY"):
        conn.execute("PRAGMA " + pragma)
    conn.execute(
        "CREATE TABLE raw (id INTEGER PRIMARY KEY, source TEXT, event_key TEXT UNIQUE, payload BLOB)"
    )
    for statement in ddl:
        conn.execute(statement)
    clustered = "WITHOUT ROWID" in "".join(ddl)
    rng = random.Random(1)
    dids = ["did:plc:" + "".join(rng.choices(B32, k=24)) for _ in range(20_000)]
    posts = [f"bluesky:at://{rng.choice(dids)}/app.bsky.feed.post/3k{i:011d}" for i in range(5_000)]
    payload = b"x" * 480
    started = time.perf_counter()
    clock = 1_700_000_000_000_000
    for first in range(0, events, 20_000):
        raws, rows = [], []
        for index in range(first, first + 20_000):
            clock += 1_000
            did, rkey = rng.choice(dids), f"3m{index:011d}"
            raws.append(("jetstream", f"bluesky:{rkey}:{did}/app.bsky.feed.like/{rkey}:create", payload))
            post = posts[int(len(posts) * rng.random() ** 0.5)]  # recent posts get most likes
            like = f"bluesky:at://{did}/app.bsky.feed.like/{rkey}"
            rows.append(
                (post, clock, like, "like", "bluesky:" + did)
                if clustered
                else (like, "like", "bluesky:" + did, post, clock)
            )
        conn.executemany("INSERT INTO raw (source, event_key, payload) VALUES (?, ?, ?)", raws)
        if ddl:
            if clustered:
                rows.sort()
            conn.executemany("INSERT INTO e VALUES (?, ?, ?, ?, ?)", rows)
        conn.commit()
        if (first // 20_000) % 10 == 9:  # new posts keep arriving
            posts = posts[2_500:] + [
                f"bluesky:at://{rng.choice(dids)}/app.bsky.feed.post/3n{first}{j:06d}" for j in range(2_500)
            ]
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    for name, ddl in LAYOUTS.items():
        seconds = run(name, ddl, args.events)
        print(f"{name:<46} {args.events / seconds:>9,.0f} events/s")


if __name__ == "__main__":
    main()

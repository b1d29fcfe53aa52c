"""Narratives over the real int8 MiniLM: tracked narratives calibrated from their examples and
assigned to posts written in other words, an account's sequence of narratives, who carried one
first, themes discovered among unclaimed posts, and the clear errors."""

from __future__ import annotations

import io
import random
from pathlib import Path

import msgspec
import numpy as np
import pytest

from reachwatch.analysis.narratives import assign, calibrate
from reachwatch.enrich.embedding import DEFAULT_MODEL_DIR
from reachwatch.errors import NotFoundError, UsageError
from reachwatch.model import Post
from reachwatch.service import narratives
from reachwatch.service.ingest import IngestOptions, ingest_stream
from reachwatch.store.database import Store

MODEL = str(Path(__file__).resolve().parents[1] / DEFAULT_MODEL_DIR)
WEEK = 7 * 86_400_000_000
T0 = 1_780_000_000_000_000
THEMES = {
    "policing": [
        "Two-tier policing is real: protesters on one side get arrested, the other side walks free",
        "Why do the police go after ordinary people but let their favoured groups off? Two tier justice",
        "The police treat some communities with kid gloves and crack down on everyone else",
        "Arrested for a tweet while others riot unpunished. This is two-tier policing",
        "One law for them, another for us. The police have picked a side",
    ],
    "farmers": [
        "The inheritance tax on family farms will destroy British agriculture",
        "Farmers are being taxed off their own land by this government's death tax",
        "Family farms handed down for generations now face a huge inheritance tax bill",
        "No farmers, no food. Scrap the farm inheritance tax now",
        "Tractors in Whitehall today: farmers protest the tax that will break up their farms",
    ],
    "election": [
        "This government has no mandate. We need a general election now",
        "Call a new election! The public never voted for this",
        "Millions have signed the petition demanding a fresh general election",
        "The people want a say: dissolve parliament and hold an election",
        "A new election is the only way to fix this mess",
    ],
}
CHATTER = [
    "Lovely sunny morning for a walk with the dog", "Anyone watching the football tonight?",
    "Just made the best banana bread of my life", "Traffic on the motorway is terrible again",
    "Happy birthday to my wonderful sister", "Reading a great novel about the sea",
    "Coffee first, then emails", "The garden is full of bees this week",
]  # fmt: skip


def corpus() -> list[Post]:
    """Account a takes up policing, then farmers, then election (weeks 0, 2, 4); b follows on
    farmers a day after a; c only chats (most of the posts). Each wording is posted twice, with a
    different ending."""
    rng = random.Random(3)
    posts = []
    plan = [("a", "policing", 0), ("a", "farmers", 2), ("a", "election", 4), ("b", "farmers", 2)]
    n = 0
    for account, theme, week in plan:
        delay = 86_400_000_000 if account == "b" else 0
        for k, text in enumerate(THEMES[theme] * 2):
            n += 1
            posts.append(
                _post(
                    n,
                    account,
                    T0 + week * WEEK + delay + k * 3_600_000_000,
                    text + rng.choice(["", "!", " 😡", " #UK"]),
                )
            )
    # Most posts in a store belong to no narrative (thresholds are calibrated against them).
    for k in range(200):
        n += 1
        posts.append(_post(n, "c", T0 + k * 1_800_000_000, rng.choice(CHATTER) + f" {k}"))
    # Non-English and odd posts are embedded like any other (and claimed by nothing here).
    for k, text in enumerate(["Das Wetter ist heute wunderbar", "今日はいい天気ですね", "😀😀😀", ""]):
        posts.append(_post(1000 + k, "c", T0 + k, text))
    return posts


def _post(n: int, account: str, at_us: int, text: str) -> Post:
    return Post(
        id=f"bluesky:at://did:plc:{account}/app.bsky.feed.post/n{n}", platform="bluesky",
        author_id=f"bluesky:did:plc:{account}", created_at_us=at_us, text=text,
    )  # fmt: skip


@pytest.fixture
def loaded(store: Store) -> Store:
    if not (Path(MODEL) / "model.onnx").is_file():
        pytest.skip(f"no embedding model in {MODEL}: run `make models`")
    lines = b"".join(
        msgspec.json.encode(msgspec.structs.asdict(p) | {"type": "post"}) + b"\n" for p in corpus()
    )
    ingest_stream(store, io.BytesIO(lines), "t", IngestOptions())
    report = narratives.embed_pending(store, MODEL)
    assert report.embedded == len(corpus())
    assert narratives.embed_pending(store, MODEL).embedded == 0  # resumable: nothing left
    return store


def test_tracked_narratives_are_assigned_and_read_as_a_sequence(loaded: Store) -> None:
    policing = ["The police arrest some people and let others go: two-tier justice"]
    narratives.add(loaded, MODEL, "Two-tier policing", policing,
                   keywords=["two-tier", "two tier"])  # fmt: skip
    narratives.add(loaded, MODEL, "Farm inheritance tax", [
        "The government's inheritance tax will force families to sell their farms",
        "Farmers protest against the new tax on inherited farmland",
    ])  # fmt: skip
    narratives.add(
        loaded, MODEL, "New election", ["We demand a general election now", "Parliament must be dissolved"]
    )
    by_theme = {
        "two-tier-policing": "policing",
        "farm-inheritance-tax": "farmers",
        "new-election": "election",
    }
    truth = {p.id: theme for theme_posts in [corpus()] for p in theme_posts for theme in THEMES
             if any(p.text.startswith(t) for t in THEMES[theme])}  # fmt: skip
    claimed = {(row.post_id, row.narrative_id) for name in by_theme for row in _assigned(loaded, name)}
    hits = sum(truth.get(post_id) == by_theme[narrative] for post_id, narrative in claimed)
    precision = hits / len(claimed)
    recall = len(
        {post_id for post_id, narrative in claimed if truth.get(post_id) == by_theme[narrative]}
    ) / len(truth)
    assert precision >= 0.9, precision
    assert recall >= 0.7, recall
    assert not any(
        post_id.startswith("bluesky:at://did:plc:c/") for post_id, _ in claimed
    )  # chatter stays out
    line = narratives.timeline(loaded, "bluesky:did:plc:a")
    assert line.sequence == ["two-tier-policing", "farm-inheritance-tax", "new-election"]
    assert narratives.timeline(loaded, "bluesky:did:plc:c").sequence == []
    farmers = narratives.spread(loaded, "Farm inheritance tax")
    assert [carrier.account_id for carrier in farmers.carriers][:2] == [
        "bluesky:did:plc:a",
        "bluesky:did:plc:b",
    ]
    assert farmers.carriers[1].lag_hours == pytest.approx(24, abs=1)
    # Each wording was posted twice (with a different ending): the same claim, grouped.
    assert farmers.claims
    assert max(claim.posts for claim in farmers.claims) >= 2


def _assigned(store: Store, narrative: str) -> list[object]:
    from reachwatch.store import narratives as reads

    return list(reads.assigned_posts(store, narrative_id=narrative))


def test_discovery_finds_an_untracked_theme(loaded: Store) -> None:
    narratives.add(loaded, MODEL, "Two-tier policing", THEMES["policing"][:2])
    found = narratives.discover_between(loaded, MODEL, T0 - WEEK, T0 + 10 * WEEK, min_cluster_size=5)
    assert found.clusters, "no theme discovered"
    words = {word for cluster in found.clusters for word in cluster.keywords}
    assert words & {"farm", "farms", "farmers", "tax", "inheritance", "election", "general"}
    theme = found.clusters[0]
    promoted = narratives.promote(loaded, MODEL, T0 - WEEK, T0 + 10 * WEEK, theme.label, "Found theme", 5)
    assert promoted.origin == "discovered"
    assert promoted.examples == found.examples[theme.label]
    assert narratives.spread(loaded, "Found theme").posts >= theme.size // 2
    with pytest.raises(NotFoundError, match="No theme 999"):
        narratives.promote(loaded, MODEL, T0 - WEEK, T0 + 10 * WEEK, 999, "Nothing", 5)


def test_calibration_and_assignment_by_hand() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=16)
    examples = np.vstack([base + rng.normal(scale=0.1, size=16) for _ in range(4)]).astype(np.float32)
    examples /= np.linalg.norm(examples, axis=1, keepdims=True)
    background = rng.normal(size=(200, 16)).astype(np.float32)
    background /= np.linalg.norm(background, axis=1, keepdims=True)
    found = calibrate(examples, background)
    assert found.background_high < found.threshold <= (found.examples_low or 1)
    one = calibrate(examples[:1], background)
    assert one.examples_low is None
    assert "one example" in one.note
    posts = np.vstack([examples[0], background[0]])
    hits = assign(posts, [examples], [found.threshold])
    assert [(hit.row, hit.narrative) for hit in hits] == [(0, 0)]


def test_errors_say_what_to_do(sqlite_store: Store, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="make models"):
        narratives.add(sqlite_store, str(tmp_path / "nowhere"), "X", ["an example"])
    with pytest.raises(UsageError, match="at least one example"):
        narratives.add(sqlite_store, MODEL, "X", ["  "])
    with pytest.raises(NotFoundError, match="narratives list"):
        narratives.spread(sqlite_store, "nothing")

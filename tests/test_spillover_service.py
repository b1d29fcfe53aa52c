"""`reachwatch spillover` over a store: the posts that target a person (named, replying to or
quoting them) counted before and after a post, harmful ones apart, and the share of the harmful
ones made by the post's engagers."""

from __future__ import annotations

import io
import json

import msgspec
import pytest
from typer.testing import CliRunner

from reachwatch.cli.main import app
from reachwatch.errors import NotFoundError, UsageError
from reachwatch.model import Account, Engagement, Person, Post
from reachwatch.service.ingest import IngestOptions, ingest_stream
from reachwatch.service.spillover import SpilloverOptions, spillover
from reachwatch.store.database import Store

HOUR = 3_600_000_000
T0 = 1_790_000_000_000_000  # the watched post
PERSON = Person(
    id="dana-whitfield", name="Dana Whitfield", aliases=["the Safeguarding Minister"],
    handles={"bluesky": ["dana.example.org"]},
)  # fmt: skip
DANA = "bluesky:did:plc:dana"
STAR = "bluesky:did:plc:star"
TRIGGER = f"bluesky:at://{STAR[8:]}/app.bsky.feed.post/trigger"
DANA_POST = f"bluesky:at://{DANA[8:]}/app.bsky.feed.post/speech"


def _post(n: int, author: int, at_us: int, text: str, **refs: str) -> Post:
    did = f"did:plc:user{author}"
    return Post(
        id=f"bluesky:at://{did}/app.bsky.feed.post/m{n}", platform="bluesky", author_id=f"bluesky:{did}",
        created_at_us=at_us, text=text, **refs,
    )  # fmt: skip


def scenario() -> list[msgspec.Struct]:
    """Two days before: a calm mention every 4 h, one abusive every 12 h. A day after: a named
    mention every hour, half of them abusive and mostly by the post's likers, plus replies to
    the person's own post."""
    records: list[msgspec.Struct] = [
        PERSON,
        Account(id=DANA, platform="bluesky", handle="dana.example.org"),
        Account(id=STAR, platform="bluesky", handle="star.example.org", followers=200_000_000),
        Post(
            id=DANA_POST, platform="bluesky", author_id=DANA, created_at_us=T0 - 72 * HOUR, text="My speech"
        ),
        Post(
            id=TRIGGER,
            platform="bluesky",
            author_id=STAR,
            created_at_us=T0,
            text="Dana Whitfield is a criminal and should be jailed",
        ),
    ]
    n = 0
    for hour in range(0, 48, 4):
        n += 1
        abusive = hour % 12 == 0
        text = "Dana Whitfield should be hanged" if abusive else "Dana Whitfield spoke in the debate today"
        records.append(_post(n, 100 + n, T0 - 48 * HOUR + hour * HOUR + 1, text))
    for hour in range(24):
        n += 1
        author = 500 + hour
        abusive = hour % 2 == 0
        text = "the Safeguarding Minister should be hanged" if abusive else "Dana Whitfield is in the news"
        records.append(_post(n, author, T0 + hour * HOUR + 1, text))
        if hour < 20:  # twenty of them liked the watched post first
            records.append(
                Engagement(
                    id=f"bluesky:at://did:plc:user{author}/app.bsky.feed.like/l{hour}", kind="like",
                    actor_id=f"bluesky:did:plc:user{author}", post_id=TRIGGER, created_at_us=T0 + hour * HOUR,
                )
            )  # fmt: skip
    for k in range(3):  # replies to her own post that do not name her: still aimed at her
        n += 1
        records.append(_post(n, 900 + k, T0 + 2 * HOUR + k, "you should be locked up", reply_to=DANA_POST))
    return records


@pytest.fixture
def loaded(store: Store) -> Store:
    lines = b"".join(
        msgspec.json.encode(msgspec.structs.asdict(r) | {"type": type(r).__name__.lower()}) + b"\n"
        for r in scenario()
    )
    ingest_stream(store, io.BytesIO(lines), "test", IngestOptions(trusted_records=True))
    return store


def test_counts_ratios_and_attribution(loaded: Store) -> None:
    report = spillover(
        loaded, "dana-whitfield", TRIGGER, SpilloverOptions(before_hours=48, after_hours=24, bin_hours=1)
    )
    assert report.post_targets_person == ["named"]
    assert report.mentions.before == 12
    assert report.mentions.after == 24 + 3  # the trigger itself is not counted
    assert report.after_by_how == {"named": 24, "reply": 3}
    assert report.harmful.before == 4  # hours 0, 12, 24, 36
    assert report.harmful.after == 12 + 3
    # The after window ends with the newest post observed (23 h after), not at 24 h:
    # 15 in 23 h against 4 in 48 h.
    assert report.harmful.after_hours == pytest.approx(23, abs=0.01)
    assert report.harmful.ratio == pytest.approx((15 / 23) / (4 / 48), rel=1e-3)
    assert report.harmful.low > 1
    assert report.attribution.after_total == 15
    assert report.attribution.after_by_engagers == 10  # even hours below 20
    assert report.attribution.before_by_engagers == 0
    assert sum(row.mentions for row in report.bins) == 39
    assert sum(row.harmful_by_engagers for row in report.bins) == 10
    assert report.top_harmful_authors[0].harmful_after == 1


def test_by_name_and_alias_and_clear_errors(loaded: Store) -> None:
    options = SpilloverOptions(before_hours=48, after_hours=24, bin_hours=6)
    by_alias = spillover(loaded, "The Safeguarding Minister", TRIGGER, options)
    assert by_alias.person_id == "dana-whitfield"
    assert len(by_alias.bins) == 8 + 4
    fit = by_alias.segmented
    assert fit is not None
    assert fit.level_change > 1
    with pytest.raises(NotFoundError, match="people list"):
        spillover(loaded, "Nobody Here", TRIGGER, options)
    with pytest.raises(NotFoundError, match="No post"):
        spillover(loaded, "dana-whitfield", "bluesky:at://did:plc:x/app.bsky.feed.post/none", options)
    with pytest.raises(UsageError, match="positive"):
        spillover(loaded, "dana-whitfield", TRIGGER, SpilloverOptions(bin_hours=0))


def test_cli(loaded: Store, store_url: str) -> None:
    runner = CliRunner()
    url = store_url
    shown = runner.invoke(app, ["spillover", "Dana Whitfield", "--post", TRIGGER, "--db", url,
                                "--before", "2d", "--after", "1d"])  # fmt: skip
    assert shown.exit_code == 0, shown.output
    flat = " ".join(shown.output.split())
    assert "Harmful posts aimed at the person: they name, reply to or quote the person" in flat
    assert "individual: 4 before, 15 after" in flat
    assert "Second view, harmful posts that mention the person (whoever the abuse targets): 4 before" in flat
    as_json = runner.invoke(app, ["spillover", "dana-whitfield", "--post", TRIGGER, "--db", url,
                                  "--before", "48h", "--after", "24h", "--json"])  # fmt: skip
    assert json.loads(as_json.output)["attribution"]["after_by_engagers"] == 10
    bad = runner.invoke(
        app, ["spillover", "dana-whitfield", "--post", TRIGGER, "--db", url, "--before", "two"]
    )
    assert isinstance(bad.exception, UsageError)
    assert "12h, 7d, 2w" in str(bad.exception)


def test_versus_pool_says_when_there_is_no_pool(loaded: Store, store_url: str) -> None:
    from reachwatch.service.spillover import versus_pool

    found = versus_pool(
        loaded, "dana-whitfield", TRIGGER, SpilloverOptions(before_hours=48, after_hours=24, bin_hours=1)
    )
    assert found.donors == []  # the registry holds only her
    assert found.did is None
    assert "not identified" in found.did_note
    assert not found.synthetic.identified
    assert "0 donors" in found.synthetic.reason
    runner = CliRunner()
    arguments = ["spillover", "dana-whitfield", "--post", TRIGGER, "--db", store_url]
    shown = runner.invoke(app, [*arguments, "--before", "2d", "--after", "1d", "--bin", "1h", "--vs", "pool"])
    assert shown.exit_code == 0, shown.output
    assert "no other protected people" in " ".join(shown.output.split())
    refused = runner.invoke(
        app, ["spillover", "dana-whitfield", "--post", TRIGGER, "--db", store_url, "--vs", "all"]
    )
    assert isinstance(refused.exception, UsageError)

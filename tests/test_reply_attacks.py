"""Coordinated reply attacks on hand-made stores: who replies in concert across targets, on which
target posts, and what does not count (a crowd around one post, replies spread over hours)."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from typer.testing import CliRunner

from reachwatch.cli.main import app as cli
from reachwatch.errors import UsageError
from reachwatch.model import Account, Person, Post
from reachwatch.service.reply_attacks import ReplyAttackOptions, detect
from reachwatch.store.database import Store

T0 = 1_790_000_000_000_000
SECOND = 1_000_000
MINISTER = "bluesky:did:plc:minister"
WATCHED = "bluesky:did:plc:bigaccount"
ATTACKERS = [f"bluesky:did:plc:attacker{n}" for n in range(6)]


def _post(author: str, key: str, at_us: int, text: str, reply_to: str | None = None) -> Post:
    return Post(
        id=f"bluesky:at://{author.removeprefix('bluesky:')}/app.bsky.feed.post/{key}", platform="bluesky",
        author_id=author, created_at_us=at_us, text=text, reply_to=reply_to,
    )  # fmt: skip


def _attacked_store(store: Store) -> dict[str, list[str]]:
    """The minister posts four times and a watched account once. Six attackers reply to three of
    the minister's posts within 40 s of each other, a few minutes after each; 30 ordinary
    accounts reply to every post at random over hours; on the watched post a crowd of 20 replies
    twice each within one minute, on that post alone (a viral moment, not an attack across
    targets: the crowd is a group, with a burst, on one target only)."""
    rng = np.random.default_rng(3)
    store.write_records([
        Person(id="minister", name="Dana Whitfield", handles={"bluesky": ["minister.bsky.social"]}),
        Account(id=MINISTER, platform="bluesky", handle="minister.bsky.social"),
        Account(id=WATCHED, platform="bluesky", handle="big.bsky.social", watched=True),
    ])  # fmt: skip
    records: list[Post] = []
    targets = [_post(MINISTER, f"m{k}", T0 + k * 6 * 3600 * SECOND, "an update on my work") for k in range(4)]
    viral = _post(WATCHED, "w0", T0 + 30 * 3600 * SECOND, "a post that went viral")
    records += [*targets, viral]
    for k, target in enumerate(targets[:3]):
        burst = target.created_at_us + 180 * SECOND
        for n, attacker in enumerate(ATTACKERS):
            at = burst + int(rng.integers(0, 40)) * SECOND
            records.append(
                _post(
                    attacker,
                    f"a{k}",
                    at,
                    (
                        "Resign NOW, you lying disgrace; everyone knows",
                        "resign now you lying disgrace everyone knows",
                    )[n % 2],
                    target.id,
                )
            )
    for target in [*targets, viral]:
        for n in range(30):
            at = target.created_at_us + int(rng.integers(60, 10 * 3600)) * SECOND
            records.append(
                _post(f"bluesky:did:plc:fan{n}", f"f{target.id[-2:]}", at, f"reply {n}", target.id)
            )
    for n in range(20):  # twice each: a tie of weight 2 between every two of them, on one post
        for again in range(2):
            at = viral.created_at_us + 120 * SECOND + int(rng.integers(0, 60)) * SECOND
            text = "wow this is big news today friends"
            records.append(_post(f"bluesky:did:plc:crowd{n}", f"c{again}", at, text, viral.id))
    store.write_records(records)
    return {"attacked": [t.id for t in targets[:3]], "quiet": [targets[3].id, viral.id]}


def test_attackers_across_targets_are_found_and_a_crowd_on_one_post_is_not(sqlite_store: Store) -> None:
    posts = _attacked_store(sqlite_store)
    report = detect(sqlite_store, ReplyAttackOptions(since_us=0, until_us=2**62))
    assert report.targets_considered == 5
    assert {r.account_id for r in report.repliers} == set(ATTACKERS)
    (cluster,) = report.clusters
    assert cluster.targets == 3
    assert cluster.bursts == 3
    assert cluster.signals["co-reply"] > 0
    assert cluster.signals["near-duplicate"] > 0
    attacked = {t.post_id for t in report.targets if t.attacked}
    assert attacked == set(posts["attacked"])
    by_id = {t.post_id: t for t in report.targets}
    for post_id in posts["attacked"]:
        target = by_id[post_id]
        assert target.coordinated == 6
        assert target.replies == 36
        assert target.score == round(6 / 36, 3)
        assert target.largest_burst == 6
        assert target.burst_spread_s <= 40
        assert target.why == ["by minister"]
        assert target.drivers[0].startswith("6 of 36 replies in coordinated bursts")
    assert by_id[posts["quiet"][1]].why == ["watched account"]
    assert not by_id[posts["quiet"][1]].attacked  # the crowd burst once, on one post
    assert by_id[posts["quiet"][1]].replies == 30 + 40
    assert all(r.score == 1.0 and r.targets == 3 and r.partners == 5 for r in report.repliers)
    assert all(r.median_delay_s < 240 for r in report.repliers)


def test_a_person_filter_and_bad_options(sqlite_store: Store) -> None:
    posts = _attacked_store(sqlite_store)
    mine = detect(sqlite_store, ReplyAttackOptions(since_us=0, until_us=2**62, person="minister"))
    assert mine.targets_considered == 4
    assert {t.post_id for t in mine.targets if t.attacked} == set(posts["attacked"])
    narrow = detect(sqlite_store, ReplyAttackOptions(since_us=0, until_us=2**62, window_s=5))
    assert narrow.repliers == []  # within 5 s the attackers never chain three replies
    with pytest.raises(UsageError, match="No protected person 'nobody'"):
        detect(sqlite_store, ReplyAttackOptions(since_us=0, until_us=2**62, person="nobody"))
    with pytest.raises(UsageError, match="--until must be after --since"):
        detect(sqlite_store, ReplyAttackOptions(since_us=5, until_us=5))


def test_the_cli_shows_attackers_by_pseudonym(sqlite_store: Store) -> None:
    _attacked_store(sqlite_store)
    db = sqlite_store.location.removeprefix("sqlite:///")
    done = CliRunner().invoke(cli, ["reply-attacks", "--db", db, "--json"])
    assert done.exit_code == 0, done.output
    report = msgspec.json.decode(done.output)
    assert len(report["repliers"]) == 6
    assert all(r["account_id"].startswith("anon-") for r in report["repliers"])
    assert "did:plc:attacker" not in done.output
    shown = CliRunner().invoke(cli, ["reply-attacks", "--db", db, "--person", "minister"])
    assert shown.exit_code == 0, shown.output
    assert "3 attacked by 1 cluster(s) of 6 accounts" in shown.output
    refused = CliRunner().invoke(cli, ["reply-attacks", "--db", db, "--person", "nobody"])
    assert isinstance(refused.exception, UsageError)  # the entry point prints it and exits 2
    assert "No protected person 'nobody'" in str(refused.exception)

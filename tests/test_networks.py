"""Interaction and co-engagement networks on a hand-made store: two camps around two authors and
one account that engages with both, which must come out as two communities and a bridge."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import igraph
import pytest
from typer.testing import CliRunner

from reachwatch.cli.main import app
from reachwatch.errors import UsageError
from reachwatch.model import Account, Engagement, EngagementKind, Post
from reachwatch.service import audit, cases, users
from reachwatch.service.networks import NetworkKind, NetworkOptions, build
from reachwatch.store.database import Store

T0 = 1_790_000_000_000_000
MIN = 60_000_000
KINDS = (EngagementKind.REPOST, EngagementKind.QUOTE, EngagementKind.REPLY, EngagementKind.LIKE)


def did(name: str) -> str:
    return f"bluesky:did:plc:{name}"


def post_id(author: str, n: int) -> str:
    return f"bluesky:at://did:plc:{author}/app.bsky.feed.post/p{n}"


def camp_records(author: str, fans: list[str], tag: str, domain: str) -> list[object]:
    records: list[object] = [
        Account(id=did(author), platform="bluesky", handle=f"{author}.test", followers=5000)
    ]
    for n in range(3):
        records.append(
            Post(
                id=post_id(author, n), platform="bluesky", author_id=did(author), created_at_us=T0 + n * MIN,
                hashtags=[tag], urls=[f"https://www.{domain}/story/{n}"],
            )
        )  # fmt: skip
        for k, fan in enumerate(fans):
            kind = KINDS[(n + k) % len(KINDS)]
            records.append(
                Engagement(
                    id=f"bluesky:at://did:plc:{fan}/app.bsky.feed.{kind.value}/{author}{n}",
                    kind=kind,
                    actor_id=did(fan),
                    post_id=post_id(author, n),
                    created_at_us=T0 + (n + 1) * MIN,
                )
            )
    return records


def all_records() -> list[object]:
    left = [f"left{k}" for k in range(6)]
    right = [f"right{k}" for k in range(6)]
    records = camp_records("alpha", left, "Alpha", "alpha-news.example") + camp_records(
        "beta", right, "beta", "beta-news.example"
    )
    # The bridge reposts and replies in both camps, twice each.
    for author in ("alpha", "beta"):
        for n, kind in ((0, EngagementKind.REPOST), (1, EngagementKind.REPLY)):
            records.append(
                Engagement(
                    id=f"bluesky:at://did:plc:bridge/app.bsky.feed.{kind.value}/{author}{n}",
                    kind=kind,
                    actor_id=did("bridge"),
                    post_id=post_id(author, n),
                    created_at_us=T0 + 9 * MIN,
                )
            )
    return records


@pytest.fixture
def camps(store: Store) -> Store:
    store.write_records(all_records())  # type: ignore[arg-type]
    return store


def test_interaction_network_has_two_camps_and_the_bridge_between(camps: Store) -> None:
    report, network = build(camps, NetworkOptions())
    assert report.engagements == 3 * 6 * 2 + 4
    label = dict(zip(network.accounts, network.cluster, strict=True))
    assert len({label[did("alpha")], *(label[did(f"left{k}")] for k in range(6))}) == 1
    assert len({label[did("beta")], *(label[did(f"right{k}")] for k in range(6))}) == 1
    assert label[did("alpha")] != label[did("beta")]
    assert report.bridges[0].account == did("bridge")
    assert report.bridges[0].communities == 2
    assert report.betweenness == "exact"
    # Likes are not interactions: each fan's edge counts its reposts, quotes and replies only.
    index = {account: i for i, account in enumerate(network.accounts)}
    edges = {(network.source[i], network.target[i]): i for i in range(len(network.weight))}
    left0 = edges[(index[did("left0")], index[did("alpha")])]
    assert network.weight[left0] == 3 - sum(KINDS[n % 4] == EngagementKind.LIKE for n in range(3))
    by_label = {community.label: community for community in report.communities}
    alpha = by_label[label[did("alpha")]]
    assert alpha.top_accounts[0].handle == "alpha.test"
    assert alpha.top_hashtags == [("alpha", 3)]
    assert alpha.top_domains == [("alpha-news.example", 3)]
    assert sum(c.engagement_share for c in report.communities) == pytest.approx(1.0)


def test_co_engagement_links_accounts_by_shared_posts(camps: Store) -> None:
    report, network = build(camps, NetworkOptions(kind=NetworkKind.CO_ENGAGEMENT, min_weight=2))
    index = {account: i for i, account in enumerate(network.accounts)}
    pairs = {
        frozenset((network.accounts[s], network.accounts[t])): w
        for s, t, w in zip(network.source, network.target, network.weight, strict=True)
    }
    assert pairs[frozenset((did("left0"), did("left1")))] == 3  # all three alpha posts
    assert pairs[frozenset((did("bridge"), did("left2")))] == 2
    assert not any(did("left0") in pair and did("right0") in pair for pair in pairs)
    assert network.signal_weights["shared_posts"] == network.weight
    assert report.hub_posts == 0
    assert did("alpha") not in index  # authors did not engage
    # Every post has more than 5 engagers: each engager is tied only to the next to arrive (ties in
    # time broken by account), so each camp is a chain left0 – left1 – … – left5 – bridge.
    options = NetworkOptions(kind=NetworkKind.CO_ENGAGEMENT, max_post_engagers=5, time_neighbours=1)
    hubs, chained = build(camps, options)
    assert hubs.hub_posts == 6
    ties = {
        frozenset((chained.accounts[s], chained.accounts[t])): w
        for s, t, w in zip(chained.source, chained.target, chained.weight, strict=True)
    }
    assert hubs.edges == len(ties) == 2 * 6
    assert ties[frozenset((did("left0"), did("left1")))] == 3
    assert ties[frozenset((did("left5"), did("bridge")))] == 2  # the bridge came last, on two posts
    assert frozenset((did("left0"), did("left2"))) not in ties
    with pytest.raises(UsageError, match="time-neighbours"):
        build(camps, NetworkOptions(kind=NetworkKind.CO_ENGAGEMENT, time_neighbours=0))


def test_an_accounts_network_is_its_amplifiers_not_a_star(store: Store) -> None:
    """One watched account, 3 posts with 800 engagers each in two crowds that arrive apart: the
    network leaves the account out, stays linear on posts past max_post_engagers, and finds the
    two crowds."""
    records: list[object] = [Account(id=did("star"), platform="bluesky", handle="star.test", followers=10**8)]
    for n in range(3):
        records.append(
            Post(id=post_id("star", n), platform="bluesky", author_id=did("star"), created_at_us=T0)
        )
        records.append(  # the account replies in its own thread: not one of its amplifiers
            Engagement(
                id=f"bluesky:at://did:plc:star/app.bsky.feed.post/r{n}", kind=EngagementKind.REPLY,
                actor_id=did("star"), post_id=post_id("star", n), created_at_us=T0 + MIN,
            )
        )  # fmt: skip
        for crowd, start in (("early", 1), ("late", 600)):
            arrival = random.Random(f"{crowd}{n}").sample(range(400), 400)  # a new order on each post
            for k in range(400):
                records.append(
                    Engagement(
                        id=f"bluesky:at://did:plc:{crowd}{k}/app.bsky.feed.like/{n}",
                        kind=EngagementKind.LIKE, actor_id=did(f"{crowd}{k}"), post_id=post_id("star", n),
                        created_at_us=T0 + (start + arrival[k]) * 1_000_000,
                    )
                )  # fmt: skip
    store.write_records(records)  # type: ignore[arg-type]
    options = NetworkOptions(kind=NetworkKind.CO_ENGAGEMENT, author_id=did("star"))
    report, network = build(store, options)
    assert did("star") not in network.accounts
    assert report.hub_posts == 3
    assert report.accounts == 800
    assert report.edges <= 3 * 800 * options.time_neighbours  # linear: all pairs would be 319,600
    label = dict(zip(network.accounts, network.cluster, strict=True))
    crowds = {crowd: Counter(label[did(f"{crowd}{k}")] for k in range(400)) for crowd in ("early", "late")}
    # A community is one crowd's: only where the two meet in the order of arrival can ties cross.
    mixed = sum(
        min(crowds["early"][c], crowds["late"][c]) for c in crowds["early"].keys() & crowds["late"].keys()
    )
    assert mixed <= 8


def test_scopes_and_bad_options(camps: Store) -> None:
    _, network = build(camps, NetworkOptions(author_id=did("beta")))
    assert did("alpha") not in network.accounts
    assert did("beta") in network.accounts
    one_post, _ = build(camps, NetworkOptions(post_id=post_id("alpha", 0)))
    assert one_post.engagements == 6 + 1
    with pytest.raises(UsageError, match="after"):
        build(camps, NetworkOptions(since_us=5, until_us=1))


def test_export_network_command_writes_graphml(tmp_path: Path) -> None:
    db = tmp_path / "camps.db"
    store = Store.open(str(db))
    store.write_records(all_records())  # type: ignore[arg-type]
    store.close()
    out = tmp_path / "net.graphml"
    args = ["export", "network", str(out), "--db", str(db), "--kind", "interaction"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    graph = igraph.Graph.Read_GraphML(str(out))
    assert graph.vcount() == 2 + 12 + 1
    assert {"repost", "quote", "reply", "weight"} <= set(graph.es.attributes())
    assert len(set(graph.vs["cluster"])) == 2
    assert all(str(name).startswith("anon-") for name in graph.vs["account"])  # ordinary engagers
    shown = CliRunner().invoke(app, ["network", "--db", str(db), "--kind", "co-engagement"])
    assert shown.exit_code == 0
    assert "anon-" in shown.output
    assert "bridge" not in shown.output  # the bridging account is an ordinary one: a pseudonym
    store = Store.open(str(db))
    users.add_user(store, "ana", "analyst", "a long enough password")
    ana = users.login(store, "ana", "a long enough password", "test").principal
    case = cases.open_case(store, ana, "Bridges", "Who links the two camps in the replies?", "Research")
    store.close()
    named = CliRunner().invoke(
        app, ["network", "--db", str(db), "--kind", "co-engagement", "--names-under-case", case.id]
    )
    assert named.exit_code == 0, named.output
    assert "bridge" in named.output
    store = Store.open(str(db))
    assert [e.case_id for e in audit.entries(store) if e.action == "reveal"] == [case.id]
    store.close()
    bad = CliRunner().invoke(app, ["export", "network", str(tmp_path / "n.xlsx"), "--db", str(db)])
    assert isinstance(bad.exception, UsageError)
    assert "gexf" in str(bad.exception)

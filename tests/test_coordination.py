"""Co-action networks: hand-made cases, and edge-for-edge equality with the
coordination-network-toolkit (the peer) on the same generated input."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from xml.etree import ElementTree

import igraph
import numpy as np
import pyarrow.parquet as pq
import pytest

from reachwatch.analysis.coordination import co_action_edges
from reachwatch.connectors.files.toolkit_csv import ActionTable, links, read_toolkit_csv, reposts
from reachwatch.errors import UsageError
from reachwatch.model import Engagement, EngagementKind, Post
from reachwatch.scenario.actions import write_actions
from reachwatch.service.coordination import CoordinationOptions, detect
from reachwatch.service.exports import export_network
from reachwatch.store.database import Store


def as_set(table: ActionTable, window_s: int, min_weight: int) -> set[tuple[str, str, int]]:
    edges = co_action_edges(
        table.accounts, table.items, table.times_ms, window_s * 1000, min_weight, messages=table.messages,
        self_loops=True,
    )  # fmt: skip
    names = table.account_ids
    return {
        (names[s], names[t], int(w)) for s, t, w in zip(edges.source, edges.target, edges.weight, strict=True)
    }


def test_edges_by_hand() -> None:
    # a and b repost post 0 ten seconds apart and post 1 five seconds apart; c reposts post 0 later
    times = np.array([0, 10_000, 100_000, 105_000, 500_000])
    edges = co_action_edges(np.array([0, 1, 0, 1, 2]), np.array([0, 0, 1, 1, 0]), times, 60_000, 2)
    assert sorted(zip(edges.source.tolist(), edges.target.tolist(), edges.weight.tolist(), strict=True)) == [
        (0, 1, 2),
        (1, 0, 2),
    ]


def test_window_ends_are_inclusive_and_weights_count_messages() -> None:
    # exactly 60 s apart counts; a message with two links to the same pair counts once
    accounts = np.array([0, 1, 0, 0, 1])
    items = np.array([0, 0, 1, 2, 2])
    times = np.array([0, 60_000, 1_000, 1_000, 2_000])
    messages = np.array([0, 1, 2, 2, 3])
    edges = co_action_edges(accounts, items, times, 60_000, 1, messages=messages)
    found = dict(
        zip(
            zip(edges.source.tolist(), edges.target.tolist(), strict=True), edges.weight.tolist(), strict=True
        )
    )
    assert found == {(0, 1): 2, (1, 0): 2}


def test_small_pair_budget_gives_the_same_answer() -> None:
    rng = np.random.default_rng(3)
    accounts, items = rng.integers(0, 40, 3_000), rng.integers(0, 30, 3_000)
    times = rng.integers(0, 3_600_000, 3_000)
    whole = co_action_edges(accounts, items, times, 60_000, 1)
    chunked = co_action_edges(accounts, items, times, 60_000, 1, max_pairs=500)
    assert np.array_equal(whole.weight, chunked.weight)
    assert np.array_equal(whole.source, chunked.source)


@pytest.fixture(scope="module")
def toolkit_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    toolkit = pytest.importorskip("coordination_network_toolkit.compute_networks")
    preprocess = pytest.importorskip("coordination_network_toolkit.preprocess")
    folder = tmp_path_factory.mktemp("toolkit")
    data, db = folder / "actions.csv", folder / "toolkit.db"
    write_actions(data, 6_000, users=400, ring=12, links=0.35)
    preprocess.preprocess_csv_files(str(db), [str(data)])
    toolkit.compute_co_retweet_parallel(str(db), 60, n_threads=2, min_edge_weight=2)
    toolkit.compute_co_link_network(str(db), 60, n_threads=2, min_edge_weight=2)
    return data, db


@pytest.mark.parametrize(("network", "reader"), [("co_retweet_network", reposts), ("co_link_network", links)])
def test_equal_to_the_toolkit_edge_for_edge(
    toolkit_run: tuple[Path, Path], network: str, reader: object
) -> None:
    data, db = toolkit_run
    with sqlite3.connect(db) as conn:
        theirs = {
            (str(u), str(v), int(w))
            for u, v, w in conn.execute(f"select user_1, user_2, weight from {network}")
        }
    ours = as_set(reader(read_toolkit_csv(data)), 60, 2)  # type: ignore[operator]
    assert len(theirs) > 50
    assert ours == theirs


# -- over the store -----------------------------------------------------------------------------
def _ring_store(store: Store) -> None:
    """Six accounts repost the same four posts within 20 s of each other; twenty fans repost
    each post at random hours; two fans share two posts in the same minute by chance."""
    rng = np.random.default_rng(5)
    records: list[object] = []
    t0 = 1_790_000_000_000_000
    posts = [f"bluesky:at://did:plc:star/app.bsky.feed.post/p{k}" for k in range(4)]
    for k, post in enumerate(posts):
        records.append(Post(id=post, platform="bluesky", author_id="bluesky:did:plc:star", created_at_us=t0,
                            hashtags=["Tag"]))  # fmt: skip
        burst = t0 + k * 3_600_000_000
        for member in range(6):
            records.append(_repost(f"ring{member}", post, burst + int(rng.integers(0, 20)) * 1_000_000, k))
        for fan in range(20):
            records.append(_repost(f"fan{fan}", post, t0 + int(rng.integers(0, 72)) * 3_600_000_000 + fan, k))
    for k in (0, 1):  # the chance pair
        records.append(_repost("chance_a", posts[k], t0 + 500_000_000_000 + k, k))
        records.append(_repost("chance_b", posts[k], t0 + 500_010_000_000 + k, k))
    store.write_records(records)  # type: ignore[arg-type]


def _repost(actor: str, post: str, at_us: int, k: int) -> Engagement:
    return Engagement(
        id=f"bluesky:at://did:plc:{actor}/app.bsky.feed.repost/r{k}",
        kind=EngagementKind.REPOST,
        actor_id=f"bluesky:did:plc:{actor}",
        post_id=post,
        created_at_us=at_us,
    )


def test_the_ring_is_flagged_with_its_evidence_and_chance_pairs_are_not(store: Store) -> None:
    _ring_store(store)
    report, network = detect(store, CoordinationOptions(since_us=0, until_us=2**62))
    (cluster,) = report.clusters
    assert cluster.accounts == [f"bluesky:did:plc:ring{m}" for m in range(6)]
    assert cluster.score == 4.0  # every ordered pair co-reposted all four posts
    assert len(cluster.evidence) == 4
    assert all(item.members == 6 and item.spread_s <= 20 for item in cluster.evidence)
    assert report.edges["co-repost"] >= 30 + 2  # the ring's 30 directed edges and the chance pair's
    assert sum(network.flagged) == 6


@pytest.mark.parametrize("suffix", [".gexf", ".graphml", ".csv", ".parquet"])
def test_exports_are_readable(sqlite_store: Store, tmp_path: Path, suffix: str) -> None:
    _ring_store(sqlite_store)
    _, network = detect(sqlite_store, CoordinationOptions(since_us=0, until_us=2**62))
    written = export_network(network, tmp_path / f"network{suffix}")
    if suffix == ".graphml":
        graph = igraph.Graph.Read_GraphML(str(written[0]))
        assert graph.ecount() == len(network.weight)
        assert sum(bool(v) for v in graph.vs["flagged"]) == 6
    elif suffix == ".gexf":
        root = ElementTree.parse(written[0]).getroot()
        assert len(root.findall(".//{http://gexf.net/1.3}edge")) == len(network.weight)
    elif suffix == ".csv":
        with written[0].open() as handle:
            assert len(list(csv.DictReader(handle))) == len(network.weight)
    else:
        assert pq.read_table(written[1]).num_rows == len(network.accounts)


def test_bad_options_say_what_to_do(sqlite_store: Store, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="co-repost"):
        detect(sqlite_store, CoordinationOptions(since_us=0, until_us=1, signals=["co-dance"]))
    with pytest.raises(UsageError, match="after"):
        detect(sqlite_store, CoordinationOptions(since_us=5, until_us=1))
    _, network = detect(sqlite_store, CoordinationOptions(since_us=0, until_us=1))
    with pytest.raises(UsageError, match="gexf"):
        export_network(network, tmp_path / "network.xlsx")

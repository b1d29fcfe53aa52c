"""Co-action networks: hand-made cases, and edge-for-edge equality with the
coordination-network-toolkit (the peer) on the same generated input."""

from __future__ import annotations

import csv
import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import igraph
import msgspec
import numpy as np
import pyarrow.parquet as pq
import pytest

from reachwatch.analysis.coordination import co_action_edges, window_pairs
from reachwatch.analysis.links import normalise_url
from reachwatch.analysis.near_duplicates import co_similar_edges, match_texts, matched_edges, tokens
from reachwatch.connectors.files.toolkit_csv import ActionTable, links, messages, read_toolkit_csv, reposts
from reachwatch.errors import UsageError
from reachwatch.model import Engagement, EngagementKind, Post
from reachwatch.scenario.actions import write_actions
from reachwatch.service.coordination import (
    CoordinationOptions,
    cluster_evidence,
    detect,
    edge_evidence,
    time_chunks,
)
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


def test_near_duplicates_by_hand() -> None:
    texts = [
        "They are hiding the real figures from us, share it now",  # a, t=0
        "they are hiding the real figures from us share it now!!",  # b, 5 s later: same words
        "@someone They are hiding the real figures from us share it now",  # c: mention dropped
        "lovely weather in the park today",  # a: unrelated
        "They are hiding the real figures from us share it now",  # b, 10 minutes later
    ]
    edges = co_similar_edges(
        np.array([0, 1, 2, 0, 1]), texts, np.array([0, 5_000, 30_000, 1_000, 600_000]), 60_000, 1
    )
    found = set(zip(edges.source.tolist(), edges.target.tolist(), edges.weight.tolist(), strict=True))
    assert found == {(0, 1, 1), (1, 0, 1), (0, 2, 1), (2, 0, 1), (1, 2, 1), (2, 1, 1)}
    assert tokens("Don't @you SHOUT") == frozenset({"don't", "shout"})


def test_near_duplicates_respect_the_threshold_and_minimum_size() -> None:
    texts = ["one two three four five six seven eight nine ten", "one two three four five six seven eight"]
    accounts, times = np.array([0, 1]), np.array([0, 1_000])
    assert len(co_similar_edges(accounts, texts, times, 60_000, 1, threshold=0.8)) == 2  # J = 0.8
    assert len(co_similar_edges(accounts, texts, times, 60_000, 1, threshold=0.81)) == 0
    assert len(co_similar_edges(accounts, texts, times, 60_000, 1, threshold=0.5, min_tokens=9)) == 0


@pytest.mark.parametrize("threshold", [0.9, 0.7])
def test_near_duplicates_equal_the_toolkit_edge_for_edge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: float
) -> None:
    """Same tokens in, same co-similar-tweet edges and weights out (the toolkit's own tokenizer
    splits punctuation differently, so both are given ours: what is compared is the network)."""
    toolkit = pytest.importorskip("coordination_network_toolkit.compute_networks")
    preprocess = pytest.importorskip("coordination_network_toolkit.preprocess")
    data, db = tmp_path / "actions.csv", tmp_path / "toolkit.db"
    ring = write_actions(data, 3_000, users=300, ring=10, texts=0.5)
    preprocess.preprocess_csv_files(str(db), [str(data)])
    monkeypatch.setattr(toolkit, "tokenize", lambda text: " ".join(sorted(tokens(text))))
    toolkit.compute_co_similar_tweet(
        str(db), 60, n_threads=1, similarity_threshold=threshold, min_edge_weight=2
    )
    with sqlite3.connect(db) as conn:
        theirs = {
            (str(u), str(v), int(w))
            for u, v, w in conn.execute("select user_1, user_2, weight from co_similar_tweet_network")
        }
    table = messages(read_toolkit_csv(data))
    edges = co_similar_edges(
        table.accounts, table.texts, table.times_ms, 60_000, 2, threshold=threshold, self_loops=True
    )
    names = table.account_ids
    ours = {
        (names[s], names[t], int(w)) for s, t, w in zip(edges.source, edges.target, edges.weight, strict=True)
    }
    assert ours == theirs
    between = {(u, v) for u, v, _ in ours if u != v}
    assert len(between) >= len(ring) * (len(ring) - 1)  # the ring is in it, and more


@pytest.mark.parametrize("threshold", [0.9, 0.6])
def test_windowed_chunked_matching_gives_the_same_edges_as_comparing_everything(
    tmp_path: Path, threshold: float
) -> None:
    """Texts compared only within the window, by prefix filtering in small chunks of pairs, make
    exactly the edges that comparing every distinct text (MinHash/LSH, then exact Jaccard) makes;
    the pairs it lists are the similar pairs that have messages within the window."""
    data = tmp_path / "actions.csv"
    write_actions(data, 6_000, users=400, ring=12, texts=0.6)
    table = messages(read_toolkit_csv(data))
    everything = match_texts(table.texts, threshold, 5)
    windowed = match_texts(
        table.texts, threshold, 5, times_ms=table.times_ms, window_ms=60_000, max_pairs=500
    )
    assert np.array_equal(everything.kept, windowed.kept)
    assert np.array_equal(everything.message_set, windowed.message_set)
    for weight in (1, 2):
        a = matched_edges(everything, table.accounts, table.times_ms, 60_000, weight)
        b = matched_edges(windowed, table.accounts, table.times_ms, 60_000, weight)
        assert len(a) > 0
        assert (a.source.tolist(), a.target.tolist(), a.weight.tolist()) == (
            b.source.tolist(), b.target.tolist(), b.weight.tolist()
        )  # fmt: skip
    all_pairs = set(zip(everything.left.tolist(), everything.right.tolist(), strict=True))
    near_pairs = set(zip(windowed.left.tolist(), windowed.right.tolist(), strict=True))
    assert near_pairs <= all_pairs
    assert len(near_pairs) > 0


def test_window_pairs_lists_each_pair_once_in_any_chunking() -> None:
    rng = np.random.default_rng(4)
    items = rng.integers(0, 20, 2_000)
    times = rng.integers(0, 3_600_000, 2_000)
    by_hand = {
        (i, j) for i in range(2_000) for j in range(i + 1, 2_000)
        if items[i] == items[j] and abs(int(times[i]) - int(times[j])) <= 60_000
    }  # fmt: skip
    for budget in (1, 97, 10**9):
        found = [
            tuple(sorted(pair)) for a, b in window_pairs(items, times, 60_000, budget)
            for pair in zip(a.tolist(), b.tolist(), strict=True)
        ]  # fmt: skip
        assert len(found) == len(set(found)) == len(by_hand)
        assert set(found) == by_hand


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


def _hashtag_crowd(store: Store, seed: int = 1) -> None:
    """Forty accounts and the six ring members post #rally in 40 bursts, 8 of the 46 drawn at
    random each time, within 30 s: a loose crowd around the ring, most pairs of it meeting once."""
    rng = np.random.default_rng(seed)
    t0 = 1_790_000_000_000_000
    people = [f"ring{m}" for m in range(6)] + [f"crowd{c}" for c in range(40)]
    records: list[object] = []
    for burst in range(40):
        at = t0 + burst * 7_200_000_000
        for who in rng.choice(people, size=8, replace=False).tolist():
            records.append(
                Post(id=f"bluesky:at://did:plc:{who}/app.bsky.feed.post/h{burst}", platform="bluesky",
                     author_id=f"bluesky:did:plc:{who}", created_at_us=at + int(rng.integers(0, 30_000_000)),
                     hashtags=["rally"])
            )  # fmt: skip
    store.write_records(records)  # type: ignore[arg-type]


def test_a_signal_added_does_not_lose_the_ring(sqlite_store: Store) -> None:
    """The ring co-reposts four posts; a loose crowd around it co-hashtags. Adding co-hashtag must
    keep the ring flagged, as one cluster (modularity merged it into the crowd below the cut-off:
    on this very input it flagged nobody once co-hashtag was added). Every cluster passes the
    cut-off, and each signal's own clusters are reported beside the merged view."""
    _ring_store(sqlite_store)
    _hashtag_crowd(sqlite_store)
    ring = {f"bluesky:did:plc:ring{m}" for m in range(6)}
    alone, _ = detect(sqlite_store, CoordinationOptions(since_us=0, until_us=2**62, signals=["co-repost"]))
    assert [set(c.accounts) for c in alone.clusters] == [ring]
    both, _ = detect(
        sqlite_store, CoordinationOptions(since_us=0, until_us=2**62, signals=["co-repost", "co-hashtag"])
    )
    (with_ring,) = [c for c in both.clusters if ring & set(c.accounts)]
    assert ring <= set(with_ring.accounts)
    assert all(c.score >= 2 for c in both.clusters)
    assert set(both.signal_clusters) == {"co-repost", "co-hashtag"}
    assert [set(c.accounts) for c in both.signal_clusters["co-repost"]] == [ring]
    assert alone.signal_clusters == {}  # one signal: the merged view is its own


def test_every_edge_opens_to_the_messages_behind_it(store: Store) -> None:
    """An edge's evidence is exactly the co-actions its weight counts: for two ring members, the
    four posts both reposted, each one's repost and the seconds apart (within the window); for the
    chance pair at a 5 s window, nothing; the weights in the network equal the evidence counts."""
    _ring_store(store)
    options = CoordinationOptions(since_us=0, until_us=2**62, signals=["co-repost"])
    _, network = detect(store, options)
    a, b = "bluesky:did:plc:ring0", "bluesky:did:plc:ring3"
    items = edge_evidence(store, options, a, b)
    assert [item.item for item in items] == [
        f"bluesky:at://did:plc:star/app.bsky.feed.post/p{k}" for k in range(4)
    ]
    assert all(item.a_message.startswith("bluesky:at://did:plc:ring0/") for item in items)
    assert all(item.b_message.startswith("bluesky:at://did:plc:ring3/") for item in items)
    assert all(0 <= item.seconds_apart <= 20 for item in items)
    assert all(abs(item.a_at_us - item.b_at_us) / 1e6 == item.seconds_apart for item in items)
    index = {account: i for i, account in enumerate(network.accounts)}
    weight = {(s, t): w for s, t, w in zip(network.source, network.target, network.weight, strict=True)}
    assert weight[(index[a], index[b])] == len(items)
    narrow = CoordinationOptions(since_us=0, until_us=2**62, signals=["co-repost"], window_s=5)
    assert edge_evidence(store, narrow, "bluesky:did:plc:chance_a", "bluesky:did:plc:chance_b") == []
    wide = edge_evidence(store, options, "bluesky:did:plc:chance_a", "bluesky:did:plc:chance_b")
    assert len(wide) == 2  # the two posts they shared within the minute, by chance
    every = cluster_evidence(store, options, network)
    assert len(every) == 6 * 5 // 2  # each pair of ring members once
    assert all(len(edge.items) == 4 for edge in every)
    with pytest.raises(UsageError, match="two different accounts"):
        edge_evidence(store, options, a, a)


def test_the_export_writes_the_evidence_beside_the_edges(sqlite_store: Store, tmp_path: Path) -> None:
    """`coordination --export` writes NAME.evidence.csv with one row per co-action behind each
    edge inside a flagged cluster, accounts by pseudonym; `--edge A --edge B --json` shows one."""
    import json

    from typer.testing import CliRunner

    from reachwatch.cli.main import app

    _ring_store(sqlite_store)
    db = sqlite_store.location
    out = tmp_path / "ring.csv"
    result = CliRunner().invoke(
        app, ["coordination", "--db", db, "--signal", "co-repost", "--export", str(out)]
    )
    assert result.exit_code == 0, result.output
    with (tmp_path / "ring.evidence.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 15 * 4
    assert all(row["source_account"].startswith("anon-") for row in rows)
    assert not any("ring" in row["source_message"] for row in rows)  # the DID in the URI is masked
    assert all(row["source_at"].endswith("Z") for row in rows)
    pair = (rows[0]["source_account"], rows[0]["target_account"])
    shown = CliRunner().invoke(
        app,
        ["coordination", "--db", db, "--signal", "co-repost", "--edge", pair[0], "--edge", pair[1], "--json"],
    )
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert found["accounts"] == list(pair)
    assert len(found["items"]) == 4
    one = CliRunner().invoke(app, ["coordination", "--db", db, "--edge", pair[0]])
    assert isinstance(one.exception, UsageError)


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


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTP://WWW.Example.com/Story/?utm_source=x&b=2&a=1#top", "https://example.com/Story?a=1&b=2"),
        ("https://example.com:443/story/", "https://example.com/story"),
        ("https://example.com:8080/s?fbclid=abc", "https://example.com:8080/s"),
        ("not a url", "not a url"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_links_are_compared_in_one_spelling(url: str, normal: str) -> None:
    assert normalise_url(url) == normal


def test_edges_summed_over_time_chunks_equal_one_pass() -> None:
    """Actions cut into time chunks, each read with the window's margins and only its own actions
    acting: the summed weights equal one pass over everything, for any cut, messages included."""
    rng = np.random.default_rng(11)
    n = 3_000
    accounts = rng.integers(0, 60, n)
    items = rng.integers(0, 40, n)
    times = np.sort(rng.integers(0, 2_000_000, n))
    messages = np.arange(n) // 2  # two actions a message, at one time
    times = times[messages * 2]
    window = 30_000
    whole = co_action_edges(accounts, items, times, window, 1, messages=messages)
    expected = {
        (s, t): w
        for s, t, w in zip(whole.source.tolist(), whole.target.tolist(), whole.weight.tolist(), strict=True)
    }
    for _ in range(5):
        cuts = [0, *sorted(rng.integers(0, 2_000_000, 6).tolist()), 2_000_001]
        summed: dict[tuple[int, int], int] = {}
        for start, stop in itertools.pairwise(cuts):
            loaded = (times >= start - window) & (times < stop + window)
            home = (times[loaded] >= start) & (times[loaded] < stop)
            part = co_action_edges(
                accounts[loaded],
                items[loaded],
                times[loaded],
                window,
                1,
                messages=messages[loaded],
                acting=home,
            )
            for s, t, w in zip(part.source.tolist(), part.target.tolist(), part.weight.tolist(), strict=True):
                summed[(s, t)] = summed.get((s, t), 0) + w
        assert summed == expected


@pytest.fixture(scope="module")
def scenario_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A short demo scenario: its ring reposts, links, tags and writes alike."""
    from reachwatch.scenario.generator import ScenarioConfig
    from reachwatch.service.ingest import IngestOptions
    from reachwatch.service.scenario import load_demo

    store = Store.open(str(tmp_path_factory.mktemp("scenario") / "scenario.db"))
    config = ScenarioConfig(population=2_000, baseline_days=3, observe_hours=24)
    load_demo(store, config, IngestOptions(enrich=False))
    yield store
    store.close()


def test_detection_in_small_time_chunks_equals_one_chunk(scenario_store: Store) -> None:
    """Every signal read in chunks of about 50 actions (many chunks, each with the window's
    margins) gives the same counts, edges, network and clusters as one chunk holding everything."""
    options = CoordinationOptions(since_us=0, until_us=2**62)
    one, one_network = detect(scenario_store, options)
    chunked, chunked_network = detect(scenario_store, msgspec.structs.replace(options, chunk_actions=50))
    assert min(one.actions.values()) > 0  # every signal has actions to compare
    assert sum(count > 0 for count in one.edges.values()) >= 3  # (the scenario shares links alone)
    assert one.clusters  # and the ring is there
    for signal in options.signals:
        assert (
            len(time_chunks(scenario_store, signal, msgspec.structs.replace(options, chunk_actions=50))) >= 5
        )
    assert chunked.actions == one.actions
    assert chunked.edges == one.edges
    assert chunked_network == one_network
    assert chunked.clusters == one.clusters
    assert chunked.signal_clusters == one.signal_clusters

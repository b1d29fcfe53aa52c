"""Co-action networks: hand-made cases, and edge-for-edge equality with the
coordination-network-toolkit (the peer) on the same generated input."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from reachwatch.analysis.coordination import co_action_edges
from reachwatch.connectors.files.toolkit_csv import ActionTable, links, read_toolkit_csv, reposts
from reachwatch.scenario.actions import write_actions


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

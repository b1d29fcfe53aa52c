"""`reachwatch coordination`: accounts acting in concert — the same reposts, links or hashtags
within seconds of each other, again and again — found, clustered and shown with their evidence."""

from __future__ import annotations

import time

import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.analysis.communities import dense_groups
from reachwatch.analysis.coordination import Edges, co_action_edges, sorted_unique
from reachwatch.analysis.links import normalise_url
from reachwatch.analysis.near_duplicates import claim_groups, match_texts, matched_edges
from reachwatch.errors import UsageError
from reachwatch.store import coordination as reads
from reachwatch.store.database import Store

SIGNALS = ("co-repost", "co-link", "co-hashtag", "near-duplicate")
NO_EDGES = Edges(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
MIN_CLUSTER = 3

Ints = npt.NDArray[np.int64]


class CoordinationOptions(msgspec.Struct, kw_only=True):
    since_us: int
    until_us: int
    window_s: float = 60.0
    min_weight: int = 2
    min_repeats: int = 3  # items on which at least three members acted, for a cluster to be shown
    similarity: float = 0.9  # Jaccard of word sets for two texts to be near-duplicates
    min_tokens: int = 5  # shorter texts are never near-duplicates ("thank you", "lol")
    signals: list[str] = msgspec.field(default_factory=lambda: list(SIGNALS))
    # About how many actions of one signal are held at once: the time range is read in chunks of
    # about this many (each with the window's margins), so memory follows this, not the range.
    chunk_actions: int = 1_000_000


class ItemEvidence(msgspec.Struct, kw_only=True):
    signal: str
    item: str
    members: int  # cluster members who acted on it
    spread_s: float  # from the first member's action to the last


class Cluster(msgspec.Struct, kw_only=True):
    label: int
    accounts: list[str]
    size: int
    internal_weight: int
    score: float  # mean co-actions per ordered pair of members
    signals: dict[str, int]  # internal weight per signal
    evidence: list[ItemEvidence]


class Network(msgspec.Struct, kw_only=True):
    """The merged account network: nodes, directed weighted edges, each node's cluster."""

    accounts: list[str]
    source: list[int]
    target: list[int]
    weight: list[int]
    signal_weights: dict[str, list[int]]
    cluster: list[int]
    flagged: list[bool]


class CoordinationReport(msgspec.Struct, kw_only=True):
    options: CoordinationOptions
    actions: dict[str, int]
    edges: dict[str, int]
    accounts: int
    clusters: list[Cluster]  # the merged view: every signal's edges summed per account pair
    # Each signal on its own (when more than one ran): the clusters it alone would flag.
    signal_clusters: dict[str, list[Cluster]] = msgspec.field(default_factory=dict)
    seconds: float = 0.0


class SignalData(msgspec.Struct, kw_only=True):
    """One signal's actions as codes and the names of its items (the evidence's input)."""

    actions: int
    accounts: Ints
    items: Ints
    times_ms: Ints
    item_names: list[str]


def codes(values: list[str], index: dict[str, int]) -> Ints:
    """Integer codes for values, extending `index` (value → code) with the ones it lacks."""
    return np.fromiter(
        (index.setdefault(value, len(index)) for value in values), dtype=np.int64, count=len(values)
    )


def detect(store: Store, options: CoordinationOptions) -> tuple[CoordinationReport, Network]:
    unknown = sorted(set(options.signals) - set(SIGNALS))
    if unknown:
        raise UsageError(f"Unknown signal(s) {', '.join(unknown)}: choose from {', '.join(SIGNALS)}.")
    if options.until_us <= options.since_us:
        raise UsageError("--until must be after --since.")
    if options.chunk_actions < 1:
        raise UsageError("--chunk-actions must be at least 1.")
    started = time.perf_counter()
    accounts: dict[str, int] = {}
    counted: dict[str, int] = {}
    edges: dict[str, Edges] = {}
    held: dict[str, reads.Actions] = {}  # a signal read in one chunk: its actions, kept for the evidence
    for signal in options.signals:
        counted[signal], edges[signal] = _signal_edges(store, signal, options, accounts, held)
    n = len(accounts)
    names = list(accounts)
    merged = group(list(edges.values()), n, options.min_weight)
    # Each signal on its own as well: what it alone would flag, beside the merged view.
    alone = (
        {signal: group([found], n, options.min_weight) for signal, found in edges.items()}
        if len(edges) > 1
        else {}
    )
    # The evidence comes from the accounts of dense groups only: never every action.
    dense = [d.members for g in (merged, *alone.values()) for d in _dense_groups(g, options.min_weight)]
    members = np.unique(np.concatenate([np.zeros(0, np.int64), *dense]))
    data = _member_actions(store, options, [names[i] for i in members.tolist()], accounts, held)
    clusters = _clusters(merged, edges, data, names, n, options)
    alone_clusters = {
        signal: _clusters(g, {signal: edges[signal]}, {signal: data[signal]}, names, n, options)
        for signal, g in alone.items()
    }
    flagged_labels = {cluster.label for cluster in clusters}
    g = merged
    nodes, labels, keys = g.nodes, g.labels, g.keys
    network = Network(
        accounts=[names[i] for i in nodes.tolist()],
        source=g.node_index[g.source].tolist(),
        target=g.node_index[g.target].tolist(),
        weight=g.weights.tolist(),
        signal_weights={
            signal: _weights_on(keys, found.source * n + found.target, found.weight).tolist()
            for signal, found in edges.items()
        },
        cluster=labels.tolist(),
        flagged=[int(label) in flagged_labels for label in labels.tolist()],
    )
    report = CoordinationReport(
        options=options,
        actions=counted,
        edges={signal: len(found) for signal, found in edges.items()},
        accounts=len(nodes),
        clusters=clusters,
        signal_clusters=alone_clusters,
        seconds=time.perf_counter() - started,
    )
    return report, network


BUCKET_US = 60_000_000  # chunks are cut at whole minutes
_COUNTED_AS = {"co-repost": "reposts", "co-link": "posts", "co-hashtag": "posts", "near-duplicate": "texts"}
_COMPACT = 4_000_000  # partial edges held before they are summed per pair


def time_chunks(store: Store, signal: str, options: CoordinationOptions) -> list[tuple[int, int]]:
    """[since, until) cut at whole minutes into spans of about `chunk_actions` actions each (a
    single minute holding more is one span of its own)."""
    counts = reads.action_counts(store, _COUNTED_AS[signal], options.since_us, options.until_us, BUCKET_US)
    spans: list[tuple[int, int]] = []
    start, held = options.since_us, 0
    for bucket, count in counts:
        if held and held + count > options.chunk_actions:
            cut = max(bucket * BUCKET_US, start)
            spans.append((start, cut))
            start, held = cut, 0
        held += count
    spans.append((start, options.until_us))
    return spans


def read_actions(
    store: Store, signal: str, since_us: int, until_us: int, accounts: list[str] | None = None
) -> reads.Actions:
    """A signal's actions in [since, until) (by `accounts` only, when given), items spelled as
    the detector compares them: hashtags case-folded, links normalised; texts for near-duplicates."""
    if signal == "near-duplicate":
        return reads.post_texts(store, since_us, until_us, accounts)
    if signal == "co-repost":
        return reads.reposts(store, since_us, until_us, accounts)
    column = "urls" if signal == "co-link" else "hashtags"
    actions = reads.post_entities(store, since_us, until_us, column, accounts)
    spell = str.casefold if signal == "co-hashtag" else normalise_url
    actions.items = [spell(item) for item in actions.items]
    return actions


def _signal_edges(
    store: Store,
    signal: str,
    options: CoordinationOptions,
    accounts: dict[str, int],
    held: dict[str, reads.Actions],
) -> tuple[int, Edges]:
    """A signal's actions counted and its edges, chunk by chunk: each chunk's own actions act, and
    the actions within the window before and after it are read as partners, so every action is
    counted once with all of its partners and the edges equal one pass over the whole range.
    When the whole range is one chunk, its actions are kept in `held` (no second read) while all
    that `held` keeps stays within `chunk_actions`."""
    window_ms = int(options.window_s * 1000)
    margin_us = (window_ms + 1) * 1000
    keys: list[Ints] = []
    weights: list[Ints] = []
    partial = 0
    counted = 0
    chunks = time_chunks(store, signal, options)
    for start, stop in chunks:
        low, high = max(options.since_us, start - margin_us), min(options.until_us, stop + margin_us)
        actions = read_actions(store, signal, low, high)
        in_hand = sum(len(other.accounts) for other in held.values())
        if len(chunks) == 1 and in_hand + len(actions.accounts) <= options.chunk_actions:
            held[signal] = actions  # within the budget across signals
        if not actions.accounts:
            continue
        times_us = np.asarray(actions.times_us, dtype=np.int64)
        home = (times_us >= start) & (times_us < stop)
        account_codes = codes(actions.accounts, accounts)
        times_ms = times_us // 1000
        if signal == "near-duplicate":
            matches = match_texts(
                actions.items, options.similarity, options.min_tokens, times_ms=times_ms, window_ms=window_ms
            )
            counted += int(home[matches.kept].sum())
            found = (
                matched_edges(matches, account_codes, times_ms, window_ms, 1, acting=home)
                if len(matches.kept)
                else NO_EDGES
            )
        else:
            counted += int(home.sum())
            found = co_action_edges(
                account_codes, codes(actions.items, {}), times_ms, window_ms, 1,
                messages=codes(actions.messages, {}), acting=home,
            )  # fmt: skip
        keys.append((found.source << 32) | found.target)
        weights.append(found.weight)
        partial += len(found)
        if partial > _COMPACT:
            keys, weights = _summed(keys, weights)
            partial = len(keys[0])
    summed_keys, summed_weights = _summed(keys, weights)
    keep = summed_weights[0] >= options.min_weight
    kept = summed_keys[0][keep]
    return counted, Edges(kept >> 32, kept & 0xFFFFFFFF, summed_weights[0][keep])


def _summed(keys: list[Ints], weights: list[Ints]) -> tuple[list[Ints], list[Ints]]:
    """Partial edge weights summed per pair key (one array each, keys ascending)."""
    every = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    weight = np.concatenate(weights) if weights else np.zeros(0, np.int64)
    if len(every) == 0:
        return [every], [weight]
    order = np.argsort(every, kind="stable")
    every, weight = every[order], weight[order]
    starts = np.flatnonzero(np.concatenate([[True], every[1:] != every[:-1]]))
    return [every[starts]], [np.add.reduceat(weight, starts)]


class _Dense(msgspec.Struct, frozen=True):
    label: int
    members: Ints
    internal: int  # co-actions inside the group
    score: float  # per ordered pair of members


def _dense_groups(g: Grouped, min_weight: int) -> list[_Dense]:
    """The groups that could pass as clusters: three members or more, at least `min_weight`
    co-actions per ordered pair inside (the evidence is tested after)."""
    if not len(g.nodes):
        return []
    edge_label_s, edge_label_t = g.labels[g.node_index[g.source]], g.labels[g.node_index[g.target]]
    inside = edge_label_s == edge_label_t
    internal = np.bincount(edge_label_s[inside], weights=g.weights[inside], minlength=int(g.labels.max()) + 1)
    sizes = np.bincount(g.labels)
    found = []
    for label in np.flatnonzero(sizes >= MIN_CLUSTER).tolist():
        size = int(sizes[label])
        score = float(internal[label]) / (size * (size - 1))
        if score >= min_weight:
            found.append(_Dense(label, g.nodes[g.labels == label], int(internal[label]), score))
    return found


def _member_actions(
    store: Store,
    options: CoordinationOptions,
    members: list[str],
    accounts: dict[str, int],
    held: dict[str, reads.Actions],
) -> dict[str, SignalData]:
    """Each signal's actions by `members` over the whole range, for the clusters' evidence (taken
    from `held` where detection kept them, else read again), in time order; the near-duplicate
    items are claims: groups of the members' texts joined by near-duplicate links, named by
    their first text."""
    window_ms = int(options.window_s * 1000)
    found: dict[str, SignalData] = {}
    wanted = set(members)
    for signal in options.signals:
        every = held.get(signal)
        parts = [every] if every is not None else [
            read_actions(store, signal, options.since_us, options.until_us, members[start : start + 5_000])
            for start in range(0, len(members), 5_000)  # the database's limit on bound values
        ]  # fmt: skip
        rows = sorted(
            (at, message, account, item)
            for part in parts
            for account, item, at, message in zip(
                part.accounts, part.items, part.times_us, part.messages, strict=True
            )
            if account in wanted
        )
        actions = reads.Actions(
            accounts=[row[2] for row in rows], items=[row[3] for row in rows],
            times_us=[row[0] for row in rows], messages=[row[1] for row in rows],
        )  # fmt: skip
        account_codes = codes(actions.accounts, accounts)
        times_ms = np.asarray(actions.times_us, dtype=np.int64) // 1000
        if signal != "near-duplicate":
            index: dict[str, int] = {}
            item_codes = codes(actions.items, index)
            found[signal] = SignalData(
                actions=len(account_codes), accounts=account_codes, items=item_codes, times_ms=times_ms,
                item_names=list(index),
            )  # fmt: skip
            continue
        matches = match_texts(
            actions.items, options.similarity, options.min_tokens, times_ms=times_ms, window_ms=window_ms
        )
        claims = claim_groups(matches)[matches.message_set] if len(matches.kept) else np.zeros(0, np.int64)
        names: dict[int, str] = {}
        for position, claim in zip(matches.kept.tolist(), claims.tolist(), strict=True):
            names.setdefault(claim, " ".join(actions.items[position].split())[:140])
        found[signal] = SignalData(
            actions=len(matches.kept), accounts=account_codes[matches.kept], items=claims,
            times_ms=times_ms[matches.kept], item_names=[names[c] for c in range(len(names))],
        )  # fmt: skip
    return found


class Grouped(msgspec.Struct, kw_only=True):
    """Edges summed per account pair (keys source × n + target, ascending), the accounts with an
    edge (`nodes`, and each account's index among them or -1), and each node's group."""

    keys: Ints
    weights: Ints
    source: Ints
    target: Ints
    nodes: Ints
    node_index: Ints
    labels: Ints


def group(every: list[Edges], n: int, min_weight: int) -> Grouped:
    """The edges of several signals summed per account pair and grouped: Leiden on the Constant
    Potts Model with its resolution at the cluster cut-off (`min_weight` co-actions per ordered
    pair of members, i.e. 2 × min_weight per unordered pair of the undirected graph), so the
    method groups by the very density the cut-off then tests: every group it returns passes it.
    A signal added only adds weight, so a group that passed is still dense enough, and it is not
    swallowed by a looser neighbour as modularity's graph-wide resolution did (adding co-hashtag
    once cut the accounts flagged in one troll category of real tweets from 117 to 70)."""
    every = every or [NO_EDGES]
    merged_keys = np.concatenate([e.source * n + e.target for e in every])
    merged_weights = np.concatenate([e.weight for e in every])
    order = np.argsort(merged_keys)
    keys = sorted_unique(merged_keys)[0]
    weights = (
        np.add.reduceat(merged_weights[order], np.searchsorted(merged_keys[order], keys))
        if len(keys)
        else keys
    )
    source, target = np.divmod(keys, max(n, 1))
    nodes = np.unique(np.concatenate([source, target])) if len(keys) else np.zeros(0, np.int64)
    node_index = np.full(max(n, 1), -1, dtype=np.int64)
    node_index[nodes] = np.arange(len(nodes))
    labels = nodes
    if len(nodes):
        density = 2.0 * min_weight
        weight = weights.astype(np.float64)
        labels = dense_groups(len(nodes), node_index[source], node_index[target], weight, density)
    return Grouped(
        keys=keys, weights=weights, source=source, target=target, nodes=nodes, node_index=node_index,
        labels=labels,
    )  # fmt: skip


def _weights_on(keys: Ints, signal_keys: Ints, signal_weights: Ints) -> Ints:
    """A signal's weight on each merged edge (0 where the signal has no such edge)."""
    found = np.zeros(len(keys), dtype=np.int64)
    if len(signal_keys):
        at = np.searchsorted(keys, signal_keys)
        found[at] = signal_weights
    return found


def _clusters(
    g: Grouped,
    edges: dict[str, Edges],
    data: dict[str, SignalData],
    names: list[str],
    n: int,
    options: CoordinationOptions,
) -> list[Cluster]:
    """Clusters of at least three accounts that acted together again and again: on at least
    `min_repeats` items, at least three members each, shown with those items. Fans of a popular
    account who happen to repost two of its posts in the same minute are not such a cluster."""
    found = []
    for dense in _dense_groups(g, options.min_weight):
        member_set = np.zeros(max(n, 1), dtype=bool)
        member_set[dense.members] = True
        signals: dict[str, int] = {}
        evidence: list[ItemEvidence] = []
        for signal, signal_edges in edges.items():
            edge_inside = member_set[signal_edges.source] & member_set[signal_edges.target]
            if edge_inside.any():
                signals[signal] = int(signal_edges.weight[edge_inside].sum())
            evidence += _evidence(signal, data[signal], member_set, int(options.window_s * 1000))
        if len(evidence) < options.min_repeats:
            continue
        evidence.sort(key=lambda item: (-item.members, item.spread_s))
        found.append(
            Cluster(
                label=dense.label, accounts=sorted(names[i] for i in dense.members.tolist()),
                size=len(dense.members), internal_weight=dense.internal, score=dense.score,
                signals=signals, evidence=evidence[:10],
            )
        )  # fmt: skip
    found.sort(key=lambda cluster: -cluster.score * cluster.size)
    return found


def _evidence(
    signal: str, data: SignalData, members: npt.NDArray[np.bool_], window_ms: int
) -> list[ItemEvidence]:
    """Bursts in which at least three members acted on one item, each action within the window
    of the one before, with how far apart the first and last were. An item acted on in three
    separate bursts is three pieces of evidence."""
    mine = members[data.accounts]
    if not mine.any():
        return []
    item, moment, account = data.items[mine], data.times_ms[mine], data.accounts[mine]
    order = np.lexsort((moment, item))
    item, moment, account = item[order], moment[order], account[order]
    new_burst = np.concatenate([[True], (item[1:] != item[:-1]) | (np.diff(moment) > window_ms)])
    burst = np.cumsum(new_burst) - 1
    starts = np.flatnonzero(new_burst)
    earliest = moment[starts]
    latest = np.maximum.reduceat(moment, starts)
    distinct = sorted_unique(burst * (int(account.max()) + 1) + account)[0] // (int(account.max()) + 1)
    member_counts = np.bincount(distinct, minlength=len(starts))
    return [
        ItemEvidence(
            signal=signal,
            item=data.item_names[int(item[starts[b]])],
            members=int(member_counts[b]),
            spread_s=(int(latest[b]) - int(earliest[b])) / 1000,
        )
        for b in np.flatnonzero(member_counts >= MIN_CLUSTER).tolist()
    ]


class EdgeItem(msgspec.Struct, kw_only=True):
    """One piece of evidence behind an edge: both accounts acted on the same item within the
    window — which item, each one's message, and how far apart."""

    signal: str
    item: str
    a_message: str
    b_message: str
    a_at_us: int
    b_at_us: int
    seconds_apart: float


def edge_evidence(store: Store, options: CoordinationOptions, a: str, b: str) -> list[EdgeItem]:
    """Every co-action of accounts `a` and `b` that the edge between them counts, signal by signal,
    with the same window and spelling of items as `detect`: the messages behind the weight."""
    if a == b:
        raise UsageError("An edge joins two different accounts: give two account ids.")
    return edges_evidence(store, options, [(a, b)]).get((a, b), [])


def edges_evidence(
    store: Store, options: CoordinationOptions, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], list[EdgeItem]]:
    """`edge_evidence` for many edges at once (one read per signal): each pair (a, b) as given."""
    wanted = {(a, b) for a, b in pairs} | {(b, a) for a, b in pairs}
    accounts = sorted({account for pair in pairs for account in pair})
    window_ms = int(options.window_s * 1000)
    found: dict[tuple[str, str], list[EdgeItem]] = {pair: [] for pair in pairs}
    asked = set(found)

    def add(signal: str, item: str, x: tuple[str, int, str], y: tuple[str, int, str]) -> None:
        (ax, at_x, mx), (ay, at_y, my) = x, y
        if (ax, ay) not in wanted or abs(at_x // 1000 - at_y // 1000) > window_ms:
            return  # the detector's window is exact in milliseconds: compare as it does
        if (ax, ay) not in asked:
            (ax, at_x, mx), (ay, at_y, my) = y, x
        found[(ax, ay)].append(
            EdgeItem(
                signal=signal, item=item, a_message=mx, b_message=my, a_at_us=at_x, b_at_us=at_y,
                seconds_apart=abs(at_x - at_y) / 1e6,
            )
        )  # fmt: skip

    for signal in options.signals:
        actions = read_actions(store, signal, options.since_us, options.until_us, accounts)
        if signal == "near-duplicate":
            at_ms = np.asarray(actions.times_us, dtype=np.int64) // 1000
            matches = match_texts(
                actions.items, options.similarity, options.min_tokens, times_ms=at_ms, window_ms=window_ms
            )
            by_item: dict[str, list[tuple[str, int, str]]] = {}
            if len(matches.kept):
                claims = claim_groups(matches)[matches.message_set].tolist()
                first_text: dict[int, str] = {}
                for position, claim in zip(matches.kept.tolist(), claims, strict=True):
                    name = first_text.setdefault(claim, " ".join(actions.items[position].split())[:140])
                    by_item.setdefault(name, []).append(
                        (actions.accounts[position], actions.times_us[position], actions.messages[position])
                    )
        else:
            by_item = {}
            for account, item, at, message in zip(
                actions.accounts, actions.items, actions.times_us, actions.messages, strict=True
            ):
                by_item.setdefault(item, []).append((account, at, message))
        for item, acts in by_item.items():
            for i, x in enumerate(acts):
                for y in acts[i + 1 :]:
                    if x[0] != y[0]:
                        add(signal, item, x, y)
    return {
        pair: sorted(items, key=lambda e: (min(e.a_at_us, e.b_at_us), e.signal, e.item))
        for pair, items in found.items()
    }


class EdgeEvidence(msgspec.Struct, kw_only=True):
    """The evidence behind one edge: its two accounts and their co-actions."""

    accounts: list[str]
    items: list[EdgeItem]


def cluster_evidence(store: Store, options: CoordinationOptions, network: Network) -> list[EdgeEvidence]:
    """The evidence behind every edge between members of the same flagged cluster: the table an
    export writes beside its edge list."""
    pairs = sorted(
        {
            tuple(sorted((network.accounts[s], network.accounts[t])))
            for s, t in zip(network.source, network.target, strict=True)
            if network.flagged[s] and network.cluster[s] == network.cluster[t]
        }
    )
    found = edges_evidence(store, options, [(a, b) for a, b in pairs])
    return [EdgeEvidence(accounts=[a, b], items=found[(a, b)]) for a, b in pairs]

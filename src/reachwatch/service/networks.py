"""Who engages with whom: the interaction network (an account → the author it reposted, quoted or
replied to) and the co-engagement network (accounts linked by engaging with the same posts),
their communities (Leiden) with what each is about, and the accounts that bridge communities."""

from __future__ import annotations

import time
from collections import Counter
from enum import StrEnum
from urllib.parse import urlsplit

import igraph as ig
import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.analysis.communities import leiden_on, positions, undirected
from reachwatch.analysis.coordination import co_action_edges, sorted_unique
from reachwatch.errors import UsageError
from reachwatch.service.coordination import Network, codes
from reachwatch.store import networks as reads
from reachwatch.store.database import Store

Ints = npt.NDArray[np.int64]
INTERACTIONS = ("repost", "quote", "reply")
BETWEENNESS_BUDGET = 5_000_000  # source × edge visits; beyond it, sources are sampled (~0.2 s)
MIN_SOURCES = 32
TOP = 5


class NetworkKind(StrEnum):
    INTERACTION = "interaction"
    CO_ENGAGEMENT = "co-engagement"


class NetworkOptions(msgspec.Struct, kw_only=True):
    kind: NetworkKind = NetworkKind.INTERACTION
    since_us: int = 0
    until_us: int = 2**62
    post_id: str | None = None
    author_id: str | None = None
    min_weight: int = 1  # shared posts (co-engagement) or interactions for an edge
    # Co-engagement: a post with more engagers would tie thousands to each other; on it, each engager
    # is tied only to the `time_neighbours` who engaged with it next (the pairs stay linear).
    max_post_engagers: int = 500
    time_neighbours: int = 5
    max_ties: int = 20  # co-engagement: each account's strongest ties kept (0: all)


class TopAccount(msgspec.Struct, kw_only=True):
    account: str
    handle: str | None
    followers: int | None
    strength: int  # weight of its edges inside the community


class Community(msgspec.Struct, kw_only=True):
    label: int
    size: int
    top_accounts: list[TopAccount]
    top_hashtags: list[tuple[str, int]]
    top_domains: list[tuple[str, int]]
    engagement_share: float  # of the engagements in scope, the share made by its members


class Bridge(msgspec.Struct, kw_only=True):
    account: str
    handle: str | None
    score: float  # betweenness × participation: on many paths, with ties spread across communities
    betweenness: float  # normalised to [0, 1]
    participation: float  # 1 − Σ (share of its tie weight in each community)²: 0 inside one
    communities: int  # distinct communities among its neighbours (its own included)


class NetworkReport(msgspec.Struct, kw_only=True):
    options: NetworkOptions
    engagements: int
    hub_posts: int  # co-engagement: posts with more than max_post_engagers (ties to time neighbours)
    accounts: int
    edges: int
    communities: list[Community]
    bridges: list[Bridge]
    betweenness: str  # "exact" or "estimated from N sampled sources"
    seconds: float


class Drawing(msgspec.Struct, kw_only=True):
    """What a page draws of a network: the heaviest ties and the accounts at their ends, with seeded
    positions (a radial tree, no randomness); the rest is counted, not drawn."""

    nodes: list[int]  # indices into Network.accounts
    positions: list[list[float]]  # x, y per drawn node, in [0, 1000]
    edges: list[int]  # indices into the network's edges, heaviest first
    hidden_accounts: int
    hidden_edges: int


def drawing(network: Network, max_edges: int, *, by_community: bool = False) -> Drawing:
    """The `max_edges` heaviest ties (ties broken by order, so the same network draws the same),
    laid out as a radial tree (interactions, cascades) or as one disc per community."""
    weight = np.asarray(network.weight, dtype=np.int64)
    order = np.argsort(-weight, kind="stable")[:max_edges]
    source = np.asarray(network.source, dtype=np.int64)[order]
    target = np.asarray(network.target, dtype=np.int64)[order]
    nodes = sorted_unique(np.concatenate([source, target]))[0]
    s, t = np.searchsorted(nodes, source), np.searchsorted(nodes, target)  # nodes is sorted
    return Drawing(
        nodes=nodes.tolist(),
        positions=positions(
            len(nodes),
            s,
            t,
            weight[order].astype(np.float64),
            clusters=np.asarray(network.cluster, dtype=np.int64)[nodes] if by_community else None,
        ),
        edges=order.tolist(),
        hidden_accounts=len(network.accounts) - len(nodes),
        hidden_edges=len(weight) - len(order),
    )


def build(store: Store, options: NetworkOptions) -> tuple[NetworkReport, Network]:
    if options.until_us <= options.since_us:
        raise UsageError("--until must be after --since.")
    if options.min_weight < 1:
        raise UsageError("--min-weight must be at least 1.")
    if options.time_neighbours < 1 or options.max_post_engagers < 2:
        raise UsageError("--time-neighbours must be at least 1 and --max-post-engagers at least 2.")
    started = time.perf_counter()
    rows = reads.interactions(store, options.since_us, options.until_us, options.post_id, options.author_id)
    accounts: dict[str, int] = {}
    actors = codes(rows.actors, accounts)
    if options.kind == NetworkKind.INTERACTION:
        source, target, weight, per_kind = _interaction_edges(rows, actors, accounts, options.min_weight)
        hubs = 0
    else:
        source, target, weight, per_kind, hubs = _co_engagement_edges(rows, actors, list(accounts), options)
    names = list(accounts)
    nodes = sorted_unique(np.concatenate([source, target]))[0]
    node_index = np.full(max(len(names), 1), -1, dtype=np.int64)
    node_index[nodes] = np.arange(len(nodes))
    s, t = node_index[source], node_index[target]
    graph = undirected(len(nodes), s, t, weight.astype(np.float64))
    labels = leiden_on(graph) if len(nodes) else nodes
    members = [names[i] for i in nodes.tolist()]
    bridges, method = _bridges(graph, labels, members)
    profiles = reads.profiles(store, members)
    communities = _communities(store, options, graph, labels, members, profiles, rows.actors)
    bridge_handles = [
        msgspec.structs.replace(bridge, handle=profiles.get(bridge.account, (None, None))[0])
        for bridge in bridges
    ]
    bridged = {bridge.account for bridge in bridges}
    network = Network(
        accounts=members,
        source=s.tolist(),
        target=t.tolist(),
        weight=weight.tolist(),
        signal_weights={kind: values.tolist() for kind, values in per_kind.items()},
        cluster=labels.tolist(),
        flagged=[account in bridged for account in members],
    )
    report = NetworkReport(
        options=options,
        engagements=len(rows.actors),
        hub_posts=hubs,
        accounts=len(nodes),
        edges=len(weight),
        communities=communities,
        bridges=bridge_handles,
        betweenness=method,
        seconds=time.perf_counter() - started,
    )
    return report, network


def _interaction_edges(
    rows: reads.Interactions, actors: Ints, accounts: dict[str, int], min_weight: int
) -> tuple[Ints, Ints, Ints, dict[str, Ints]]:
    """actor → author for each repost, quote and reply (likes are not interactions between
    accounts in public; a reply in one's own thread is no edge)."""
    authors = codes(rows.authors, accounts)
    kinds = np.asarray([INTERACTIONS.index(k) if k in INTERACTIONS else -1 for k in rows.kinds], np.int64)
    keep = (kinds >= 0) & (actors != authors)
    n = max(len(accounts), 1)
    keys = (actors[keep] * n + authors[keep]) * len(INTERACTIONS) + kinds[keep]
    unique_keys, counts = sorted_unique(keys, counts=True)
    pair, kind = np.divmod(unique_keys, len(INTERACTIONS))
    edge_keys = sorted_unique(pair)[0]
    at = np.searchsorted(edge_keys, pair)
    per_kind = {name: np.zeros(len(edge_keys), np.int64) for name in INTERACTIONS}
    for code, name in enumerate(INTERACTIONS):
        np.add.at(per_kind[name], at[kind == code], counts[kind == code])
    weight = sum(per_kind.values(), np.zeros(len(edge_keys), np.int64))
    strong = weight >= min_weight
    source, target = np.divmod(edge_keys[strong], n)
    return source, target, weight[strong], {name: values[strong] for name, values in per_kind.items()}


def _co_engagement_edges(
    rows: reads.Interactions, actors: Ints, names: list[str], options: NetworkOptions
) -> tuple[Ints, Ints, Ints, dict[str, Ints], int]:
    """u — v weighted by the number of posts both engaged with (any kind, likes included): the
    co-action computation with one window per post. On a post engaged by thousands, everyone
    shares it with everyone, which says nothing about who belongs together and grows with the
    square of its engagers; there (a hub post) each engager is tied only to the next
    `time_neighbours` who engaged with it, so that accounts that keep arriving together across
    posts build up weight and the network stays linear in size. In an account's scope the
    account itself is left out: its network is the one among its amplifiers, not a star."""
    posts = codes(rows.posts, {})
    empty = np.zeros(0, np.int64)
    if not len(posts):
        return empty, empty, empty, {"shared_posts": empty}, 0
    times = np.asarray(rows.times_us, dtype=np.int64)
    keep = np.ones(len(posts), dtype=bool)
    if options.author_id is not None:
        keep = np.asarray([actor != options.author_id for actor in rows.actors], dtype=bool)
    # Same-time arrivals are ordered by account id, whatever order the store returned them in.
    by_name = np.empty(len(names), dtype=np.int64)
    by_name[np.argsort(np.asarray(names))] = np.arange(len(names))
    span = int(posts.max()) + 1
    keys = actors[keep] * span + posts[keep]
    order = np.lexsort((times[keep], keys))
    first = np.ones(len(order), dtype=bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    engaged, first_time = keys[order][first], times[keep][order][first]  # (actor, post) once, earliest
    actor, post = np.divmod(engaged, span)
    engagers = np.bincount(post, minlength=span)
    hub = engagers[post] > options.max_post_engagers
    hubs = int(np.count_nonzero(engagers > options.max_post_engagers))
    if not len(actor):
        return empty, empty, empty, {"shared_posts": empty}, hubs
    # On a hub post an engager's "time" is its place in the order of arrival, and the window is
    # time_neighbours places; elsewhere every engager is at 0, so all of them are within it.
    by_time = np.lexsort((by_name[actor], first_time, post))
    place = np.empty(len(post), dtype=np.int64)
    place[by_time] = np.arange(len(post)) - np.searchsorted(post[by_time], post[by_time])
    slot = np.where(hub, place, 0)
    edges = co_action_edges(actor, post, slot, options.time_neighbours, options.min_weight)
    source, target, weight = edges.source, edges.target, edges.weight
    forward = source < target  # symmetric: each pair once
    if options.max_ties:
        # A k-nearest-neighbour backbone: a tie stays when it is among either end's strongest.
        order = np.lexsort((target, -weight, source))
        rank = np.arange(len(order)) - np.searchsorted(source[order], source[order])
        chosen = order[rank < options.max_ties]
        n = int(max(source.max(initial=0), target.max(initial=0))) + 1
        pair = np.minimum(source, target) * n + np.maximum(source, target)
        strong = sorted_unique(pair[chosen])[0]
        found = np.minimum(np.searchsorted(strong, pair), len(strong) - 1)
        forward &= strong[found] == pair
    source, target, weight = source[forward], target[forward], weight[forward]
    return source, target, weight, {"shared_posts": weight}, hubs


def _bridges(graph: ig.Graph, labels: Ints, members: list[str]) -> tuple[list[Bridge], str]:
    """Accounts on many shortest paths whose ties are spread over several communities: the hub of
    one camp is on many paths too, but its ties stay at home (participation near 0)."""
    if graph.vcount() < 3:
        return [], "exact"
    n = graph.vcount()
    wanted = max(BETWEENNESS_BUDGET // max(graph.ecount() + n, 1), MIN_SOURCES)
    exact = n <= wanted
    distances = [1.0 / w for w in graph.es["weight"]]  # a heavier tie is a shorter path
    # Above the budget, Brandes–Pich: shortest paths from a seeded sample of sources, scaled up.
    sources = None if exact else np.random.default_rng(7).choice(n, wanted, replace=False).tolist()
    scores = np.asarray(
        graph.betweenness(directed=False, weights=distances, sources=sources), dtype=np.float64
    )
    if sources is not None:
        scores *= n / len(sources)
    scores /= max((n - 1) * (n - 2) / 2, 1)
    ends = np.asarray(graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    weights = np.asarray(graph.es["weight"], dtype=np.float64)
    # Tie weight of each node into each community, as (node, community) keys.
    n_labels = int(labels.max()) + 1
    keys = np.concatenate(
        [ends[:, 0] * n_labels + labels[ends[:, 1]], ends[:, 1] * n_labels + labels[ends[:, 0]]]
    )
    tie_keys = sorted_unique(keys)[0]
    order = np.argsort(keys, kind="stable")
    sums = np.add.reduceat(np.concatenate([weights, weights])[order], np.searchsorted(keys[order], tie_keys))
    node_of = tie_keys // n_labels
    total = np.bincount(node_of, weights=sums, minlength=n)
    participation = 1 - np.bincount(node_of, weights=(sums / total[node_of]) ** 2, minlength=n)
    spans = np.bincount(node_of, minlength=n)
    score = scores * participation
    ranked = [i for i in np.argsort(-score, kind="stable").tolist() if score[i] > 0][:10]
    method = "exact" if exact else f"estimated from {wanted:,} sampled sources"
    return [
        Bridge(
            account=members[i],
            handle=None,
            score=float(score[i]),
            betweenness=float(scores[i]),
            participation=float(participation[i]),
            communities=int(spans[i]),
        )
        for i in ranked
    ], method


def _communities(
    store: Store,
    options: NetworkOptions,
    graph: ig.Graph,
    labels: Ints,
    members: list[str],
    profiles: dict[str, tuple[str | None, int | None]],
    actors: list[str],
) -> list[Community]:
    """The ten largest communities: who leads them, what they tag and link, how much they engage."""
    if not len(labels):
        return []
    label_of = dict(zip(members, labels.tolist(), strict=True))
    ends = np.asarray(graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    weights = np.asarray(graph.es["weight"] if graph.ecount() else [], dtype=np.int64)
    inside_edge = labels[ends[:, 0]] == labels[ends[:, 1]]
    strength = np.zeros(len(labels), dtype=np.int64)
    np.add.at(strength, ends[inside_edge, 0], weights[inside_edge])
    np.add.at(strength, ends[inside_edge, 1], weights[inside_edge])
    engagement = Counter(label_of.get(actor, -1) for actor in actors)
    tags: dict[int, Counter[str]] = {}
    domains: dict[int, Counter[str]] = {}
    for author, hashtags, urls in reads.authored_entities(
        store, options.since_us, options.until_us, options.post_id, options.author_id
    ):
        label = label_of.get(author)
        if label is None:
            continue
        tags.setdefault(label, Counter()).update(tag.casefold() for tag in hashtags)
        domains.setdefault(label, Counter()).update(_domain(url) for url in urls)
    sizes = Counter(labels.tolist())
    found = []
    for label, size in sizes.most_common(10):
        inside = np.flatnonzero(labels == label)
        leaders = inside[np.argsort(-strength[inside], kind="stable")[:TOP]]
        found.append(
            Community(
                label=label,
                size=size,
                top_accounts=[
                    TopAccount(
                        account=members[i],
                        handle=profiles.get(members[i], (None, None))[0],
                        followers=profiles.get(members[i], (None, None))[1],
                        strength=int(strength[i]),
                    )
                    for i in leaders.tolist()
                ],
                top_hashtags=tags.get(label, Counter()).most_common(TOP),
                top_domains=domains.get(label, Counter()).most_common(TOP),
                engagement_share=engagement[label] / max(len(actors), 1),
            )
        )
    return found


def _domain(url: str) -> str:
    try:
        host = urlsplit(url).hostname or url
    except ValueError:
        return url
    return host.removeprefix("www.")

"""Near-duplicate text: accounts posting the same words, reworded a little, within seconds.

Edge semantics are the coordination-network-toolkit's co-similar-tweet: texts are compared as
sets of tokens (lower-cased words, @mentions removed) by Jaccard similarity; for accounts u and
v, weight(u → v) is the number of u's messages that have a message by v within ±window whose
similarity is at least the threshold (a message is similar to itself, so self-loops exist and
are left out unless asked for).

The toolkit compares every pair of messages in each window. Here identical token sets are
merged first, MinHash/LSH (datasketch) proposes similar pairs among the distinct ones, each
proposal is checked with the exact Jaccard, and every similar pair becomes one more shared
"item" for the co-action machinery — so the time windows and weights are computed exactly as
for co-reposts, vectorised.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence

import igraph as ig
import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.analysis.coordination import (
    DEFAULT_MAX_PAIRS,
    Edges,
    co_action_edges,
    sorted_unique,
    window_pairs,
)

Ints = npt.NDArray[np.int64]
NUM_PERM = 256
MAX_MISS = 1e-6  # chance that LSH fails to propose a pair whose similarity is exactly the threshold
MENTION = re.compile(r"@\S*")
WORD = re.compile(r"\w+(?:'\w+)*")


def tokens(text: str) -> frozenset[str]:
    """The words of a text as a set, case-folded, with @mentions removed."""
    return frozenset(WORD.findall(MENTION.sub(" ", text.casefold())))


def bands(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """LSH bands and rows per band: the most rows (fewest chance proposals) that still miss a pair
    at the threshold with probability at most MAX_MISS; proposals are checked exactly after.
    (datasketch's own choice balances misses against proposals, and missed about 2% here.)"""
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        count = num_perm // rows
        if (1 - threshold**rows) ** count <= MAX_MISS:
            best = (count, rows)
    return best


def similar_sets(sets: Sequence[frozenset[str]], threshold: float) -> tuple[Ints, Ints]:
    """Pairs (i < j) of distinct token sets with Jaccard similarity ≥ threshold."""
    if len(sets) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # datasketch pulls in scipy.integrate (0.6 s): loaded when sets are compared, not at start-up.
    from datasketch import MinHash, MinHashLSH

    signatures = MinHash.bulk(([word.encode() for word in words] for words in sets), num_perm=NUM_PERM)
    lsh = MinHashLSH(num_perm=NUM_PERM, params=bands(threshold))
    with lsh.insertion_session() as session:
        for key, signature in enumerate(signatures):
            session.insert(key, signature, check_duplication=False)
    left: list[int] = []
    right: list[int] = []
    for i, signature in enumerate(signatures):
        words = sets[i]
        for j in lsh.query(signature):
            if j > i and len(words & sets[j]) >= threshold * len(words | sets[j]):
                left.append(i)
                right.append(j)
    return np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)


class TextMatches(msgspec.Struct, kw_only=True):
    """Which messages were compared (`kept`: positions in the input), the distinct token set of
    each, and the pairs of distinct sets that are near-duplicates."""

    kept: Ints
    message_set: Ints
    n_sets: int
    left: Ints
    right: Ints


def match_texts(
    texts: Sequence[str],
    threshold: float = 0.9,
    min_tokens: int = 0,
    *,
    times_ms: Ints | None = None,
    window_ms: int | None = None,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> TextMatches:
    """Messages with fewer than `min_tokens` distinct words are never similar to anything (the
    toolkit's minimum document size), which keeps "lol" and "thank you" out of the network.

    Given each message's time and the window, only texts posted within ±window of each other are
    compared — all that co-similarity edges can use — and exactly: prefix filtering (two sets with
    Jaccard ≥ t share one of the first |x| − ⌈t·|x|⌉ + 1 tokens of each, in one global order,
    rarest first) proposes the pairs through the co-action windows, in chunks of `max_pairs`, and
    each proposal is checked with the exact Jaccard. Memory is bounded by the chunk and the texts
    themselves; pairs of texts never posted within the window of each other are not listed."""
    vocabulary: dict[str, int] = {}
    set_index: dict[tuple[int, ...], int] = {}
    # The distinct sets as one flat array of token ids and their lengths (compact: no Python
    # object per set once the index is dropped).
    flat, lengths, kept, set_of_message = array("q"), array("q"), array("q"), array("q")
    for position, text in enumerate(texts):
        words = set(WORD.findall(MENTION.sub(" ", text.casefold())))
        if words and len(words) >= min_tokens:
            key = tuple(sorted(vocabulary.setdefault(word, len(vocabulary)) for word in words))
            found = set_index.setdefault(key, len(set_index))
            if found == len(lengths):
                flat.extend(key)
                lengths.append(len(key))
            kept.append(position)
            set_of_message.append(found)
    del set_index
    csr = _Sets(np.frombuffer(flat, dtype=np.int64), np.frombuffer(lengths, dtype=np.int64))
    message_set = np.frombuffer(set_of_message, dtype=np.int64)
    kept_at = np.frombuffer(kept, dtype=np.int64)
    if times_ms is None or window_ms is None:
        words_of = np.asarray(list(vocabulary), dtype=object)
        del vocabulary
        sets = [frozenset(words_of[csr.tokens_of(i)].tolist()) for i in range(len(csr))]
        left, right = similar_sets(sets, threshold)
    else:
        del vocabulary
        times = np.asarray(times_ms, dtype=np.int64)[kept_at]
        left, right = _similar_in_window(csr, message_set, times, threshold, window_ms, max_pairs)
    return TextMatches(
        kept=kept_at.copy(), message_set=message_set.copy(), n_sets=len(csr), left=left, right=right
    )


class _Sets:
    """Distinct token sets, flat: set i is tokens[starts[i]:starts[i] + lengths[i]], sorted."""

    def __init__(self, tokens: Ints, lengths: Ints) -> None:
        self.tokens, self.lengths = tokens, lengths
        self.starts = np.cumsum(lengths) - lengths

    def __len__(self) -> int:
        return len(self.lengths)

    def tokens_of(self, i: int) -> Ints:
        start = int(self.starts[i])
        return self.tokens[start : start + int(self.lengths[i])]


def _similar_in_window(
    sets: _Sets, message_set: Ints, times_ms: Ints, threshold: float, window_ms: int, max_pairs: int
) -> tuple[Ints, Ints]:
    """Pairs (i < j) of distinct sets with Jaccard ≥ threshold that have messages within ±window."""
    n = len(sets)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lengths = sets.lengths
    owner = np.repeat(np.arange(n, dtype=np.int32), lengths)
    # One global order, rarest token first; each set's prefix is its first few in that order.
    top = int(sets.tokens.max()) + 1
    rank = np.argsort(np.argsort(np.bincount(sets.tokens, minlength=top) * top + np.arange(top))).astype(
        np.int32
    )
    order = np.lexsort((rank[sets.tokens], owner))
    del rank
    position = np.arange(len(order), dtype=np.int64) - np.repeat(sets.starts, lengths)
    prefix = lengths - np.ceil(threshold * lengths - 1e-9).astype(np.int64) + 1
    in_prefix = position < prefix[owner]
    del position
    prefix_tokens, prefix_owner = sets.tokens[order][in_prefix], owner[in_prefix]
    del order, owner, in_prefix
    # Actions: each message once per prefix token of its set, the token as the item.
    starts = np.concatenate([[0], np.cumsum(np.bincount(prefix_owner, minlength=n))])
    per_message = starts[message_set + 1] - starts[message_set]
    message_of_action = np.repeat(np.arange(len(message_set)), per_message)
    within = np.arange(int(per_message.sum())) - np.repeat(np.cumsum(per_message) - per_message, per_message)
    action_token = prefix_tokens[np.repeat(starts[message_set], per_message) + within]
    del within, prefix_tokens, prefix_owner
    found: list[Ints] = []
    for a, b in window_pairs(action_token, times_ms[message_of_action], window_ms, max_pairs):
        x, y = message_set[message_of_action[a]], message_set[message_of_action[b]]
        x, y = np.minimum(x, y), np.maximum(x, y)
        small, large = np.minimum(lengths[x], lengths[y]), np.maximum(lengths[x], lengths[y])
        keep = (x != y) & (small >= threshold * large - 1e-9)
        found.append(sorted_unique(x[keep] * n + y[keep])[0])
    candidates = sorted_unique(np.concatenate(found))[0] if found else np.zeros(0, np.int64)
    left: list[int] = []
    right: list[int] = []
    for i, j in zip(*(part.tolist() for part in np.divmod(candidates, n)), strict=True):
        first, second = set(sets.tokens_of(i).tolist()), sets.tokens_of(j).tolist()
        shared = len(first.intersection(second))
        if shared >= threshold * (len(first) + len(second) - shared):
            left.append(i)
            right.append(j)
    return np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)


def claim_groups(matches: TextMatches) -> Ints:
    """A group per distinct set: the connected near-duplicates, i.e. one claim however reworded."""
    graph = ig.Graph(n=matches.n_sets, edges=np.column_stack([matches.left, matches.right]).tolist())
    return np.asarray(graph.connected_components().membership, dtype=np.int64)


def co_similar_edges(
    accounts: Ints,
    texts: Sequence[str],
    times_ms: Ints,
    window_ms: int,
    min_weight: int = 2,
    *,
    threshold: float = 0.9,
    min_tokens: int = 0,
    self_loops: bool = False,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> Edges:
    """Edges among accounts whose messages are near-duplicates posted within ±window_ms.
    One entry per message: the account code, its text, its time in integer milliseconds."""
    matches = match_texts(
        texts, threshold, min_tokens, times_ms=times_ms, window_ms=window_ms, max_pairs=max_pairs
    )
    return matched_edges(matches, accounts, times_ms, window_ms, min_weight, self_loops, max_pairs)


def matched_edges(
    matches: TextMatches,
    accounts: Ints,
    times_ms: Ints,
    window_ms: int,
    min_weight: int = 2,
    self_loops: bool = False,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    acting: npt.NDArray[np.bool_] | None = None,
) -> Edges:
    """Co-similarity edges of matched texts (`co_action_edges` semantics); `acting`, one per
    input text, as there."""
    if not len(matches.kept):
        return Edges(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    message, message_set, left = matches.kept, matches.message_set, matches.left
    # Items: each distinct set (identical texts), then one per similar pair of sets, shared by
    # every message of either set, so a message meets its near-duplicates in the same window.
    n_sets = matches.n_sets
    order = np.argsort(message_set, kind="stable")
    bounds = np.searchsorted(message_set[order], np.arange(n_sets + 1))
    per_set = np.diff(bounds)
    pair_sets = np.concatenate([left, matches.right])
    pair_items = np.concatenate([np.arange(len(left)), np.arange(len(left))]) + n_sets
    counts = per_set[pair_sets]
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    paired_messages = order[np.repeat(bounds[pair_sets], counts) + within]
    action_message = np.concatenate([np.arange(len(message)), paired_messages])
    action_item = np.concatenate([message_set, np.repeat(pair_items, counts)])
    return co_action_edges(
        accounts[message[action_message]],
        action_item,
        np.asarray(times_ms, dtype=np.int64)[message[action_message]],
        window_ms,
        min_weight,
        messages=message[action_message],
        self_loops=self_loops,
        max_pairs=max_pairs,
        acting=None if acting is None else np.asarray(acting, dtype=bool)[message[action_message]],
    )

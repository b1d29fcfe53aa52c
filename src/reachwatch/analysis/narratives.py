"""Narratives over sentence embeddings (unit vectors): assigning posts to the narratives analysts
track, calibrating each narrative's threshold from its own examples, and discovering clusters
among the posts no tracked narrative claims. Pure NumPy / scikit-learn over arrays; the service
fetches the vectors and texts and stores the results."""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
FLOOR, CEILING = 0.35, 0.9  # a threshold outside these would match nearly everything or nothing


class Calibration(msgspec.Struct, kw_only=True):
    threshold: float
    examples_low: float | None  # the 10th percentile of each example's similarity to the others
    background_high: float  # the 99th percentile of background posts' similarity to the examples
    note: str


def similarity_to(examples: Vectors, vectors: Vectors) -> npt.NDArray[np.float32]:
    """Each vector's highest cosine similarity to any example (all unit length)."""
    if len(examples) == 0 or len(vectors) == 0:
        return np.zeros(len(vectors), dtype=np.float32)
    return np.asarray((vectors @ examples.T).max(axis=1), dtype=np.float32)


def calibrate(examples: Vectors, background: Vectors) -> Calibration:
    """A threshold between how alike the examples are to each other (leave one out) and how alike
    ordinary posts are to them: midway between the examples' 10th percentile and the background's
    99th, kept within [0.35, 0.9]. With one example, just above the background."""
    background_high = (
        float(np.percentile(similarity_to(examples, background), 99)) if len(background) else 0.3
    )
    if len(examples) >= 2:
        alike = examples @ examples.T
        np.fill_diagonal(alike, -1.0)
        examples_low = float(np.percentile(alike.max(axis=1), 10))
        threshold = (examples_low + background_high) / 2 if examples_low > background_high else examples_low
        note = f"midway between the examples' 10th percentile ({examples_low:.2f}) and background p99"
    else:
        examples_low = None
        threshold = background_high + 0.05
        note = "one example: just above the background's 99th percentile; add examples to calibrate"
    return Calibration(
        threshold=float(min(max(threshold, FLOOR), CEILING)),
        examples_low=examples_low,
        background_high=background_high,
        note=note,
    )


class Assignment(msgspec.Struct, array_like=True):
    row: int  # the post's row in the batch
    narrative: int  # the narrative's index in the list given
    similarity: float
    nearest_example: int  # the index of the nearest example within that narrative


def assign(
    vectors: Vectors, examples: Sequence[Vectors], thresholds: Sequence[float], best_only: bool = False
) -> list[Assignment]:
    """Every (post, narrative) whose similarity to the narrative's nearest example reaches its
    threshold: one matrix product against all narratives' examples, a segmented max per narrative."""
    if len(vectors) == 0 or not examples:
        return []
    stacked = np.vstack([block for block in examples if len(block)])
    owners = np.concatenate([np.full(len(block), i) for i, block in enumerate(examples)])
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    present = owners[starts]
    sims = vectors @ stacked.T
    best = np.maximum.reduceat(sims, starts, axis=1)  # posts × narratives with examples
    nearest = np.zeros_like(best, dtype=np.int64)
    for j, start in enumerate(starts):
        end = starts[j + 1] if j + 1 < len(starts) else sims.shape[1]
        nearest[:, j] = np.argmax(sims[:, start:end], axis=1)
    cut = np.asarray(thresholds, dtype=np.float32)[present]
    hits = best >= cut
    if best_only:
        chosen = np.argmax(np.where(hits, best, -np.inf), axis=1)
        hits = hits & (np.arange(best.shape[1])[None, :] == chosen[:, None])
    rows, columns = np.nonzero(hits)
    return [
        Assignment(int(r), int(present[c]), round(float(best[r, c]), 4), int(nearest[r, c]))
        for r, c in zip(rows.tolist(), columns.tolist(), strict=True)
    ]


class Cluster(msgspec.Struct, kw_only=True):
    label: int
    size: int  # posts
    keywords: list[str]  # class-based TF-IDF: the words most particular to this cluster
    representatives: list[int]  # rows nearest the cluster's centre, one per distinct text
    distinct: int = 0  # distinct texts among its posts (near-identical ones counted once)
    harmful: int = 0  # posts the harm model flagged (filled in by the service)


MERGE_SIMILARITY = 0.95  # texts this alike (cosine of their embeddings) are one text repeated
MERGE_LIMIT = 50_000  # above this many distinct texts, only identical ones are merged
_NOISE = re.compile(r"https?://\S+|@[\w.-]+|^rt\b|[^\w\s]", re.I)


def _text_key(text: str) -> str:
    """A text as compared for repeats: case, links, mentions, punctuation and spacing ignored."""
    return " ".join(_NOISE.sub(" ", text.casefold()).split())


def repeats(
    vectors: Vectors, texts: Sequence[str], similarity: float = MERGE_SIMILARITY
) -> npt.NDArray[np.int64]:
    """Each row's group of identical or near-identical texts (retweets, copy-paste campaigns,
    a link added): the same text once ignoring case, links, mentions and punctuation, then
    groups whose embeddings are at least `similarity` alike joined (connected components)."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    keys: dict[str, int] = {}
    exact = np.asarray([keys.setdefault(_text_key(text), len(keys)) for text in texts], dtype=np.int64)
    if len(keys) < 2 or len(keys) > MERGE_LIMIT:
        return exact
    first = np.full(len(keys), -1, dtype=np.int64)
    for row in range(len(exact) - 1, -1, -1):
        first[exact[row]] = row
    heads = vectors[first].astype(np.float32)
    heads /= np.maximum(np.linalg.norm(heads, axis=1, keepdims=True), 1e-12)
    near = NearestNeighbors(radius=1.0 - similarity, metric="cosine").fit(heads)
    graph = near.radius_neighbors_graph(heads, mode="connectivity")
    _, joined = connected_components(graph, directed=False)
    return np.asarray(joined, dtype=np.int64)[exact]


def discover(
    vectors: Vectors, texts: Sequence[str], *, min_cluster_size: int = 10, dimensions: int = 10, seed: int = 7
) -> tuple[npt.NDArray[np.int64], list[Cluster]]:
    """Themes: identical and near-identical texts merged first (`repeats`), density clusters
    (HDBSCAN) over the PCA-reduced embeddings of the distinct texts, then kept when they hold at
    least `min_cluster_size` posts; a text repeated that often that joins no cluster is a theme
    of its own. Labelled BERTopic-style with class-based TF-IDF keywords and their most central
    distinct texts; largest first. Returns each row's label (-1: noise)."""
    from sklearn.decomposition import PCA

    n = len(vectors)
    labels = np.full(n, -1, dtype=np.int64)
    if n < max(min_cluster_size, 2):
        return labels, []
    group = repeats(vectors, texts)
    groups = int(group.max()) + 1
    posts = np.bincount(group, minlength=groups)
    heads = np.zeros((groups, vectors.shape[1]), dtype=np.float64)
    np.add.at(heads, group, vectors)
    heads /= np.maximum(np.linalg.norm(heads, axis=1, keepdims=True), 1e-12)
    head_labels = np.full(groups, -1, dtype=np.int64)
    heavy = posts >= min_cluster_size  # a text repeated into a theme by itself
    # The fewest distinct texts in a cluster: the posts' minimum scaled by how much they repeat
    # (10 posts in a window where each text is posted six times is two texts).
    small = max(2, min(min_cluster_size, round(min_cluster_size * groups / n)))
    if groups >= max(small * 2, 5):
        pca = PCA(n_components=min(dimensions, heads.shape[1], groups - 1), random_state=seed)
        head_labels = _density_labels(pca.fit_transform(heads), small, np.random.default_rng(seed))
    next_label = int(head_labels.max()) + 1
    for g in np.flatnonzero(heavy & (head_labels == -1)):  # a repeated text no theme took
        head_labels[g], next_label = next_label, next_label + 1
    sizes = np.bincount(head_labels[head_labels >= 0], weights=posts[head_labels >= 0], minlength=next_label)
    kept = {label for label in range(next_label) if sizes[label] >= min_cluster_size}
    head_labels = np.where(np.isin(head_labels, list(kept)), head_labels, -1)
    labels = head_labels[group]
    wanted = sorted(kept)
    keywords = class_keywords([texts[i] for i in range(n)], labels, wanted)
    first_row = np.full(groups, -1, dtype=np.int64)
    for row in range(n - 1, -1, -1):
        first_row[group[row]] = row
    found = []
    for label in wanted:
        members = np.flatnonzero(head_labels == label)
        centre = heads[members].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        order = members[np.argsort(-(heads[members] @ centre))][:3]
        found.append(
            Cluster(
                label=int(label),
                size=int(posts[members].sum()),
                keywords=keywords[label],
                representatives=first_row[order].tolist(),
                distinct=len(members),
            )
        )
    found.sort(key=lambda cluster: (-cluster.size, cluster.label))
    return labels, found


SAMPLE = 20_000  # HDBSCAN's cost grows faster than linearly: beyond this, cluster a sample


def _density_labels(
    reduced: npt.NDArray[np.float64], min_cluster_size: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """HDBSCAN labels; over SAMPLE points, HDBSCAN on a random sample (its minimum cluster size
    scaled down with it) and every other point given the label of its nearest sampled neighbour
    when that neighbour is in a cluster and no farther than the sample's own typical spacing."""
    from sklearn.cluster import HDBSCAN
    from sklearn.neighbors import NearestNeighbors

    n = len(reduced)
    if n <= SAMPLE:
        return np.asarray(
            HDBSCAN(
                min_cluster_size=min_cluster_size, min_samples=max(2, min_cluster_size // 2), copy=True
            ).fit_predict(reduced),
            dtype=np.int64,
        )
    chosen = np.sort(rng.choice(n, SAMPLE, replace=False))
    size = max(5, int(min_cluster_size * SAMPLE / n))
    sample_labels = HDBSCAN(min_cluster_size=size, min_samples=max(2, size // 2), copy=True).fit_predict(
        reduced[chosen]
    )
    index = NearestNeighbors(n_neighbors=2).fit(reduced[chosen])
    spacing = float(np.percentile(index.kneighbors(reduced[chosen])[0][:, 1], 95))
    distance, nearest = index.kneighbors(reduced, n_neighbors=1)
    labels = np.where(distance[:, 0] <= spacing, sample_labels[nearest[:, 0]], -1)
    labels[chosen] = sample_labels
    return labels.astype(np.int64)


def class_keywords(
    texts: Sequence[str], labels: npt.NDArray[np.int64], wanted: list[int], top: int = 8
) -> dict[int, list[str]]:
    """c-TF-IDF (Grootendorst 2022): each cluster's texts as one document; a word's frequency in it
    times log(1 + mean words per cluster / the word's frequency across clusters)."""
    from sklearn.feature_extraction.text import CountVectorizer

    if not wanted:
        return {}
    joined = [" ".join(texts[i] for i in np.flatnonzero(labels == label).tolist()) for label in wanted]
    counter = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_][\w']+\b", min_df=1)
    try:
        counts = counter.fit_transform(joined).toarray().astype(np.float64)
    except ValueError:  # no word at all (emoji, links, stop words only): clusters without keywords
        return {label: [] for label in wanted}
    if counts.size == 0:
        return {label: [] for label in wanted}
    words = counter.get_feature_names_out()
    frequency = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average = counts.sum() / len(wanted)
    weight = frequency * np.log1p(average / np.maximum(counts.sum(axis=0), 1))
    return {
        label: [str(words[j]) for j in np.argsort(-weight[i])[:top] if weight[i, j] > 0]
        for i, label in enumerate(wanted)
    }

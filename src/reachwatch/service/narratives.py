"""Narratives: analysts define the themes they track (name, description, examples, keywords);
every post is embedded once and assigned to the narratives it matches, with its similarity and
nearest example as evidence; themes nobody defined are discovered among the posts no narrative
claims; and per account the narratives it pushed week by week, per narrative who carried it."""

from __future__ import annotations

import re
import time
import unicodedata
from pathlib import Path
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.analysis.narratives import Cluster, assign, calibrate, discover
from reachwatch.enrich.embedding import SentenceEncoder, load_encoder
from reachwatch.enrich.normalise import normalise
from reachwatch.errors import NotFoundError, UsageError
from reachwatch.service.narrative_views import Spread as Spread
from reachwatch.service.narrative_views import Timeline as Timeline
from reachwatch.service.narrative_views import find as find
from reachwatch.service.narrative_views import spread as spread
from reachwatch.service.narrative_views import timeline as timeline
from reachwatch.store import enrichments as enrichment_rows
from reachwatch.store import narratives as reads
from reachwatch.store.database import Store
from reachwatch.store.narratives import NarrativeRow as NarrativeRow

WEEK_US = 7 * 86_400_000_000
BACKGROUND = 2_000  # stored vectors a new narrative's threshold is calibrated against
KEYWORD_BONUS = 0.05  # a post holding one of the narrative's keywords needs this much less similarity


def narrative_id(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:80]
    if not slug:
        raise UsageError(f"Cannot make an id from the narrative name {name!r}: use letters or digits.")
    return slug


def _encoder(model_dir: str) -> SentenceEncoder:
    return load_encoder(str(Path(model_dir)))


def add(
    store: Store,
    model_dir: str,
    name: str,
    examples: list[str],
    *,
    description: str = "",
    keywords: list[str] | None = None,
    origin: str = "tracked",
) -> NarrativeRow:
    """Track a narrative: its examples are embedded, its threshold calibrated against stored
    posts, and every stored post embedded so far is assigned against it."""
    examples = [text.strip() for text in examples if text.strip()]
    if not examples:
        raise UsageError("A narrative needs at least one example post (--example TEXT), in its own words.")
    encoder = _encoder(model_dir)
    vectors = encoder.encode([normalise(text) for text in examples])
    background = reads.sample_vectors(store, encoder.version, BACKGROUND)
    found = calibrate(
        vectors, background if background.size else np.zeros((0, encoder.dimension), np.float32)
    )
    row = NarrativeRow(
        id=narrative_id(name),
        name=name,
        description=description,
        keywords=[word.lower() for word in keywords or []],
        examples=examples,
        threshold=round(found.threshold, 4),
        calibration=msgspec.structs.asdict(found),
        model=encoder.version,
        origin=origin,
        created_at_us=time.time_ns() // 1000,
    )
    reads.save_narrative(store, row)
    reads.forget_assignments(store, row.id)
    reassign_all(store, model_dir, Tracked(rows=[row], examples=[vectors]))
    return row


def list_narratives(store: Store) -> list[NarrativeRow]:
    return reads.narratives(store)


class Tracked(msgspec.Struct, kw_only=True):
    """The narratives to assign against, with their examples embedded once per run (not per batch)."""

    rows: list[NarrativeRow]
    examples: list[npt.NDArray[np.float32]]


def tracked(store: Store, encoder: SentenceEncoder) -> Tracked:
    rows = reads.narratives(store)
    return Tracked(
        rows=rows, examples=[encoder.encode([normalise(text) for text in row.examples]) for row in rows]
    )


def assign_posts(
    store: Store, narratives: Tracked, posts: list[reads.PostText], vectors: npt.NDArray[np.float32]
) -> int:
    """Assign posts (with their vectors) to the tracked narratives; returns how many assignments."""
    rows, examples = narratives.rows, narratives.examples
    if not rows or not posts:
        return 0
    # A keyword lowers the bar a little: the analyst said these words belong to the narrative.
    texts = [normalise(post.text) for post in posts]
    found = assign(vectors, examples, [row.threshold - KEYWORD_BONUS for row in rows])
    now = time.time_ns() // 1000
    kept = []
    for hit in found:
        row = rows[hit.narrative]
        has_keyword = any(word in texts[hit.row] for word in row.keywords)
        if hit.similarity >= row.threshold or has_keyword:
            kept.append(
                {
                    "narrative_id": row.id,
                    "post_id": posts[hit.row].post_id,
                    "similarity": hit.similarity,
                    "nearest_example": hit.nearest_example,
                    "assigned_at_us": now,
                }
            )
    reads.save_assignments(store, kept)
    return len(kept)


class EmbedReport(msgspec.Struct, kw_only=True):
    embedded: int
    assigned: int
    seconds: float
    posts_per_s: float


def embed_pending(
    store: Store,
    model_dir: str,
    *,
    since_us: int = 0,
    until_us: int = 2**62,
    batch: int = 512,
    limit: int | None = None,
) -> EmbedReport:
    """Embed the posts that have no vector yet (oldest first, in batches, each batch stored before
    the next: an interrupted backfill resumes where it stopped) and assign them to the narratives."""
    encoder = _encoder(model_dir)
    started = time.perf_counter()
    embedded = assigned = 0
    against = tracked(store, encoder)
    while limit is None or embedded < limit:
        size = batch if limit is None else min(batch, limit - embedded)
        posts = reads.posts_without_embedding(store, encoder.version, since_us, until_us, size)
        if not posts:
            break
        vectors = encoder.encode([normalise(post.text) for post in posts])
        reads.save_embeddings(
            store, [post.post_id for post in posts], encoder.version, vectors, time.time_ns() // 1000
        )
        assigned += assign_posts(store, against, posts, vectors)
        embedded += len(posts)
    seconds = time.perf_counter() - started
    return EmbedReport(
        embedded=embedded,
        assigned=assigned,
        seconds=seconds,
        posts_per_s=embedded / seconds if seconds > 0 else 0.0,
    )


def reassign_all(store: Store, model_dir: str, only: Tracked | None = None) -> int:
    """Assign every post embedded so far (e.g. after a narrative is added or edited)."""
    encoder = _encoder(model_dir)
    against = only if only is not None else tracked(store, encoder)
    total, after = 0, ""
    while chunk := reads.embedded_after(store, encoder.version, after, 5_000):
        after = chunk[-1].post_id
        ids, vectors = reads.vectors_of(store, [post.post_id for post in chunk], encoder.version)
        order = {post_id: i for i, post_id in enumerate(ids)}
        total += assign_posts(store, against, chunk, vectors[[order[post.post_id] for post in chunk]])
    return total


class Discovered(msgspec.Struct, kw_only=True):
    since_us: int
    until_us: int
    posts: int  # unclaimed posts considered
    clusters: list[Cluster]  # ranked: by size, or by posts flagged harmful (`order`)
    examples: dict[int, list[str]]  # cluster label → its representative posts' texts
    order: str = "size"


DiscoverOrder = Literal["size", "harm"]


def discover_between(
    store: Store,
    model_dir: str,
    since_us: int,
    until_us: int,
    min_cluster_size: int = 10,
    order: DiscoverOrder = "size",
) -> Discovered:
    """Themes among the window's embedded posts that no tracked narrative claims, near-identical
    texts merged; largest first, or (`harm`) the most posts flagged harmful first, then size."""
    if until_us <= since_us:
        raise UsageError("--until must be after --since.")
    encoder = _encoder(model_dir)
    posts = reads.posts_between(store, since_us, until_us, 200_000)
    claimed = reads.assigned_ids(store, [post.post_id for post in posts])
    free = [post for post in posts if post.post_id not in claimed]
    ids, vectors = reads.vectors_of(store, [post.post_id for post in free], encoder.version)
    text_of = {post.post_id: post.text for post in free}
    texts = [text_of[post_id] for post_id in ids]
    labels, clusters = (
        discover(vectors, texts, min_cluster_size=min_cluster_size) if ids else (np.zeros(0, np.int64), [])
    )
    flagged = {post_id for post_id, found in enrichment_rows.harm(store, list(ids)).items() if found.flagged}
    for cluster in clusters:
        cluster.harmful = sum(1 for i in np.flatnonzero(labels == cluster.label) if ids[i] in flagged)
    if order == "harm":
        clusters.sort(key=lambda cluster: (-cluster.harmful, -cluster.size, cluster.label))
    return Discovered(
        since_us=since_us,
        until_us=until_us,
        posts=len(ids),
        clusters=clusters,
        order=order,
        examples={cluster.label: [texts[i] for i in cluster.representatives] for cluster in clusters},
    )


def after_ingest(store: Store, model_dir: str) -> EmbedReport | None:
    """Embed and assign the posts an ingest added, when narratives are tracked and the model is
    there; None otherwise (ingest never needs the model)."""
    if not reads.narratives(store) or not (Path(model_dir) / "model.onnx").is_file():
        return None
    return embed_pending(store, model_dir)


class PlantedScore(msgspec.Struct, kw_only=True):
    labelled: int  # narrative posts planted
    others: int  # posts planted without a narrative, scored too
    assigned: int
    precision: float
    recall: float
    discovered: int  # clusters found among the narrative posts
    adjusted_rand: float
    normalised_mutual_information: float


def score_planted(store: Store, model_dir: str, planted: dict[str, str], others: list[str]) -> PlantedScore:
    """Tracked-narrative assignment against planted labels (precision over every assignment among
    the scored posts, recall over the planted ones), and discovery run afresh on the planted
    posts' vectors, compared with the planted narratives by ARI and NMI."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    tracked = {row.id for row in reads.narratives(store)}
    scored = set(planted) | set(others)
    claims = [
        post
        for post in reads.assigned_posts(store)
        if post.post_id in scored and post.narrative_id in tracked
    ]
    right = sum(planted.get(post.post_id) == post.narrative_id for post in claims)
    found = {post.post_id for post in claims if planted.get(post.post_id) == post.narrative_id}
    encoder = _encoder(model_dir)
    # Discovery runs over the planted posts and the others together (as it would in use) and is
    # scored on the planted ones.
    ids, vectors = reads.vectors_of(store, [*planted, *others], encoder.version)
    texts = reads.texts_of(store, ids)
    labels, clusters = discover(vectors, [texts.get(post_id, "") for post_id in ids], min_cluster_size=10)
    rows = [i for i, post_id in enumerate(ids) if post_id in planted]
    truth = [planted[ids[i]] for i in rows]
    labels = labels[rows]
    return PlantedScore(
        labelled=len(planted),
        others=len(others),
        assigned=len(claims),
        precision=right / len(claims) if claims else 0.0,
        recall=len(found) / len(planted) if planted else 0.0,
        discovered=len(clusters),
        adjusted_rand=float(adjusted_rand_score(truth, labels)) if rows else 0.0,
        normalised_mutual_information=float(normalized_mutual_info_score(truth, labels)) if rows else 0.0,
    )


def track_planted(store: Store, model_dir: str, planted: dict[str, dict[str, list[str]]]) -> EmbedReport:
    """Track a scenario's planted narratives by their examples and embed every post (the demo)."""
    for plan in planted.values():
        add(store, model_dir, plan["name"][0], plan["examples"], description="planted in the demo scenario")
    return embed_pending(store, model_dir)


def promote(
    store: Store,
    model_dir: str,
    since_us: int,
    until_us: int,
    label: int,
    name: str,
    min_cluster_size: int = 10,
) -> NarrativeRow:
    """Track a discovered theme: discovery is run again on the same window (it is deterministic)
    and the theme's most central posts become the new narrative's examples."""
    found = discover_between(store, model_dir, since_us, until_us, min_cluster_size)
    examples = found.examples.get(label)
    if not examples:
        labels = ", ".join(str(cluster.label) for cluster in found.clusters) or "none"
        raise NotFoundError(f"No theme {label} in that window (themes: {labels}); run the discovery again.")
    keywords = next(cluster.keywords[:3] for cluster in found.clusters if cluster.label == label)
    return add(
        store, model_dir, name, examples, description="discovered", keywords=keywords, origin="discovered"
    )

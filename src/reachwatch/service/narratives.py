"""Narratives: analysts define the themes they track (name, description, examples, keywords);
every post is embedded once and assigned to the narratives it matches, with its similarity and
nearest example as evidence; themes nobody defined are discovered among the posts no narrative
claims; and per account the narratives it pushed week by week, per narrative who carried it."""

from __future__ import annotations

import re
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.analysis.narratives import Cluster, assign, calibrate, discover, similarity_to
from reachwatch.enrich.embedding import SentenceEncoder, load_encoder
from reachwatch.enrich.normalise import normalise
from reachwatch.errors import NotFoundError, UsageError
from reachwatch.store import narratives as reads
from reachwatch.store import networks as network_reads
from reachwatch.store import reach as reach_reads
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
    reassign_all(store, model_dir, only=[row])
    return row


def list_narratives(store: Store) -> list[NarrativeRow]:
    return reads.narratives(store)


def find(store: Store, reference: str) -> NarrativeRow:
    wanted = reference.strip().lower()
    for row in reads.narratives(store):
        if wanted in (row.id, row.name.lower()):
            return row
    raise NotFoundError(f"No narrative {reference!r}: see `reachwatch narratives list`.")


def _example_vectors(encoder: SentenceEncoder, rows: list[NarrativeRow]) -> list[npt.NDArray[np.float32]]:
    return [encoder.encode([normalise(text) for text in row.examples]) for row in rows]


def assign_posts(
    store: Store,
    model_dir: str,
    posts: list[reads.PostText],
    vectors: npt.NDArray[np.float32],
    only: list[NarrativeRow] | None = None,
) -> int:
    """Assign posts (with their vectors) to the tracked narratives; returns how many assignments."""
    rows = only if only is not None else reads.narratives(store)
    if not rows or not posts:
        return 0
    encoder = _encoder(model_dir)
    examples = _example_vectors(encoder, rows)
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
    while limit is None or embedded < limit:
        size = batch if limit is None else min(batch, limit - embedded)
        posts = reads.posts_without_embedding(store, encoder.version, since_us, until_us, size)
        if not posts:
            break
        vectors = encoder.encode([normalise(post.text) for post in posts])
        reads.save_embeddings(
            store, [post.post_id for post in posts], encoder.version, vectors, time.time_ns() // 1000
        )
        assigned += assign_posts(store, model_dir, posts, vectors)
        embedded += len(posts)
    seconds = time.perf_counter() - started
    return EmbedReport(
        embedded=embedded,
        assigned=assigned,
        seconds=seconds,
        posts_per_s=embedded / seconds if seconds > 0 else 0.0,
    )


def reassign_all(store: Store, model_dir: str, only: list[NarrativeRow] | None = None) -> int:
    """Assign every post embedded so far (e.g. after a narrative is added or edited)."""
    encoder = _encoder(model_dir)
    posts = reads.posts_between(store, 0, 2**62, 10_000_000)
    total = 0
    for start in range(0, len(posts), 5_000):
        chunk = posts[start : start + 5_000]
        ids, vectors = reads.vectors_of(store, [post.post_id for post in chunk], encoder.version)
        if not ids:
            continue
        present = set(ids)
        order = {post_id: i for i, post_id in enumerate(ids)}
        with_vectors = [post for post in chunk if post.post_id in present]
        total += assign_posts(
            store, model_dir, with_vectors, vectors[[order[post.post_id] for post in with_vectors]], only
        )
    return total


class WeekRow(msgspec.Struct, kw_only=True):
    week_us: int
    narrative_id: str
    posts: int
    engagements: int


class Timeline(msgspec.Struct, kw_only=True):
    account_id: str
    handle: str | None
    weeks: list[WeekRow]
    sequence: list[str]  # narratives in the order the account pushed them (by median time)


def timeline(store: Store, account_id: str) -> Timeline:
    posts = reads.assigned_posts(store, author_id=account_id)
    weeks: dict[tuple[int, str], WeekRow] = {}
    times: dict[str, list[int]] = defaultdict(list)
    for post in posts:
        week = post.created_at_us - post.created_at_us % WEEK_US
        key = (week, post.narrative_id)
        row = weeks.setdefault(
            key, WeekRow(week_us=week, narrative_id=post.narrative_id, posts=0, engagements=0)
        )
        row.posts += 1
        row.engagements += post.engagements
        times[post.narrative_id].append(post.created_at_us)
    # The order an account pushed its narratives in: by each one's median time, so a stray early
    # post on a theme does not put it first.
    sequence = sorted(times, key=lambda narrative: float(np.median(times[narrative])))
    handle = reach_reads.handles(store, [account_id]).get(account_id)
    ordered = sorted(weeks.values(), key=lambda r: (r.week_us, r.narrative_id))
    return Timeline(account_id=account_id, handle=handle, weeks=ordered, sequence=sequence)


class Carrier(msgspec.Struct, kw_only=True):
    account_id: str
    handle: str | None
    followers: int | None
    posts: int
    engagements: int
    first_at_us: int
    lag_hours: float  # after the first account to post it


class Claim(msgspec.Struct, kw_only=True):
    """Posts of a narrative that make the same claim in other words (cosine ≥ CLAIM_SIMILARITY)."""

    text: str  # its earliest wording
    posts: int
    accounts: int
    first_at_us: int
    wordings: list[str]  # up to five distinct wordings


class Spread(msgspec.Struct, kw_only=True):
    narrative: NarrativeRow
    posts: int
    engagements: int
    reach: int  # the carriers' followers added up: the audience the narrative was put in front of
    first_post_id: str | None
    carriers: list[Carrier]
    claims: list[Claim] = msgspec.field(default_factory=list)


def spread(store: Store, reference: str) -> Spread:
    row = find(store, reference)
    posts = reads.assigned_posts(store, narrative_id=row.id)
    by_account: dict[str, list[reads.AssignedPost]] = defaultdict(list)
    for post in posts:
        by_account[post.author_id].append(post)
    start = posts[0].created_at_us if posts else 0
    profiles = network_reads.profiles(store, list(by_account))
    carriers = sorted(
        (
            Carrier(
                account_id=account,
                handle=profiles.get(account, (None, None))[0],
                followers=profiles.get(account, (None, None))[1],
                posts=len(own),
                engagements=sum(post.engagements for post in own),
                first_at_us=own[0].created_at_us,
                lag_hours=(own[0].created_at_us - start) / 3.6e9,
            )
            for account, own in by_account.items()
        ),
        key=lambda carrier: carrier.first_at_us,
    )
    return Spread(
        narrative=row,
        posts=len(posts),
        engagements=sum(post.engagements for post in posts),
        reach=sum(carrier.followers or 0 for carrier in carriers),
        first_post_id=posts[0].post_id if posts else None,
        carriers=carriers,
        claims=_claims(store, row, posts),
    )


CLAIM_SIMILARITY = 0.85


def _claims(store: Store, row: NarrativeRow, posts: list[reads.AssignedPost]) -> list[Claim]:
    """The narrative's posts grouped into claims: linked when their vectors are this alike
    (connected components), each group with its earliest wording and how far it spread."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    ids, vectors = reads.vectors_of(store, [post.post_id for post in posts], row.model)
    if not ids:
        return []
    alike = csr_matrix((vectors @ vectors.T) >= CLAIM_SIMILARITY)
    _, labels = connected_components(alike, directed=False)
    by_id = {post.post_id: post for post in posts}
    texts = {
        post.post_id: post.text
        for post in reads.posts_between(store, 0, 2**62, 10_000_000)
        if post.post_id in by_id
    }
    groups: dict[int, list[str]] = defaultdict(list)
    for post_id, label in zip(ids, labels.tolist(), strict=True):
        groups[label].append(post_id)
    claims = []
    for members in groups.values():
        members.sort(key=lambda post_id: by_id[post_id].created_at_us)
        wordings = list(dict.fromkeys(texts.get(post_id, "") for post_id in members))
        claims.append(
            Claim(
                text=wordings[0],
                posts=len(members),
                accounts=len({by_id[m].author_id for m in members}),
                first_at_us=by_id[members[0]].created_at_us,
                wordings=wordings[:5],
            )
        )
    return sorted(claims, key=lambda claim: (-claim.posts, claim.first_at_us))


class Discovered(msgspec.Struct, kw_only=True):
    since_us: int
    until_us: int
    posts: int  # unclaimed posts considered
    clusters: list[Cluster]
    examples: dict[int, list[str]]  # cluster label → its representative posts' texts


def discover_between(
    store: Store, model_dir: str, since_us: int, until_us: int, min_cluster_size: int = 10
) -> Discovered:
    """Clusters among the window's embedded posts that no tracked narrative claims."""
    if until_us <= since_us:
        raise UsageError("--until must be after --since.")
    encoder = _encoder(model_dir)
    posts = reads.posts_between(store, since_us, until_us, 200_000)
    claimed = reads.assigned_ids(store, [post.post_id for post in posts])
    free = [post for post in posts if post.post_id not in claimed]
    ids, vectors = reads.vectors_of(store, [post.post_id for post in free], encoder.version)
    text_of = {post.post_id: post.text for post in free}
    texts = [text_of[post_id] for post_id in ids]
    _, clusters = (
        discover(vectors, texts, min_cluster_size=min_cluster_size) if ids else (np.zeros(0, np.int64), [])
    )
    return Discovered(
        since_us=since_us,
        until_us=until_us,
        posts=len(ids),
        clusters=clusters,
        examples={cluster.label: [texts[i] for i in cluster.representatives] for cluster in clusters},
    )


def similarity(store: Store, model_dir: str, reference: str, text: str) -> float:
    """How close a text is to a narrative's examples (for analysts checking a threshold)."""
    row = find(store, reference)
    encoder = _encoder(model_dir)
    return float(similarity_to(_example_vectors(encoder, [row])[0], encoder.encode([normalise(text)]))[0])


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
    texts = {
        post.post_id: post.text
        for post in reads.posts_between(store, 0, 2**62, 10_000_000)
        if post.post_id in scored
    }
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

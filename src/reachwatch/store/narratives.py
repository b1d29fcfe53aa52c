"""Store reads and writes of embeddings and narratives."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, func, select

from reachwatch.store import schema
from reachwatch.store.database import Store, as_struct


class NarrativeRow(msgspec.Struct, kw_only=True):
    id: str
    name: str
    description: str
    keywords: list[str]
    examples: list[str]
    threshold: float
    calibration: dict[str, Any]
    model: str
    origin: str
    created_at_us: int


class PostText(msgspec.Struct, array_like=True):
    post_id: str
    author_id: str
    created_at_us: int
    text: str


def _pack(vector: npt.NDArray[np.float32]) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def save_embeddings(
    store: Store, post_ids: list[str], model: str, vectors: npt.NDArray[np.float32], at_us: int
) -> None:
    e = schema.embeddings
    rows = [
        {"post_id": post_id, "model": model, "vector": _pack(vector), "embedded_at_us": at_us}
        for post_id, vector in zip(post_ids, vectors, strict=True)
    ]
    if not rows:
        return
    with store.transaction() as conn:
        conn.execute(delete(e).where(e.c.post_id.in_(post_ids)))
        conn.execute(e.insert(), rows)


def vectors_of(store: Store, post_ids: list[str], model: str) -> tuple[list[str], npt.NDArray[np.float32]]:
    """(post ids that have a vector from `model`, their vectors as float32 rows)."""
    e = schema.embeddings
    found: list[str] = []
    blobs: list[bytes] = []
    with store.connect() as conn:
        for start in range(0, len(post_ids), 500):
            stmt = select(e.c.post_id, e.c.vector).where(
                e.c.post_id.in_(post_ids[start : start + 500]), e.c.model == model
            )
            for post_id, blob in conn.execute(stmt):
                found.append(str(post_id))
                blobs.append(bytes(blob))
    if not blobs:
        return [], np.zeros((0, 0), dtype=np.float32)
    return found, np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), -1).astype(np.float32)


def posts_without_embedding(
    store: Store, model: str, since_us: int, until_us: int, limit: int
) -> list[PostText]:
    """Posts in the window with no vector from `model` yet, oldest first: a backfill resumes by itself."""
    p, e = schema.posts, schema.embeddings
    stmt = (
        select(p.c.id, p.c.author_id, p.c.created_at_us, p.c.text)
        .select_from(p.outerjoin(e, (e.c.post_id == p.c.id) & (e.c.model == model)))
        .where(e.c.post_id.is_(None), p.c.created_at_us >= since_us, p.c.created_at_us < until_us)
        .order_by(p.c.created_at_us)
        .limit(limit)
    )
    with store.connect() as conn:
        return [PostText(*row) for row in conn.execute(stmt)]


def posts_between(store: Store, since_us: int, until_us: int, limit: int) -> list[PostText]:
    p = schema.posts
    stmt = (
        select(p.c.id, p.c.author_id, p.c.created_at_us, p.c.text)
        .where(p.c.created_at_us >= since_us, p.c.created_at_us < until_us)
        .order_by(p.c.created_at_us)
        .limit(limit)
    )
    with store.connect() as conn:
        return [PostText(*row) for row in conn.execute(stmt)]


def sample_vectors(store: Store, model: str, limit: int) -> npt.NDArray[np.float32]:
    """Up to `limit` stored vectors, the background a narrative's threshold is calibrated against."""
    e = schema.embeddings
    with store.connect() as conn:
        blobs = [
            bytes(row[0]) for row in conn.execute(select(e.c.vector).where(e.c.model == model).limit(limit))
        ]
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), -1).astype(np.float32)


def save_narrative(store: Store, row: NarrativeRow) -> None:
    n = schema.narratives
    with store.transaction() as conn:
        conn.execute(delete(n).where(n.c.id == row.id))
        conn.execute(n.insert(), [msgspec.structs.asdict(row)])


def narratives(store: Store) -> list[NarrativeRow]:
    n = schema.narratives
    with store.connect() as conn:
        rows = conn.execute(select(n).order_by(n.c.created_at_us))
        return [as_struct(row, NarrativeRow) for row in rows]


def save_assignments(store: Store, rows: list[dict[str, Any]]) -> None:
    a = schema.narrative_posts
    if not rows:
        return
    with store.transaction() as conn:
        for row in rows:
            conn.execute(
                delete(a).where(a.c.narrative_id == row["narrative_id"], a.c.post_id == row["post_id"])
            )
        conn.execute(a.insert(), rows)


def forget_assignments(store: Store, narrative_id: str) -> None:
    a = schema.narrative_posts
    with store.transaction() as conn:
        conn.execute(delete(a).where(a.c.narrative_id == narrative_id))


class AssignedPost(msgspec.Struct, array_like=True):
    narrative_id: str
    post_id: str
    author_id: str
    created_at_us: int
    similarity: float
    nearest_example: int
    engagements: int


def assigned_posts(
    store: Store, *, narrative_id: str | None = None, author_id: str | None = None
) -> list[AssignedPost]:
    """Posts claimed by narratives, with their engagement counts, oldest first."""
    a, p, e = schema.narrative_posts, schema.posts, schema.engagements
    counts = select(e.c.post_id, func.count().label("n")).group_by(e.c.post_id).subquery()
    stmt = (
        select(
            a.c.narrative_id,
            a.c.post_id,
            p.c.author_id,
            p.c.created_at_us,
            a.c.similarity,
            a.c.nearest_example,
            func.coalesce(counts.c.n, 0),
        )
        .select_from(a.join(p, p.c.id == a.c.post_id).outerjoin(counts, counts.c.post_id == a.c.post_id))
        .order_by(p.c.created_at_us)
    )
    if narrative_id is not None:
        stmt = stmt.where(a.c.narrative_id == narrative_id)
    if author_id is not None:
        stmt = stmt.where(p.c.author_id == author_id)
    with store.connect() as conn:
        return [AssignedPost(*row) for row in conn.execute(stmt)]


def assigned_ids(store: Store, post_ids: list[str]) -> set[str]:
    a = schema.narrative_posts
    found: set[str] = set()
    with store.connect() as conn:
        for start in range(0, len(post_ids), 500):
            stmt = select(a.c.post_id).where(a.c.post_id.in_(post_ids[start : start + 500]))
            found.update(str(row[0]) for row in conn.execute(stmt))
    return found


def texts_of(store: Store, post_ids: list[str]) -> dict[str, str]:
    """The text of each of these posts (only these: never the whole store)."""
    p = schema.posts
    found: dict[str, str] = {}
    with store.connect() as conn:
        for start in range(0, len(post_ids), 500):
            stmt = select(p.c.id, p.c.text).where(p.c.id.in_(post_ids[start : start + 500]))
            found.update((str(post_id), str(text)) for post_id, text in conn.execute(stmt))
    return found


def embedded_after(store: Store, model: str, after: str, limit: int) -> list[PostText]:
    """The next `limit` embedded posts by id after `after`: keyset paging over the whole store."""
    p, e = schema.posts, schema.embeddings
    stmt = (
        select(p.c.id, p.c.author_id, p.c.created_at_us, p.c.text)
        .select_from(e.join(p, p.c.id == e.c.post_id))
        .where(e.c.model == model, e.c.post_id > after)
        .order_by(e.c.post_id)
        .limit(limit)
    )
    with store.connect() as conn:
        return [PostText(*row) for row in conn.execute(stmt)]

"""Reading narratives back: one by name, an account's narratives in order and week by week, and
a narrative's carriers, reach and claims. Reads only; tracking and assignment are narratives.py."""

from __future__ import annotations

from collections import defaultdict

import msgspec
import numpy as np

from reachwatch.errors import NotFoundError
from reachwatch.store import narratives as reads
from reachwatch.store import networks as network_reads
from reachwatch.store import reach as reach_reads
from reachwatch.store.database import Store
from reachwatch.store.narratives import NarrativeRow

WEEK_US = 7 * 86_400_000_000


def find(store: Store, reference: str) -> NarrativeRow:
    wanted = reference.strip().lower()
    for row in reads.narratives(store):
        if wanted in (row.id, row.name.lower()):
            return row
    raise NotFoundError(f"No narrative {reference!r}: see `reachwatch narratives list`.")


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


def spread(store: Store, reference: str, *, with_claims: bool = True) -> Spread:
    """Who carried the narrative; `with_claims=False` skips grouping the claims (a read of every
    post's vector and a similarity matrix), for lists that show counts only."""
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
        claims=_claims(store, row, posts) if with_claims else [],
    )


class NarrativePost(msgspec.Struct, kw_only=True):
    """One post the narrative claimed: the posts table of the narrative page and its download."""

    post_id: str
    author_id: str
    created_at_us: int
    text: str
    similarity: float  # cosine to the nearest example
    engagements: int


def posts_of(store: Store, reference: str) -> list[NarrativePost]:
    """Every post the narrative claimed, oldest first, with its text."""
    row = find(store, reference)
    posts = reads.assigned_posts(store, narrative_id=row.id)
    texts = reads.texts_of(store, [post.post_id for post in posts])
    return [
        NarrativePost(
            post_id=post.post_id,
            author_id=post.author_id,
            created_at_us=post.created_at_us,
            text=texts.get(post.post_id, ""),
            similarity=round(post.similarity, 4),
            engagements=post.engagements,
        )
        for post in posts
    ]


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
    texts = reads.texts_of(store, ids)
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

"""Store reads behind a post's reach dossier. Aggregation happens in SQL (GROUP BY over the post's
clustered range of engagements), so a post with a million engagements returns a few hundred rows."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, Text, and_, case, cast, false, func, null, select, true, union_all

from reachwatch.store import schema
from reachwatch.store.database import Store
from reachwatch.store.queries import live_engagement

SPREAD_KINDS = ("repost", "quote", "reply")
AMPLIFY_KINDS = ("repost", "quote")
Ints = npt.NDArray[np.int64]


class PostHead(msgspec.Struct, kw_only=True):
    id: str
    platform: str
    author_id: str
    author_handle: str | None
    author_followers: int | None
    created_at_us: int
    text: str
    deleted_at_us: int | None
    last_engagement_us: int | None


class Buckets(msgspec.Struct, kw_only=True):
    """Engagement counts per (kind, time bucket); `through_others` counts those with a via link."""

    kinds: list[str]
    kind_codes: Ints
    buckets: Ints
    counts: Ints
    through_others: Ints
    totals: dict[str, int]  # live engagements per kind up to the end, first-seen times included


class AmplifierRow(msgspec.Struct, array_like=True):
    account_id: str
    handle: str | None
    followers: int | None


class SnapshotRow(msgspec.Struct, array_like=True):
    observed_at_us: int
    reposts: int | None
    quotes: int | None
    replies: int | None
    likes: int | None
    views: int | None


def _undeleted() -> tuple[Any, Any]:
    """(engagements left-joined to deletions, the condition that keeps live ones): SQLite runs
    this anti-join a third faster than NOT EXISTS over a million rows."""
    e, d = schema.engagements, schema.deletions
    return e.outerjoin(d, d.c.id == e.c.id), d.c.id.is_(None)


KINDS = ("repost", "quote", "reply", "like")
MINUTE_US = 60_000_000


def post_head(store: Store, post_id: str) -> PostHead | None:
    """The post with its author and its newest engagement, in one statement: the newest is one
    seek per kind (the key is post, kind, time), not a scan of all."""
    p, a, e = schema.posts, schema.accounts, schema.engagements
    newest = [
        select(func.max(e.c.created_at_us)).where(e.c.post_id == post_id, e.c.kind == kind).scalar_subquery()
        for kind in KINDS
    ]
    stmt = (
        select(
            p.c.id,
            p.c.platform,
            p.c.author_id,
            a.c.handle,
            a.c.followers,
            p.c.created_at_us,
            p.c.text,
            p.c.deleted_at_us,
            *newest,
        )
        .select_from(p.outerjoin(a, a.c.id == p.c.author_id))
        .where(p.c.id == post_id, p.c.created_at_us.is_not(None))
    )
    with store.connect() as conn:
        row = conn.execute(stmt).one_or_none()
    if row is None:
        return None
    known = [int(value) for value in row[8:] if value is not None]
    return PostHead(
        id=row[0], platform=row[1], author_id=row[2], author_handle=row[3], author_followers=row[4],
        created_at_us=row[5], text=row[6], deleted_at_us=row[7], last_engagement_us=max(known, default=None),
    )  # fmt: skip


def step_counts(store: Store, post_id: str, start_us: int, step_us: int, until_us: int) -> dict[str, Ints]:
    """Per kind and step after `start_us` (a whole minute; `step_us` whole minutes): (live
    engagements, of which time only first seen, of which via another engagement), up to and
    including `until_us`. Engagements stamped before the start (client clocks) count in the first
    step. Three statements whatever the post's size or age: the per-minute rollup for the whole
    minutes, the engagements of the minute `until_us` falls in, and the post's deleted engagements
    (subtracted: a deletion names no post, so the rollup still counts them)."""
    if start_us % MINUTE_US or step_us % MINUTE_US:
        raise ValueError("step_counts needs a grid of whole minutes")
    m, e, d = schema.engagement_minutes, schema.engagements, schema.deletions
    bins = max(1, -(-(until_us - start_us) // step_us))
    last_minute = until_us // MINUTE_US  # rollup rows before it are whole; the rest is read raw

    def step_of(at_us: Any) -> Any:
        last_start = start_us + (bins - 1) * step_us
        return case(
            (at_us < start_us, 0), (at_us >= last_start, bins - 1), else_=(at_us - start_us) // step_us
        )

    minute_step = step_of(m.c.minute * MINUTE_US).label("step")
    rolled = (
        select(m.c.kind, minute_step, func.sum(m.c.engagements), func.sum(m.c.observed), func.sum(m.c.via))
        .where(m.c.post_id == post_id, m.c.minute < last_minute)
        .group_by(m.c.kind, minute_step)
    )
    observed = func.coalesce(func.sum(case((e.c.time_observed == true(), 1), else_=0)), 0)
    joined, live = _undeleted()
    recent = (
        select(e.c.kind, func.count(), observed, func.count(e.c.via_id))
        .select_from(joined)
        .where(
            e.c.post_id == post_id, e.c.kind.in_(KINDS), e.c.created_at_us >= last_minute * MINUTE_US,
            e.c.created_at_us <= until_us, live,
        )
        .group_by(e.c.kind)
    )  # fmt: skip
    # Few rows; filtered here, not in SQL: a time condition would tempt the planner into the
    # store-wide time index instead of the post's own range.
    deleted = (
        select(e.c.kind, e.c.created_at_us, e.c.time_observed, e.c.via_id.is_not(None))
        .select_from(e.join(d, d.c.id == e.c.id))
        .where(e.c.post_id == post_id)
    )
    found = {kind: np.zeros((bins, 3), dtype=np.int64) for kind in KINDS}
    with store.connect() as conn:
        for kind, step, *values in conn.execute(rolled):
            if kind in found:
                found[kind][int(step)] += [int(value) for value in values]  # PostgreSQL sums are Decimal
        for kind, *values in conn.execute(recent):
            found[kind][bins - 1] += [int(value) for value in values]
        for kind, at, time_observed, via in conn.execute(deleted):
            if kind in found and at < last_minute * MINUTE_US:  # later ones were never counted
                step = min(max(at - start_us, 0) // step_us, bins - 1)
                found[kind][step] -= (1, int(bool(time_observed)), int(via))
    return found


def buckets_of(steps: dict[str, Ints]) -> Buckets:
    """The per-kind step counts as (kind, step, count) triples for the time series."""
    kinds = list(KINDS)
    found = np.stack([steps[kind] for kind in kinds])
    timed = found[:, :, 0] - found[:, :, 1]
    codes, buckets = np.nonzero(timed)
    return Buckets(
        kinds=kinds,
        kind_codes=codes.astype(np.int64),
        buckets=buckets.astype(np.int64),
        counts=timed[codes, buckets],
        through_others=found[codes, buckets, 2],
        totals={
            kind: int(found[code, :, 0].sum()) for code, kind in enumerate(kinds) if found[code, :, 0].any()
        },
    )


def snapshots(store: Store, post_id: str) -> list[SnapshotRow]:
    """Counts the platform reported over time (all sources), oldest first."""
    m = schema.metric_snapshots
    stmt = (
        select(m.c.observed_at_us, m.c.reposts, m.c.quotes, m.c.replies, m.c.likes, m.c.views)
        .where(m.c.post_id == post_id)
        .order_by(m.c.observed_at_us)
    )
    with store.connect() as conn:
        return [SnapshotRow(*row) for row in conn.execute(stmt)]


class Amplifiers(msgspec.Struct, kw_only=True):
    accounts: int  # distinct accounts with a live repost or quote of the post
    followers: int  # their followers, summed (unknown counts as 0)
    top: list[AmplifierRow]  # the ten with the most followers (more than none), most first


def amplifiers(store: Store, post_id: str) -> Amplifiers:
    """Every account that reposted or quoted the post (live), each once, counted and summed in
    SQL with the ten largest beside: one statement, eleven rows back however many amplifiers."""
    e, a = schema.engagements, schema.accounts
    joined, live = _undeleted()
    actors = (
        select(e.c.actor_id)
        .select_from(joined)
        .where(e.c.post_id == post_id, e.c.kind.in_(AMPLIFY_KINDS), live)
    )
    # Every actor has an account row (a stub at least), so none is lost by the IN.
    found = (
        select(a.c.id, a.c.handle, func.coalesce(a.c.followers, 0).label("followers"))
        .where(a.c.id.in_(actors))
        .cte("found")
    )
    total = select(
        cast(null(), Text).label("id"), cast(null(), Text).label("handle"), func.count().label("followers"),
        func.coalesce(func.sum(found.c.followers), 0).label("summed"),
    )  # fmt: skip
    top = (
        select(found.c.id, found.c.handle, found.c.followers, cast(null(), BigInteger).label("summed"))
        .order_by(found.c.followers.desc(), found.c.id)
        .limit(10)
        .subquery()
    )
    stmt = union_all(total.select_from(found), select(top))
    with store.connect() as conn:
        first, *rows = conn.execute(stmt).all()
    return Amplifiers(
        accounts=int(first[2]),
        followers=int(first[3]),
        top=[AmplifierRow(row[0], row[1], int(row[2])) for row in rows if row[2] > 0],
    )


def handles(store: Store, ids: list[str]) -> dict[str, str | None]:
    a = schema.accounts
    with store.connect() as conn:
        return {str(i): h for i, h in conn.execute(select(a.c.id, a.c.handle).where(a.c.id.in_(ids)))}


def via_links(store: Store, post_id: str) -> list[tuple[str, str]]:
    """The (engagement, engagement it came through) pairs among a post's live spread engagements.

    A `via` names the repost through which the actor saw this same post, so its target is a node
    of this cascade (still, if later deleted, a node it passed through)."""
    e = schema.engagements
    live = and_(
        e.c.post_id == post_id, e.c.kind.in_(SPREAD_KINDS), e.c.via_id.is_not(None), live_engagement()
    )
    with store.connect() as conn:
        # Straight from the driver's cursor: tens of thousands of pairs through Row objects
        # would cost more than the query.
        return list(conn.execute(select(e.c.id, e.c.via_id).where(live)).cursor.fetchall())


def finished_cascades(
    store: Store, min_engagements: int, finished_before_us: int
) -> list[tuple[str, str, str, int, list[tuple[str, int, str | None]]]]:
    """(post, platform, author, created, [(engagement, time, via)]) of posts whose spread
    engagements (with a known time) number at least `min_engagements` and ended before
    `finished_before_us`."""
    p, e = schema.posts, schema.engagements
    spread = and_(e.c.kind.in_(SPREAD_KINDS), e.c.time_observed == false(), live_engagement())
    candidates = (
        select(e.c.post_id, p.c.platform, p.c.author_id, p.c.created_at_us)
        .select_from(e.join(p, p.c.id == e.c.post_id))
        .where(spread, p.c.created_at_us.is_not(None))
        .group_by(e.c.post_id, p.c.platform, p.c.author_id, p.c.created_at_us)
        .having(and_(func.count() >= min_engagements, func.max(e.c.created_at_us) < finished_before_us))
    )
    found = []
    with store.connect() as conn:
        for post_id, platform, author, created in conn.execute(candidates).all():
            rows = conn.execute(
                select(e.c.id, e.c.created_at_us, e.c.via_id)
                .where(e.c.post_id == post_id, spread)
                .order_by(e.c.created_at_us)
            ).all()
            found.append(
                (
                    str(post_id),
                    str(platform),
                    str(author),
                    int(created),
                    [(str(r[0]), int(r[1]), r[2]) for r in rows],
                )
            )
    return found


def age_counts(
    store: Store, author_ids: list[str], since_us: int, until_us: int, ages_us: list[int]
) -> list[tuple[str, str, int, list[int], list[int], bool]]:
    """For every top-level post by these authors made in [since, until): (post, author, created,
    reposts + quotes per age bucket from events, the platform's largest reported reposts + quotes
    per age bucket (-1 for none), whether it has such events). Bucket k holds what happened before
    ages_us[k] and at or after ages_us[k-1]; the last one everything later. Grouped in SQL, so a
    post with a million engagements is a dozen rows."""
    p, e, m = schema.posts, schema.engagements, schema.metric_snapshots
    if not author_ids:
        return []
    last = len(ages_us)

    def bucket(at: Any) -> Any:
        return case(*[(at - p.c.created_at_us < age, k) for k, age in enumerate(ages_us)], else_=last)

    posts = select(p.c.id, p.c.author_id, p.c.created_at_us).where(
        p.c.author_id.in_(author_ids), p.c.created_at_us >= since_us, p.c.created_at_us < until_us,
        p.c.reply_to.is_(None), p.c.deleted_at_us.is_(None),
    )  # fmt: skip
    with store.connect() as conn:
        found = list(conn.execute(posts))
        events: dict[str, list[int]] = {}
        reported: dict[str, list[int]] = {}
        ids = [row[0] for row in found]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            where = bucket(e.c.created_at_us).label("bucket")
            counted = (
                select(e.c.post_id, where, func.count())
                .select_from(e.join(p, p.c.id == e.c.post_id))
                .where(
                    e.c.post_id.in_(chunk), e.c.kind.in_(AMPLIFY_KINDS), e.c.time_observed == false(),
                    live_engagement(),
                )
                .group_by(e.c.post_id, where)
            )  # fmt: skip
            for post_id, k, count in conn.execute(counted):
                events.setdefault(post_id, [0] * (last + 1))[int(k)] += int(count)
            at = bucket(m.c.observed_at_us).label("bucket")
            amplified = func.coalesce(m.c.reposts, 0) + func.coalesce(m.c.quotes, 0)
            snapped = (
                select(m.c.post_id, at, func.max(amplified))
                .select_from(m.join(p, p.c.id == m.c.post_id))
                .where(m.c.post_id.in_(chunk), (m.c.reposts.is_not(None)) | (m.c.quotes.is_not(None)))
                .group_by(m.c.post_id, at)
            )
            for post_id, k, value in conn.execute(snapped):
                reported.setdefault(post_id, [-1] * (last + 1))[int(k)] = int(value)
    none, unreported = [0] * (last + 1), [-1] * (last + 1)
    return [
        (
            post_id,
            author,
            created,
            events.get(post_id, none),
            reported.get(post_id, unreported),
            post_id in events,
        )
        for post_id, author, created in found
    ]


def latest_reported(store: Store, post_ids: list[str], until_us: int) -> dict[str, SnapshotRow]:
    """Each post's latest platform snapshot taken by `until_us`."""
    m = schema.metric_snapshots
    latest: dict[str, SnapshotRow] = {}
    with store.connect() as conn:
        for start in range(0, len(post_ids), 500):
            stmt = (
                select(
                    m.c.post_id,
                    m.c.observed_at_us,
                    m.c.reposts,
                    m.c.quotes,
                    m.c.replies,
                    m.c.likes,
                    m.c.views,
                )
                .where(m.c.post_id.in_(post_ids[start : start + 500]), m.c.observed_at_us <= until_us)
                .order_by(m.c.observed_at_us)
            )
            for row in conn.execute(stmt):
                latest[row[0]] = SnapshotRow(*row[1:])
    return latest

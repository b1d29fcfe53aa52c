"""Read queries over the store: counts, full-text search, top posts and amplifiers.

Full-text search uses SQLite FTS5 or PostgreSQL tsvector/GIN; everything else is one SQL path.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

import msgspec
from sqlalchemy import (
    Integer,
    and_,
    desc,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)

from reachwatch import query as query_language
from reachwatch.errors import UsageError
from reachwatch.store import schema
from reachwatch.store.database import Store

SearchOrder = Literal["newest", "relevance"]

# Relevance ranks the newest matches only: scoring every match of a word found in a million posts
# takes hundreds of milliseconds, and a monitoring team wants recent posts first anyway.
RELEVANCE_WINDOW = 5_000


class Stats(msgspec.Struct, kw_only=True):
    location: str
    backend: str
    schema_version: str | None
    raw_events: int
    accounts: int
    watched_accounts: int
    posts: int
    deleted_posts: int
    engagements: dict[str, int]
    follows: int
    metric_snapshots: int
    account_snapshots: int
    people: int
    quarantine_open: int
    quarantine_resolved: int
    first_post_us: int | None
    last_post_us: int | None
    cursors: dict[str, str]


class SearchHit(msgspec.Struct, kw_only=True):
    id: str
    author_id: str
    author_handle: str | None
    created_at_us: int | None
    text: str
    deleted: bool


class TopPost(msgspec.Struct, kw_only=True):
    id: str
    author_id: str
    author_handle: str | None
    created_at_us: int | None
    text: str
    reposts: int
    quotes: int
    replies: int
    likes: int

    @property
    def total(self) -> int:
        return self.reposts + self.quotes + self.replies + self.likes


class Amplifier(msgspec.Struct, kw_only=True):
    account_id: str
    handle: str | None
    followers: int | None
    reposts: int
    quotes: int
    first_at_us: int


def live_engagement(at_us: int | None = None) -> Any:
    """Engagements not deleted (by `at_us`, when given): no matching row in `deletions`."""
    d, e = schema.deletions, schema.engagements
    matches = d.c.id == e.c.id
    if at_us is not None:
        matches = and_(matches, d.c.deleted_at_us <= at_us)
    return ~exists().where(matches)


def _count(conn: Any, table: Any, *where: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def stats(store: Store) -> Stats:
    """Counts of everything in the store, for `reachwatch stats` and the demo summary."""
    p, e, a, q = schema.posts, schema.engagements, schema.accounts, schema.quarantine
    with store.connect() as conn:
        kinds: dict[str, int] = dict(
            conn.execute(select(e.c.kind, func.count()).where(live_engagement()).group_by(e.c.kind)).all()
        )
        first, last = conn.execute(select(func.min(p.c.created_at_us), func.max(p.c.created_at_us))).one()
        cursors = dict(conn.execute(select(schema.cursors.c.source, schema.cursors.c.value)).all())
        return Stats(
            location=store.location,
            backend=store.dialect,
            schema_version=store.schema_version(),
            raw_events=_count(conn, schema.raw_events),
            accounts=_count(conn, a),
            watched_accounts=_count(conn, a, a.c.watched.is_(True)),
            posts=_count(conn, p, p.c.created_at_us.is_not(None)),
            deleted_posts=_count(conn, p, p.c.deleted_at_us.is_not(None)),
            engagements={str(kind): int(n) for kind, n in kinds.items()},
            follows=_count(conn, schema.follows, schema.follows.c.deleted_at_us.is_(None)),
            metric_snapshots=_count(conn, schema.metric_snapshots),
            account_snapshots=_count(conn, schema.account_snapshots),
            people=_count(conn, schema.people),
            quarantine_open=_count(conn, q, q.c.status == "open"),
            quarantine_resolved=_count(conn, q, q.c.status == "resolved"),
            first_post_us=first,
            last_post_us=last,
            cursors=cursors,
        )


_BIND_NAMES = itertools.count()


class SearchFilters(msgspec.Struct, kw_only=True, frozen=True):
    platform: str | None = None
    author_id: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    lang: str | None = None  # the platform's tag or the detected language
    harm: str | None = None  # a harm class flagged, or "any"
    person: str | None = None  # a protected person named


def _json_has(store: Store, enricher: str, key: str, value: str | None) -> Any:
    """Posts whose `enricher` result holds `value` in its list `key` (any value when None)."""
    e, p = schema.enrichments, schema.posts
    if store.dialect == "sqlite":
        # Parameter names are unique: several such filters can sit in one statement (harm:a OR harm:b).
        name = f"{enricher}_value_{next(_BIND_NAMES)}"
        inside = f"EXISTS (SELECT 1 FROM json_each(enrichments.result, '$.{key}') AS item" + (
            f" WHERE item.value = :{name})" if value is not None else ")"
        )
        held: Any = text(inside).bindparams(**({name: value} if value is not None else {}))
    else:
        column = e.c.result[key]
        held = (
            column.op("?")(literal(value, schema.Text()))
            if value is not None
            else func.jsonb_array_length(column) > 0
        )
    return exists(select(1).where(e.c.post_id == p.c.id, e.c.enricher == enricher, held))


def _filter_conditions(store: Store, filters: SearchFilters) -> list[Any]:
    p, e = schema.posts, schema.enrichments
    found: list[Any] = []
    if filters.platform:
        found.append(p.c.platform == filters.platform)
    if filters.author_id:
        found.append(p.c.author_id == filters.author_id)
    if filters.since_us is not None:
        found.append(p.c.created_at_us >= filters.since_us)
    if filters.until_us is not None:
        found.append(p.c.created_at_us < filters.until_us)
    if filters.lang:
        wanted = filters.lang.lower()
        detected = exists(
            select(1).where(
                e.c.post_id == p.c.id, e.c.enricher == "language", e.c.result["lang"].as_string() == wanted
            )
        )
        found.append(or_(func.lower(p.c.lang) == wanted, func.lower(p.c.lang).like(wanted + "-%"), detected))
    if filters.harm:
        found.append(_json_has(store, "harm", "flagged", None if filters.harm == "any" else filters.harm))
    if filters.person:
        found.append(_json_has(store, "mentions", "people", filters.person))
    return found


def _fts_phrase(words: str) -> str:
    """A word or phrase as one quoted FTS5 string: operators in user text are words, never syntax."""
    return '"' + words.replace('"', " ") + '"'


def _text_condition(store: Store, words: str) -> Any:
    """Posts whose text holds the word or the phrase (its words in this order)."""
    if store.dialect == "sqlite":
        inside: Any = (
            select(literal_column("rowid"))
            .select_from(table("posts_fts"))
            .where(literal_column("posts_fts").op("MATCH")(_fts_phrase(words)))
        )
        return literal_column("posts.rowid").in_(inside)
    return literal_column("posts.search_vector").op("@@")(func.phraseto_tsquery("simple", words))


def _field_condition(store: Store, field: query_language.Field) -> Any:
    value = field.value
    if field.name == "from":
        return schema.posts.c.author_id == value
    if field.name in ("since", "until"):
        moment = int(value)
        created = schema.posts.c.created_at_us
        return created >= moment if field.name == "since" else created < moment
    if field.name == "person":
        with store.connect() as conn:
            known = conn.execute(select(schema.people.c.id).where(schema.people.c.id == value)).first()
        if known is None:
            raise UsageError(
                f"person:{value} is not in the registry of protected people: see `reachwatch people list`."
            )
    filters = {
        "lang": SearchFilters(lang=value), "harm": SearchFilters(harm=value),
        "person": SearchFilters(person=value), "platform": SearchFilters(platform=value),
    }[field.name]  # fmt: skip
    (condition,) = _filter_conditions(store, filters)
    return condition


def compile_query(store: Store, node: query_language.Node) -> Any:
    """A parsed, resolved query (reachwatch.query) as one SQL condition on posts."""
    if isinstance(node, query_language.Term):
        return _text_condition(store, node.text)
    if isinstance(node, query_language.Field):
        return _field_condition(store, node)
    if isinstance(node, query_language.Not):
        return ~compile_query(store, node.child)
    parts = [compile_query(store, child) for child in node.children]
    return and_(*parts) if isinstance(node, query_language.AllOf) else or_(*parts)


def search(
    store: Store,
    query: str | query_language.Node | None,
    *,
    limit: int = 20,
    offset: int = 0,
    order: SearchOrder = "newest",
    author_id: str | None = None,
    filters: SearchFilters | None = None,
) -> list[SearchHit]:
    """Posts matching the query (reachwatch.query: words, phrases, AND/OR/NOT, fields; text is
    parsed with field values taken as given) and the filters: newest first, or the best matches
    among the newest RELEVANCE_WINDOW matches."""
    filters = filters or SearchFilters()
    tree = query_language.parse(query) if isinstance(query, str) else query
    if isinstance(query, str) and tree is not None:
        tree = query_language.resolve(tree, lambda given: given, frozenset(platforms_stored(store)))
    if author_id is not None:
        filters = msgspec.structs.replace(filters, author_id=author_id)
    if tree is None and filters == SearchFilters():
        raise UsageError("The search is empty: give at least one word to look for, or a filter.")
    p, a = schema.posts, schema.accounts
    conditions = _filter_conditions(store, filters) + (
        [compile_query(store, tree)] if tree is not None else []
    )
    columns = (p.c.id, p.c.author_id, a.c.handle, p.c.created_at_us, p.c.text, p.c.deleted_at_us)
    ranked = query_language.terms(tree)
    stmt: Any
    if order == "relevance" and ranked:
        if store.dialect == "sqlite":
            window = (
                select(p.c.id.label("match_id"), literal_column("posts.rowid").label("match_rowid"))
                .where(*conditions)
                .order_by(desc(p.c.created_at_us))  # the newest by the posts' time, not by rowid
                .limit(RELEVANCE_WINDOW)
                .subquery()
            )
            either = " OR ".join(_fts_phrase(words) for words in ranked)
            ranks = (
                select(literal_column("rowid").label("rank_rowid"), literal_column("rank").label("rank"))
                .select_from(table("posts_fts"))
                .where(literal_column("posts_fts").op("MATCH")(either))
                .subquery()
            )
            source: Any = window.join(p, p.c.id == window.c.match_id).outerjoin(
                ranks, ranks.c.rank_rowid == window.c.match_rowid
            )
            ordering: list[Any] = [ranks.c.rank.asc().nulls_last(), desc(p.c.created_at_us)]
        else:
            vector: Any = literal_column("posts.search_vector")
            either_query: Any = func.phraseto_tsquery("simple", ranked[0])
            for words in ranked[1:]:
                either_query = either_query.op("||")(func.phraseto_tsquery("simple", words))
            window = (
                select(p.c.id.label("match_id"), func.ts_rank(vector, either_query).label("rank"))
                .where(*conditions)
                .order_by(desc(p.c.created_at_us))
                .limit(RELEVANCE_WINDOW)
                .subquery()
            )
            source = window.join(p, p.c.id == window.c.match_id)
            ordering = [desc(window.c.rank), desc(p.c.created_at_us)]
        stmt = select(*columns).select_from(source.outerjoin(a, a.c.id == p.c.author_id))
    else:
        stmt = select(*columns).select_from(p.outerjoin(a, a.c.id == p.c.author_id)).where(*conditions)
        ordering = [desc(p.c.created_at_us)]  # rows go in in id order (random on Bluesky): the posts' time
    stmt = stmt.order_by(*ordering).limit(limit).offset(offset)
    with store.connect() as conn:
        rows = conn.execute(stmt).all()
    return [
        SearchHit(
            id=row.id,
            author_id=row.author_id,
            author_handle=row.handle,
            created_at_us=row.created_at_us,
            text=row.text,
            deleted=row.deleted_at_us is not None,
        )
        for row in rows
    ]


def matching(store: Store, tree: query_language.Node, post_ids: list[str]) -> set[str]:
    """The posts among `post_ids` that the (resolved) query matches."""
    p = schema.posts
    found: set[str] = set()
    condition = compile_query(store, tree)
    with store.connect() as conn:
        for start in range(0, len(post_ids), 500):
            chunk = post_ids[start : start + 500]
            found.update(conn.execute(select(p.c.id).where(p.c.id.in_(chunk), condition)).scalars())
    return found


def platforms_stored(store: Store) -> list[str]:
    """The platforms of the posts in the store."""
    with store.connect() as conn:
        return [str(name) for (name,) in conn.execute(select(schema.posts.c.platform).distinct())]


def _engagement_counts() -> Any:
    e = schema.engagements
    live = live_engagement()

    def kind_count(kind: str) -> Any:
        return func.sum(func.cast(and_(e.c.kind == kind, live), Integer))

    return (
        select(
            e.c.post_id,
            func.coalesce(kind_count("repost"), 0).label("reposts"),
            func.coalesce(kind_count("quote"), 0).label("quotes"),
            func.coalesce(kind_count("reply"), 0).label("replies"),
            func.coalesce(kind_count("like"), 0).label("likes"),
            func.count().label("total"),
        )
        .where(e.c.post_id.is_not(None))
        .group_by(e.c.post_id)
    )


def top_posts(store: Store, *, limit: int = 10, author_id: str | None = None) -> list[TopPost]:
    """Posts with the most engagements seen (reposts + quotes + replies + likes)."""
    p, a = schema.posts, schema.accounts
    counts = _engagement_counts().subquery()
    stmt = (
        select(p.c.id, p.c.author_id, a.c.handle, p.c.created_at_us, p.c.text, counts)
        .join(counts, counts.c.post_id == p.c.id)
        .outerjoin(a, a.c.id == p.c.author_id)
        .order_by(desc(counts.c.total))
        .limit(limit)
    )
    if author_id is not None:
        stmt = stmt.where(p.c.author_id == author_id)
    with store.connect() as conn:
        rows = conn.execute(stmt).all()
    return [
        TopPost(
            id=row.id,
            author_id=row.author_id,
            author_handle=row.handle,
            created_at_us=row.created_at_us,
            text=row.text,
            reposts=int(row.reposts),
            quotes=int(row.quotes),
            replies=int(row.replies),
            likes=int(row.likes),
        )
        for row in rows
    ]


def top_amplifiers(store: Store, *, post_id: str | None = None, limit: int = 10) -> list[Amplifier]:
    """Accounts that reposted or quoted most (of one post, or of everything), largest audience first."""
    e, a = schema.engagements, schema.accounts
    amplifying = and_(e.c.kind.in_(("repost", "quote")), live_engagement())
    if post_id is not None:
        amplifying = and_(amplifying, e.c.post_id == post_id)
    per_actor = (
        select(
            e.c.actor_id,
            func.sum(func.cast(e.c.kind == "repost", Integer)).label("reposts"),
            func.sum(func.cast(e.c.kind == "quote", Integer)).label("quotes"),
            func.min(e.c.created_at_us).label("first_at_us"),
        )
        .where(amplifying)
        .group_by(e.c.actor_id)
        .subquery()
    )
    stmt = (
        select(per_actor, a.c.handle, a.c.followers)
        .outerjoin(a, a.c.id == per_actor.c.actor_id)
        .order_by(desc(func.coalesce(a.c.followers, 0)), per_actor.c.first_at_us)
        .limit(limit)
    )
    with store.connect() as conn:
        rows = conn.execute(stmt).all()
    return [
        Amplifier(
            account_id=row.actor_id,
            handle=row.handle,
            followers=row.followers,
            reposts=int(row.reposts),
            quotes=int(row.quotes),
            first_at_us=int(row.first_at_us or 0),
        )
        for row in rows
    ]


class PostCounts(msgspec.Struct, kw_only=True):
    observed_at_us: int | None = None
    reposts: int = 0
    quotes: int = 0
    replies: int = 0
    likes: int = 0

    def by_kind(self) -> dict[str, int]:
        return {"repost": self.reposts, "quote": self.quotes, "reply": self.replies, "like": self.likes}


def post_counts(store: Store, post_id: str, at_us: int | None = None) -> PostCounts:
    """Engagements of one post counted from the events: live now, or live at `at_us`."""
    e = schema.engagements
    stmt = select(e.c.kind, func.count()).where(e.c.post_id == post_id).group_by(e.c.kind)
    if at_us is None:
        stmt = stmt.where(live_engagement())
    else:
        stmt = stmt.where(e.c.created_at_us <= at_us, live_engagement(at_us))
    with store.connect() as conn:
        kinds = {str(kind): int(n) for kind, n in conn.execute(stmt).all()}
    return PostCounts(
        reposts=kinds.get("repost", 0),
        quotes=kinds.get("quote", 0),
        replies=kinds.get("reply", 0),
        likes=kinds.get("like", 0),
    )


def latest_snapshot(store: Store, post_id: str) -> PostCounts | None:
    """The newest counts a platform reported for a post."""
    m = schema.metric_snapshots
    stmt = select(m).where(m.c.post_id == post_id).order_by(desc(m.c.observed_at_us)).limit(1)
    with store.connect() as conn:
        row = conn.execute(stmt).one_or_none()
    if row is None:
        return None
    return PostCounts(
        observed_at_us=row.observed_at_us,
        reposts=row.reposts or 0,
        quotes=row.quotes or 0,
        replies=row.replies or 0,
        likes=row.likes or 0,
    )


def deleted_post_ids(store: Store, ids: list[str]) -> set[str]:
    """Which of `ids` are marked deleted."""
    p = schema.posts
    with store.connect() as conn:
        found = conn.execute(select(p.c.id).where(p.c.id.in_(ids), p.c.deleted_at_us.is_not(None))).scalars()
        return set(found)


class AccountRow(msgspec.Struct, kw_only=True):
    id: str
    platform: str
    handle: str | None
    display_name: str | None
    followers: int | None
    watched: bool


def account(store: Store, account_id: str) -> AccountRow | None:
    a = schema.accounts
    stmt = select(a.c.id, a.c.platform, a.c.handle, a.c.display_name, a.c.followers, a.c.watched).where(
        a.c.id == account_id
    )
    with store.connect() as conn:
        row = conn.execute(stmt).one_or_none()
    if row is None:
        return None
    return AccountRow(
        id=row[0], platform=row[1], handle=row[2], display_name=row[3], followers=row[4], watched=bool(row[5])
    )


def posts_per_day(store: Store, author_id: str) -> list[tuple[int, int]]:
    """(day start in µs, posts that day) for an author, oldest first."""
    p = schema.posts
    day = 86_400_000_000
    bucket = (p.c.created_at_us - p.c.created_at_us % day).label("day")
    stmt = (
        select(bucket, func.count())
        .where(p.c.author_id == author_id, p.c.created_at_us.is_not(None))
        .group_by(bucket)
        .order_by(bucket)
    )
    with store.connect() as conn:
        return [(int(row[0]), int(row[1])) for row in conn.execute(stmt)]


def post_ids_by(store: Store, author_id: str) -> set[str]:
    """Every stored post of one author (deleted ones included: a case may be about them)."""
    p = schema.posts
    with store.connect() as conn:
        return set(conn.execute(select(p.c.id).where(p.c.author_id == author_id)).scalars())


def post_ids_since(store: Store, since_us: int) -> list[str]:
    """Every stored post created since `since_us`, oldest first."""
    p = schema.posts
    with store.connect() as conn:
        query = select(p.c.id).where(p.c.created_at_us >= since_us).order_by(p.c.created_at_us)
        return list(conn.execute(query).scalars())

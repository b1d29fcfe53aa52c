"""Store reads behind spillover: the posts that target a protected person in a time window (named
in the text, or replying to / quoting one of the person's posts), whether each was flagged as
harmful, and the accounts that engaged with a post."""

from __future__ import annotations

import msgspec
from sqlalchemy import Text, and_, cast, func, or_, select

from reachwatch.model import HarmResult
from reachwatch.store import schema
from reachwatch.store.database import Store


class TargetingPost(msgspec.Struct, kw_only=True):
    post_id: str
    author_id: str
    created_at_us: int
    how: list[str]  # named | reply | quote: why it counts as targeting the person
    harmful: list[str] = msgspec.field(default_factory=list)  # harm classes flagged
    # Harmful and aimed at this person: it names them (or replies to / quotes them) and the
    # abuse targets an individual (the harm model's target head).
    aimed: bool = False


def person_account_ids(store: Store, handles: dict[str, list[str]]) -> set[str]:
    """The person's accounts: handles looked up among known accounts (case-insensitive), and
    handles that are already stable ids (a DID, a numeric X id) taken as they are."""
    a = schema.accounts
    found: set[str] = set()
    with store.connect() as conn:
        for platform, names in handles.items():
            bare = [name.lstrip("@").lower() for name in names]
            found.update(f"{platform}:{name}" for name in bare if name.startswith("did:") or name.isdigit())
            if bare:
                stmt = select(a.c.id).where(a.c.platform == platform, func.lower(a.c.handle).in_(bare))
                found.update(str(row[0]) for row in conn.execute(stmt))
    return found


def targeting_posts(
    store: Store, person_id: str, accounts: set[str], since_us: int, until_us: int
) -> list[TargetingPost]:
    """Posts in [since, until) that name the person, reply to or quote them, with harm flags;
    the person's own posts are left out."""
    return targeting_posts_of(store, {person_id: accounts}, since_us, until_us)[person_id]


def quoting(person_id: str) -> str:
    """A LIKE pattern matching a JSON text that holds the person's id as a string."""
    quoted = msgspec.json.encode(person_id).decode()
    return "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def targeting_posts_of(
    store: Store, people: dict[str, set[str]], since_us: int, until_us: int
) -> dict[str, list[TargetingPost]]:
    """`targeting_posts` for several people (id -> their accounts) in one pass: three reads
    whatever their number, each person's posts in time order."""
    p, e = schema.posts, schema.enrichments
    found: dict[str, dict[str, TargetingPost]] = {person: {} for person in people}
    if not people:
        return {}
    in_window = and_(p.c.created_at_us >= since_us, p.c.created_at_us < until_us)
    # The text of the result narrows the rows to those quoting one of the ids (most posts name
    # nobody); the decoded list decides.
    text = cast(e.c.result, Text)
    named = (
        select(p.c.id, p.c.author_id, p.c.created_at_us, e.c.result)
        .select_from(e.join(p, p.c.id == e.c.post_id))
        .where(
            e.c.enricher == "mentions",
            in_window,
            or_(*(text.like(quoting(person), escape="\\") for person in people)),
        )
    )
    owners: dict[str, list[str]] = {}
    for person, accounts in people.items():
        for account in accounts:
            owners.setdefault(account, []).append(person)
    with store.connect() as conn:
        for post_id, author, at_us, result in conn.execute(named):
            for person in (result or {}).get("people", []):
                if person in found and author not in people[person]:
                    found[person][post_id] = TargetingPost(
                        post_id=post_id, author_id=author, created_at_us=at_us, how=["named"]
                    )
        if owners:
            parent = p.alias("parent")
            for how, column in (("reply", p.c.reply_to), ("quote", p.c.quote_of)):
                stmt = (
                    select(p.c.id, p.c.author_id, p.c.created_at_us, parent.c.author_id)
                    .select_from(p.join(parent, parent.c.id == column))
                    .where(parent.c.author_id.in_(list(owners)), in_window)
                )
                for post_id, author, at_us, parent_author in conn.execute(stmt):
                    for person in owners[parent_author]:
                        if author in people[person]:
                            continue
                        entry = found[person].setdefault(
                            post_id,
                            TargetingPost(post_id=post_id, author_id=author, created_at_us=at_us, how=[]),
                        )
                        entry.how.append(how)
        ids = sorted({post_id for posts in found.values() for post_id in posts})
        harm: dict[str, HarmResult] = {}
        for start in range(0, len(ids), 500):
            stmt = select(e.c.post_id, e.c.result).where(
                e.c.enricher == "harm", e.c.post_id.in_(ids[start : start + 500])
            )
            for post_id, result in conn.execute(stmt):
                harm[post_id] = msgspec.convert(result or {}, HarmResult)
    for person, posts in found.items():
        for post_id, entry in posts.items():
            result = harm.get(post_id)
            if result is None:
                continue
            entry.harmful = list(result.flagged)
            entry.aimed = bool(entry.harmful) and (
                person in result.aimed_at
                or (result.target == "individual" and bool({"reply", "quote"} & set(entry.how)))
            )
    return {
        person: sorted(posts.values(), key=lambda post: post.created_at_us) for person, posts in found.items()
    }


def engaged_accounts(store: Store, post_id: str) -> set[str]:
    """Every account that reposted, quoted, replied to or liked the post (deleted actions too:
    an engager who later undid a like still saw the post)."""
    e = schema.engagements
    with store.connect() as conn:
        return {
            str(row[0]) for row in conn.execute(select(e.c.actor_id).distinct().where(e.c.post_id == post_id))
        }


def newest_post_us(store: Store) -> int | None:
    """When the store's newest post was written: the end of what has been observed."""
    with store.connect() as conn:
        value = conn.execute(select(func.max(schema.posts.c.created_at_us))).scalar()
    return None if value is None else int(value)

"""Store reads behind spillover: the posts that target a protected person in a time window (named
in the text, or replying to / quoting one of the person's posts), whether each was flagged as
harmful, and the accounts that engaged with a post."""

from __future__ import annotations

import msgspec
from sqlalchemy import Text, and_, cast, func, select

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
    p, e = schema.posts, schema.enrichments
    found: dict[str, TargetingPost] = {}
    in_window = and_(p.c.created_at_us >= since_us, p.c.created_at_us < until_us)
    # The text of the result narrows the rows to those quoting the person's id (most posts name
    # nobody); the decoded list decides.
    quoted = msgspec.json.encode(person_id).decode()
    pattern = "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    named = (
        select(p.c.id, p.c.author_id, p.c.created_at_us, e.c.result)
        .select_from(e.join(p, p.c.id == e.c.post_id))
        .where(e.c.enricher == "mentions", in_window, cast(e.c.result, Text).like(pattern, escape="\\"))
    )
    with store.connect() as conn:
        for post_id, author, at_us, result in conn.execute(named):
            if person_id in (result or {}).get("people", []) and author not in accounts:
                found[post_id] = TargetingPost(
                    post_id=post_id, author_id=author, created_at_us=at_us, how=["named"]
                )
        if accounts:
            parent = p.alias("parent")
            for how, column in (("reply", p.c.reply_to), ("quote", p.c.quote_of)):
                stmt = (
                    select(p.c.id, p.c.author_id, p.c.created_at_us)
                    .select_from(p.join(parent, parent.c.id == column))
                    .where(parent.c.author_id.in_(accounts), p.c.author_id.not_in(accounts), in_window)
                )
                for post_id, author, at_us in conn.execute(stmt):
                    entry = found.setdefault(
                        post_id, TargetingPost(post_id=post_id, author_id=author, created_at_us=at_us, how=[])
                    )
                    entry.how.append(how)
        ids = list(found)
        for start in range(0, len(ids), 500):
            stmt = select(e.c.post_id, e.c.result).where(
                e.c.enricher == "harm", e.c.post_id.in_(ids[start : start + 500])
            )
            for row in conn.execute(stmt):
                entry, result = found[row.post_id], msgspec.convert(row.result or {}, HarmResult)
                entry.harmful = list(result.flagged)
                entry.aimed = bool(entry.harmful) and (
                    person_id in result.aimed_at
                    or (result.target == "individual" and bool({"reply", "quote"} & set(entry.how)))
                )
    return sorted(found.values(), key=lambda post: post.created_at_us)


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

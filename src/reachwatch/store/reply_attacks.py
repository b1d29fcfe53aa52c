"""Store reads behind reply-attack detection: the posts that can be targets (by a watched account,
by a protected person, naming one) in a time range, and the live replies and quotes they drew."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Text, and_, cast, or_, select, true

from reachwatch.store import schema
from reachwatch.store.database import Store
from reachwatch.store.spillover import quoting

CHUNK = 500


class Target(msgspec.Struct, kw_only=True):
    post_id: str
    author_id: str
    created_at_us: int
    why: list[str]  # "watched account", "by <person id>", "names <person id>"


class Reply(msgspec.Struct, array_like=True):
    id: str
    author_id: str
    target: str  # the post replied to or quoted
    kind: str  # reply | quote
    created_at_us: int
    text: str


def targets(store: Store, since_us: int, until_us: int, people: dict[str, set[str]]) -> dict[str, Target]:
    """Live posts in [since, until) by a watched account or by one of `people`'s accounts (person
    id → account ids), or naming one of `people` (the mentions enricher), with why each counts."""
    p, a, e = schema.posts, schema.accounts, schema.enrichments
    live = and_(p.c.created_at_us >= since_us, p.c.created_at_us < until_us, p.c.deleted_at_us.is_(None))
    found: dict[str, Target] = {}

    def add(post_id: str, author: str, at_us: int, why: str) -> None:
        entry = found.setdefault(
            post_id, Target(post_id=post_id, author_id=author, created_at_us=at_us, why=[])
        )
        if why not in entry.why:
            entry.why.append(why)

    owners = {account: person for person, accounts in people.items() for account in accounts}
    watched: Any = (
        select(p.c.id, p.c.author_id, p.c.created_at_us)
        .select_from(p.join(a, a.c.id == p.c.author_id))
        .where(live, a.c.watched == true())
    )
    with store.connect() as conn:
        for post_id, author, at_us in conn.execute(watched):
            add(post_id, author, at_us, "watched account")
        accounts = list(owners)
        for start in range(0, len(accounts), CHUNK):
            stmt = select(p.c.id, p.c.author_id, p.c.created_at_us).where(
                live, p.c.author_id.in_(accounts[start : start + CHUNK])
            )
            for post_id, author, at_us in conn.execute(stmt):
                add(post_id, author, at_us, f"by {owners[author]}")
        if people:
            # As spillover reads them: the result's text narrows the rows to those quoting one of the ids
            # (most posts name nobody); the decoded list decides.
            named: Any = (
                select(p.c.id, p.c.author_id, p.c.created_at_us, e.c.result)
                .select_from(e.join(p, p.c.id == e.c.post_id))
                .where(
                    live,
                    e.c.enricher == "mentions",
                    or_(*(cast(e.c.result, Text).like(quoting(person), escape="\\") for person in people)),
                )
            )
            for post_id, author, at_us, result in conn.execute(named):
                for person in (result or {}).get("people", []):
                    if person in people:
                        add(post_id, author, at_us, f"names {person}")
    return found


def replies(store: Store, target_ids: list[str], until_us: int) -> list[Reply]:
    """Live replies and quotes of `target_ids` made before `until_us`, oldest first."""
    p = schema.posts
    found: list[Reply] = []
    with store.connect() as conn:
        for start in range(0, len(target_ids), CHUNK):
            chunk = target_ids[start : start + CHUNK]
            stmt = select(
                p.c.id, p.c.author_id, p.c.reply_to, p.c.quote_of, p.c.created_at_us, p.c.text
            ).where(
                or_(p.c.reply_to.in_(chunk), p.c.quote_of.in_(chunk)),
                p.c.deleted_at_us.is_(None),
                p.c.created_at_us < until_us,
            )
            wanted = set(chunk)
            for ident, author, reply_to, quote_of, at_us, text in conn.execute(stmt):
                if reply_to in wanted:
                    found.append(Reply(ident, author, reply_to, "reply", at_us, text or ""))
                elif quote_of in wanted:
                    found.append(Reply(ident, author, quote_of, "quote", at_us, text or ""))
    found.sort(key=lambda reply: (reply.created_at_us, reply.id))
    return found

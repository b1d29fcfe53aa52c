"""Store reads behind automation-likeness: every timed action of the accounts asked about, and
their profiles."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import case, false, select

from reachwatch.store import schema
from reachwatch.store.database import Store


class Actions(msgspec.Struct, kw_only=True):
    accounts: list[str]
    times_us: list[int]
    kinds: list[str]


def actions(store: Store, since_us: int, until_us: int, account_ids: list[str] | None = None) -> Actions:
    """Posts (as post, reply or quote) and engagements with a known time in [since, until);
    engagements whose time was only observed, not given, are left out (their gaps mean nothing)."""
    p, e = schema.posts, schema.engagements
    post_kind = case((p.c.reply_to.is_not(None), "reply"), (p.c.quote_of.is_not(None), "quote"), else_="post")
    posts: Any = select(p.c.author_id, p.c.created_at_us, post_kind).where(
        p.c.created_at_us >= since_us, p.c.created_at_us < until_us
    )
    engaged: Any = select(e.c.actor_id, e.c.created_at_us, e.c.kind).where(
        e.c.created_at_us >= since_us,
        e.c.created_at_us < until_us,
        e.c.time_observed == false(),
        e.c.kind.in_(["repost", "like"]),  # replies and quotes are already posts
    )
    if account_ids is not None:
        posts = posts.where(p.c.author_id.in_(account_ids))
        engaged = engaged.where(e.c.actor_id.in_(account_ids))
    accounts: list[str] = []
    times: list[int] = []
    kinds: list[str] = []
    with store.connect() as conn:
        for stmt in (posts, engaged):
            for account, at, kind in conn.execute(stmt).cursor.fetchall():
                accounts.append(account)
                times.append(at)
                kinds.append(kind)
    return Actions(accounts=accounts, times_us=times, kinds=kinds)


class ProfileRow(msgspec.Struct, kw_only=True):
    handle: str | None
    display_name: str | None
    description: str | None
    created_at_us: int | None
    followers: int | None
    following: int | None


def profiles(store: Store, ids: list[str]) -> dict[str, ProfileRow]:
    a = schema.accounts
    found: dict[str, ProfileRow] = {}
    with store.connect() as conn:
        for start in range(0, len(ids), 500):
            stmt = select(
                a.c.id, a.c.handle, a.c.display_name, a.c.description, a.c.created_at_us, a.c.followers,
                a.c.following,
            ).where(a.c.id.in_(ids[start : start + 500]))  # fmt: skip
            for ident, handle, name, description, created, followers, following in conn.execute(stmt):
                found[ident] = ProfileRow(
                    handle=handle, display_name=name, description=description, created_at_us=created,
                    followers=followers, following=following,
                )  # fmt: skip
    return found

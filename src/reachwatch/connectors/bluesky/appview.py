"""Bluesky AppView XRPC responses (postView, profileViewDetailed) into canonical records; no I/O.

The AppView is where counts live (the firehose has none): a captured getPosts response becomes
metric snapshots, a getProfiles response follower snapshots. Field facts: PLATFORMS.md §1.5.
"""

from __future__ import annotations

from typing import Any

import msgspec

from reachwatch.connectors.bluesky.jetstream import (
    PLATFORM,
    PostRecord,
    account_id,
    parse_time,
    post_records,
)
from reachwatch.errors import PayloadError
from reachwatch.model import Account, AccountSnapshot, CanonicalRecord, Count, MetricSnapshot


class ProfileView(msgspec.Struct, rename="camel"):
    did: str
    handle: str | None = None
    display_name: str | None = None
    description: str | None = None
    followers_count: Count | None = None
    follows_count: Count | None = None
    posts_count: Count | None = None
    created_at: str | None = None


class PostView(msgspec.Struct, rename="camel"):
    uri: str
    author: ProfileView
    record: PostRecord
    indexed_at: str | None = None
    reply_count: Count | None = None
    repost_count: Count | None = None
    like_count: Count | None = None
    quote_count: Count | None = None


class PostsResponse(msgspec.Struct):
    posts: list[PostView]


class ProfilesResponse(msgspec.Struct):
    profiles: list[ProfileView]


RESPONSES: dict[str, type[msgspec.Struct]] = {
    "app.bsky.feed.getPosts": PostsResponse,
    "app.bsky.actor.getProfiles": ProfilesResponse,
}


def _profile_records(profile: ProfileView, observed_us: int, source: str) -> list[CanonicalRecord]:
    ident = account_id(profile.did)
    created = parse_time(profile.created_at, observed_us) if profile.created_at else None
    records: list[CanonicalRecord] = [
        Account(
            id=ident,
            platform=PLATFORM,
            handle=profile.handle,
            display_name=profile.display_name,
            description=profile.description,
            created_at_us=created,
            followers=profile.followers_count,
            following=profile.follows_count,
            posts_count=profile.posts_count,
        )
    ]
    if profile.followers_count is not None:
        records.append(
            AccountSnapshot(
                account_id=ident,
                observed_at_us=observed_us,
                followers=profile.followers_count,
                following=profile.follows_count,
                posts_count=profile.posts_count,
                source=source,
            )
        )
    return records


def normalise_response(nsid: str, body: Any, observed_us: int) -> list[CanonicalRecord]:
    """Canonical records of one decoded XRPC response body observed at `observed_us`."""
    response_type = RESPONSES.get(nsid)
    if response_type is None:
        raise PayloadError("unknown-kind", f"no normaliser for the XRPC response {nsid[:100]!r}")
    try:
        response = msgspec.convert(body, response_type)
    except msgspec.ValidationError as exc:
        raise PayloadError("wrong-type", f"{nsid} response: {exc}") from exc
    source = f"bluesky.appview:{nsid}"
    records: list[CanonicalRecord] = []
    if isinstance(response, ProfilesResponse):
        for profile in response.profiles:
            records.extend(_profile_records(profile, observed_us, source))
        return records
    assert isinstance(response, PostsResponse)
    for view in response.posts:
        if not view.uri.startswith(f"at://{view.author.did}/app.bsky.feed.post/"):
            raise PayloadError("bad-reference", f"post {view.uri[:200]!r} is not by {view.author.did[:100]}")
        seen_us = parse_time(view.indexed_at, observed_us)
        records.append(
            Account(
                id=account_id(view.author.did),
                platform=PLATFORM,
                handle=view.author.handle,
                display_name=view.author.display_name,
            )
        )
        records.extend(post_records(view.author.did, seen_us, view.uri, view.record))
        records.append(
            MetricSnapshot(
                post_id=f"{PLATFORM}:{view.uri}",
                observed_at_us=observed_us,
                reposts=view.repost_count,
                quotes=view.quote_count,
                replies=view.reply_count,
                likes=view.like_count,
                source=source,
            )
        )
    return records

"""Bluesky AppView XRPC responses into canonical records; no I/O.

The AppView is where counts live (the firehose has none): every postView becomes a metric
snapshot, every profileViewDetailed a follower snapshot. Author feeds, threads, reposted-by,
likes and quotes also give engagements. Field facts: PLATFORMS.md §1.5.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from reachwatch.connectors.bluesky.jetstream import (
    PLATFORM,
    PostRecord,
    account_id,
    parse_time,
    post_records,
    record_id,
)
from reachwatch.errors import PayloadError
from reachwatch.model import (
    Account,
    CanonicalRecord,
    Count,
    Engagement,
    EngagementKind,
    MetricSnapshot,
    with_snapshot,
)


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


class ReasonView(msgspec.Struct, rename="camel"):
    type: str = msgspec.field(default="", name="$type")
    by: ProfileView | None = None
    uri: str | None = None
    indexed_at: str | None = None


class FeedViewPost(msgspec.Struct):
    post: PostView
    reason: ReasonView | None = None


class PostsResponse(msgspec.Struct):
    posts: list[PostView]


class ProfilesResponse(msgspec.Struct):
    profiles: list[ProfileView]


class FeedResponse(msgspec.Struct):
    feed: list[FeedViewPost]
    cursor: str | None = None


class ThreadResponse(msgspec.Struct):
    thread: dict[str, Any]


class RepostedByResponse(msgspec.Struct, rename="camel"):
    uri: str
    reposted_by: list[ProfileView]
    cursor: str | None = None


class LikeView(msgspec.Struct, rename="camel"):
    actor: ProfileView
    created_at: str | None = None
    indexed_at: str | None = None


class LikesResponse(msgspec.Struct):
    uri: str
    likes: list[LikeView]
    cursor: str | None = None


class QuotesResponse(msgspec.Struct):
    uri: str
    posts: list[PostView]
    cursor: str | None = None


class FollowersResponse(msgspec.Struct):
    subject: ProfileView
    followers: list[ProfileView]
    cursor: str | None = None


class FollowsResponse(msgspec.Struct):
    subject: ProfileView
    follows: list[ProfileView]
    cursor: str | None = None


def _profile_records(profile: ProfileView, observed_us: int, source: str) -> list[CanonicalRecord]:
    ident = account_id(profile.did)
    created = parse_time(profile.created_at, observed_us) if profile.created_at else None
    account = Account(
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
    return with_snapshot(account, observed_us, source)


def _post_view_records(view: PostView, observed_us: int, source: str) -> list[CanonicalRecord]:
    if not view.uri.startswith(f"at://{view.author.did}/app.bsky.feed.post/"):
        raise PayloadError("bad-reference", f"post {view.uri[:200]!r} is not by {view.author.did[:100]}")
    seen_us = parse_time(view.indexed_at, observed_us)
    records: list[CanonicalRecord] = [
        Account(
            id=account_id(view.author.did),
            platform=PLATFORM,
            handle=view.author.handle,
            display_name=view.author.display_name,
        )
    ]
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


def backfill_engagement_id(kind: EngagementKind, actor_did: str, post_uri: str) -> str:
    """The id of an engagement the AppView reports without its record (reposted-by, likes).

    Bluesky allows one like and one repost per account and post, so the triple identifies it;
    the same engagement seen live on Jetstream carries its record URI instead.
    """
    return f"{PLATFORM}:appview/{kind.value}/{actor_did}/{post_uri}"


def _thread_records(
    node: dict[str, Any], observed_us: int, source: str, depth: int = 0
) -> list[CanonicalRecord]:
    """Records of a threadViewPost and its parents and replies (notFound/blocked nodes are skipped)."""
    if depth > 200 or not str(node.get("$type", "")).endswith("#threadViewPost"):
        return []
    records = _post_view_records(msgspec.convert(node.get("post"), PostView), observed_us, source)
    parent = node.get("parent")
    if isinstance(parent, dict):
        records.extend(_thread_records(parent, observed_us, source, depth + 1))
    for reply in node.get("replies") or ():
        if isinstance(reply, dict):
            records.extend(_thread_records(reply, observed_us, source, depth + 1))
    return records


def _feed(response: FeedResponse, observed_us: int, source: str) -> list[CanonicalRecord]:
    records: list[CanonicalRecord] = []
    for item in response.feed:
        records.extend(_post_view_records(item.post, observed_us, source))
        reason = item.reason
        if reason is not None and reason.type.endswith("#reasonRepost") and reason.by is not None:
            reposter = reason.by.did
            records.append(
                Engagement(
                    id=record_id(reason.uri)
                    if reason.uri
                    else backfill_engagement_id(EngagementKind.REPOST, reposter, item.post.uri),
                    kind=EngagementKind.REPOST,
                    actor_id=account_id(reposter),
                    post_id=record_id(item.post.uri),
                    created_at_us=parse_time(reason.indexed_at, observed_us),
                    time_observed=reason.indexed_at is None,
                )
            )
            records.extend(_profile_records(reason.by, observed_us, source)[:1])
    return records


def _reposted_by(response: RepostedByResponse, observed_us: int, source: str) -> list[CanonicalRecord]:
    records: list[CanonicalRecord] = []
    for profile in response.reposted_by:
        records.extend(_profile_records(profile, observed_us, source)[:1])
        records.append(
            Engagement(
                id=backfill_engagement_id(EngagementKind.REPOST, profile.did, response.uri),
                kind=EngagementKind.REPOST,
                actor_id=account_id(profile.did),
                post_id=record_id(response.uri),
                created_at_us=observed_us,
                time_observed=True,  # the AppView does not say when the repost was made
            )
        )
    return records


def _likes(response: LikesResponse, observed_us: int, source: str) -> list[CanonicalRecord]:
    records: list[CanonicalRecord] = []
    for like in response.likes:
        seen = parse_time(like.indexed_at, observed_us)
        records.extend(_profile_records(like.actor, observed_us, source)[:1])
        records.append(
            Engagement(
                id=backfill_engagement_id(EngagementKind.LIKE, like.actor.did, response.uri),
                kind=EngagementKind.LIKE,
                actor_id=account_id(like.actor.did),
                post_id=record_id(response.uri),
                created_at_us=parse_time(like.created_at, seen),
            )
        )
    return records


def _each_post(posts: list[PostView], observed_us: int, source: str) -> list[CanonicalRecord]:
    return [record for view in posts for record in _post_view_records(view, observed_us, source)]


def _each_profile(profiles: list[ProfileView], observed_us: int, source: str) -> list[CanonicalRecord]:
    return [record for profile in profiles for record in _profile_records(profile, observed_us, source)]


Normaliser = Callable[[Any, int, str], list[CanonicalRecord]]

RESPONSES: dict[str, tuple[type[Any], Normaliser]] = {
    "app.bsky.feed.getPosts": (PostsResponse, lambda r, t, s: _each_post(r.posts, t, s)),
    "app.bsky.feed.getAuthorFeed": (FeedResponse, _feed),
    "app.bsky.feed.getPostThread": (ThreadResponse, lambda r, t, s: _thread_records(r.thread, t, s)),
    "app.bsky.feed.getRepostedBy": (RepostedByResponse, _reposted_by),
    "app.bsky.feed.getLikes": (LikesResponse, _likes),
    "app.bsky.feed.getQuotes": (QuotesResponse, lambda r, t, s: _each_post(r.posts, t, s)),
    "app.bsky.actor.getProfiles": (ProfilesResponse, lambda r, t, s: _each_profile(r.profiles, t, s)),
    "app.bsky.actor.getProfile": (ProfileView, lambda r, t, s: _profile_records(r, t, s)),
    "app.bsky.graph.getFollowers": (
        FollowersResponse,
        lambda r, t, s: _each_profile([r.subject, *r.followers], t, s),
    ),
    "app.bsky.graph.getFollows": (
        FollowsResponse,
        lambda r, t, s: _each_profile([r.subject, *r.follows], t, s),
    ),
}


def normalise_response(nsid: str, body: Any, observed_us: int) -> list[CanonicalRecord]:
    """Canonical records of one decoded XRPC response body observed at `observed_us`."""
    found = RESPONSES.get(nsid)
    if found is None:
        raise PayloadError("unknown-kind", f"no normaliser for the XRPC response {nsid[:100]!r}")
    response_type, normalise = found
    try:
        response = msgspec.convert(body, response_type)
        return normalise(response, observed_us, f"bluesky.appview:{nsid}")
    except msgspec.ValidationError as exc:
        raise PayloadError("wrong-type", f"{nsid} response: {exc}") from exc

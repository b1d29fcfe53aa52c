"""Jetstream v1 wire events (JSON) and their normalisation into canonical records; no I/O.

Field facts: ../shared/PLATFORMS.md §1.3. Records are decoded only for the collections we use, so
the firehose's other traffic (blocks, third-party lexicons) costs one pass of the C decoder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from reachwatch.errors import PayloadError
from reachwatch.model import (
    Account,
    CanonicalRecord,
    Deletion,
    Engagement,
    EngagementKind,
    Follow,
    Post,
    Text,
    derived_engagements,
    micros_from_datetime,
)

PLATFORM = "bluesky"
POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
LIKE = "app.bsky.feed.like"
FOLLOW = "app.bsky.graph.follow"
PROFILE = "app.bsky.actor.profile"
ENGAGEMENT_KINDS = {REPOST: EngagementKind.REPOST, LIKE: EngagementKind.LIKE}


class StrongRef(msgspec.Struct):
    uri: str
    cid: str = ""


class ReplyRef(msgspec.Struct):
    root: StrongRef
    parent: StrongRef


class FacetFeature(msgspec.Struct):
    type: str = msgspec.field(default="", name="$type")
    uri: str | None = None
    did: str | None = None
    tag: str | None = None


class Facet(msgspec.Struct):
    features: list[FacetFeature] = msgspec.field(default_factory=list)


class PostRecord(msgspec.Struct, rename="camel"):
    text: Text
    created_at: str
    langs: list[str] | None = None
    reply: ReplyRef | None = None
    embed: dict[str, Any] | None = None
    facets: list[Facet] | None = None
    tags: list[str] | None = None


class SubjectRecord(msgspec.Struct, rename="camel"):
    subject: StrongRef
    created_at: str
    via: StrongRef | None = None


class FollowRecord(msgspec.Struct, rename="camel"):
    subject: str
    created_at: str


class ProfileRecord(msgspec.Struct, rename="camel"):
    display_name: str | None = None
    description: str | None = None
    created_at: str | None = None


class Commit(msgspec.Struct):
    rev: str
    operation: str
    collection: str
    rkey: str
    record: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)  # empty on delete
    cid: str | None = None


class Identity(msgspec.Struct):
    did: str
    seq: int
    time: str
    handle: str | None = None


class AccountInfo(msgspec.Struct):
    did: str
    seq: int
    time: str
    active: bool = True
    status: str | None = None


_POST_DECODER = msgspec.json.Decoder(PostRecord)
_SUBJECT_DECODER = msgspec.json.Decoder(SubjectRecord)
_FOLLOW_DECODER = msgspec.json.Decoder(FollowRecord)
_PROFILE_DECODER = msgspec.json.Decoder(ProfileRecord)


def account_id(did: str) -> str:
    return f"{PLATFORM}:{did}"


def record_id(uri: str) -> str:
    """Canonical id of an AT-URI; anything else is a payload error."""
    if not uri.startswith("at://"):
        raise PayloadError("bad-reference", f"expected an at:// URI, got {uri[:200]!r}")
    return f"{PLATFORM}:{uri}"


def event_key(did: str, kind: str, commit: Commit | None, seq: int | None) -> str:
    """Identifies an event across replays and Jetstream instances (time_us differs between them)."""
    if commit is not None:
        # The revision (a TID, time-ordered) leads, so new keys land at the end of the unique index.
        return f"bluesky:{commit.rev}:{did}/{commit.collection}/{commit.rkey}:{commit.operation}"
    return f"bluesky:{did}#{kind}:{seq}"


def parse_time(value: str | None, observed_us: int) -> int:
    """The client-declared time in µs, clamped to when the network saw the event.

    createdAt is set by the client and may be garbage or in the future; time_us is Jetstream's.
    """
    if not value:
        return observed_us
    try:
        declared = micros_from_datetime(datetime.fromisoformat(value))
    except ValueError:
        return observed_us
    return observed_us if declared > observed_us or declared < 0 else declared


def normalise_commit(did: str, time_us: int, commit: Commit) -> list[CanonicalRecord]:
    """Canonical records of one commit; [] for collections reachwatch does not follow."""
    collection = commit.collection
    if collection not in (POST, REPOST, LIKE, FOLLOW, PROFILE):
        return []
    uri = f"at://{did}/{collection}/{commit.rkey}"
    if commit.operation == "delete":
        return _deletion(did, time_us, collection, uri)
    if commit.operation not in ("create", "update"):
        raise PayloadError("unknown-kind", f"unknown commit operation {commit.operation[:50]!r}")
    if not commit.record:
        raise PayloadError("missing-field", f"a {commit.operation} of {collection} carries no record")
    try:
        if collection == POST:
            return post_records(did, time_us, uri, _POST_DECODER.decode(commit.record))
        if collection == FOLLOW:
            follow = _FOLLOW_DECODER.decode(commit.record)
            return [
                Follow(
                    id=f"{PLATFORM}:{uri}",
                    follower_id=account_id(did),
                    followed_id=account_id(follow.subject),
                    created_at_us=parse_time(follow.created_at, time_us),
                )
            ]
        if collection == PROFILE:
            profile = _PROFILE_DECODER.decode(commit.record)
            return [
                Account(
                    id=account_id(did),
                    platform=PLATFORM,
                    display_name=profile.display_name,
                    description=profile.description,
                )
            ]
        subject = _SUBJECT_DECODER.decode(commit.record)
    except msgspec.ValidationError as exc:
        raise PayloadError("wrong-type", f"{collection} record: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise PayloadError("invalid-json", f"{collection} record: {exc}") from exc
    return [
        Engagement(
            id=f"{PLATFORM}:{uri}",
            kind=ENGAGEMENT_KINDS[collection],
            actor_id=account_id(did),
            post_id=record_id(subject.subject.uri),
            created_at_us=parse_time(subject.created_at, time_us),
            via_id=record_id(subject.via.uri) if subject.via is not None else None,
        )
    ]


def _deletion(did: str, time_us: int, collection: str, uri: str) -> list[CanonicalRecord]:
    if collection == PROFILE:
        return []
    target: Literal["post", "engagement", "follow"] = (
        "post" if collection == POST else "follow" if collection == FOLLOW else "engagement"
    )
    return [
        Deletion(
            target=target,
            id=f"{PLATFORM}:{uri}",
            deleted_at_us=time_us,
            actor_id=account_id(did),
            kind=ENGAGEMENT_KINDS.get(collection),
        )
    ]


def post_records(did: str, time_us: int, uri: str, record: PostRecord) -> list[CanonicalRecord]:
    post_id = f"{PLATFORM}:{uri}"
    author = account_id(did)
    created = parse_time(record.created_at, time_us)
    urls: list[str] = []
    mentions: list[str] = []
    hashtags: list[str] = list(record.tags or ())
    for facet in record.facets or ():
        for feature in facet.features:
            if feature.uri is not None and feature.type.endswith("#link"):
                urls.append(feature.uri)
            elif feature.did is not None and feature.type.endswith("#mention"):
                mentions.append(account_id(feature.did))
            elif feature.tag is not None and feature.type.endswith("#tag"):
                hashtags.append(feature.tag)
    quoted = _quoted_uri(record.embed)
    external = _external_uri(record.embed)
    if external is not None and external not in urls:
        urls.append(external)
    reply_to = record_id(record.reply.parent.uri) if record.reply else None
    post = Post(
        id=post_id,
        platform=PLATFORM,
        author_id=author,
        created_at_us=created,
        text=record.text,
        lang=record.langs[0] if record.langs else None,
        reply_to=reply_to,
        reply_root=record_id(record.reply.root.uri) if record.reply else None,
        quote_of=record_id(quoted) if quoted else None,
        urls=urls,
        mentions=mentions,
        hashtags=hashtags,
    )
    records: list[CanonicalRecord] = [post, *derived_engagements(post)]
    return records


def _quoted_uri(embed: dict[str, Any] | None) -> str | None:
    if not embed:
        return None
    kind = embed.get("$type")
    record = embed.get("record")
    if kind == "app.bsky.embed.recordWithMedia" and isinstance(record, dict):
        record = record.get("record")
    if kind in ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia") and isinstance(record, dict):
        uri = record.get("uri")
        if isinstance(uri, str):
            return uri
        raise PayloadError("bad-reference", f"{kind} embed has no record uri")
    return None


def _external_uri(embed: dict[str, Any] | None) -> str | None:
    if not embed or embed.get("$type") != "app.bsky.embed.external":
        return None
    external = embed.get("external")
    uri = external.get("uri") if isinstance(external, dict) else None
    return uri if isinstance(uri, str) else None


def normalise_identity(identity: Identity) -> list[CanonicalRecord]:
    return [Account(id=account_id(identity.did), platform=PLATFORM, handle=identity.handle)]


def normalise_account(info: AccountInfo) -> list[CanonicalRecord]:
    status = info.status or ("active" if info.active else "inactive")
    return [Account(id=account_id(info.did), platform=PLATFORM, status=status)]

"""Legacy v1.1 tweet JSON (standard API, Gnip "original format", streaming) into canonical records.

A retweet carries the whole original in `retweeted_status`, a quote in `quoted_status`; both are
normalised too, with their counts observed at the time of the tweet that carried them (the files
say nothing of when they were collected). Long tweets keep their text in `extended_tweet`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from reachwatch.connectors.x.entities import PLATFORM, parse_tweet_time
from reachwatch.errors import PayloadError
from reachwatch.model import (
    Account,
    CanonicalRecord,
    Count,
    Engagement,
    EngagementKind,
    MetricSnapshot,
    Post,
    derived_engagements,
    with_snapshot,
)


class LegacyUser(msgspec.Struct):
    id_str: str
    screen_name: str | None = None
    name: str | None = None
    description: str | None = None
    created_at: str | None = None
    followers_count: Count | None = None
    friends_count: Count | None = None
    statuses_count: Count | None = None


class LegacyTweet(msgspec.Struct):
    id_str: str
    created_at: str
    user: LegacyUser
    text: str | None = None
    full_text: str | None = None
    extended_tweet: dict[str, Any] | None = None
    lang: str | None = None
    in_reply_to_status_id_str: str | None = None
    quoted_status_id_str: str | None = None
    quoted_status: dict[str, Any] | None = None
    retweeted_status: dict[str, Any] | None = None
    entities: dict[str, Any] | None = None
    retweet_count: Count | None = None
    favorite_count: Count | None = None
    quote_count: Count | None = None
    reply_count: Count | None = None


def _user_records(user: LegacyUser, observed_us: int) -> list[CanonicalRecord]:
    ident = f"{PLATFORM}:{user.id_str}"
    account = Account(
        id=ident,
        platform=PLATFORM,
        handle=user.screen_name,
        display_name=user.name,
        description=user.description,
        created_at_us=parse_tweet_time(user.created_at, 0) if user.created_at else None,
        followers=user.followers_count,
        following=user.friends_count,
        posts_count=user.statuses_count,
    )
    return with_snapshot(account, observed_us, "x.v1")


def _entities(tweet: LegacyTweet) -> dict[str, Any]:
    extended = tweet.extended_tweet or {}
    found = extended.get("entities")
    return found if isinstance(found, dict) else tweet.entities or {}


def _text(tweet: LegacyTweet) -> str:
    extended = tweet.extended_tweet or {}
    full = extended.get("full_text")
    return full if isinstance(full, str) else tweet.full_text or tweet.text or ""


def normalise_tweet(body: Any, observed_us: int | None = None, depth: int = 0) -> list[CanonicalRecord]:
    """Records of one v1.1 tweet and the tweets embedded in it."""
    try:
        tweet = msgspec.convert(body, LegacyTweet)
    except msgspec.ValidationError as exc:
        raise PayloadError("wrong-type", f"v1.1 tweet: {exc}") from exc
    if not tweet.created_at:
        raise PayloadError("missing-field", f"v1.1 tweet {tweet.id_str[:40]} has no created_at")
    created = parse_tweet_time(tweet.created_at, 0)
    seen = created if observed_us is None else observed_us
    ident, author = f"{PLATFORM}:{tweet.id_str}", f"{PLATFORM}:{tweet.user.id_str}"
    records = _user_records(tweet.user, seen)
    if tweet.retweeted_status is not None and depth < 3:
        original = normalise_tweet(tweet.retweeted_status, created, depth + 1)
        records.extend(original)
        original_id = str(tweet.retweeted_status.get("id_str", ""))
        records.append(
            Engagement(
                id=ident,
                kind=EngagementKind.REPOST,
                actor_id=author,
                post_id=f"{PLATFORM}:{original_id}",
                created_at_us=created,
            )
        )
        return records
    if tweet.quoted_status is not None and depth < 3:
        records.extend(normalise_tweet(tweet.quoted_status, created, depth + 1))
    entities = _entities(tweet)
    reply_to = f"{PLATFORM}:{tweet.in_reply_to_status_id_str}" if tweet.in_reply_to_status_id_str else None
    quoted = f"{PLATFORM}:{tweet.quoted_status_id_str}" if tweet.quoted_status_id_str else None
    post = Post(
        id=ident,
        platform=PLATFORM,
        author_id=author,
        created_at_us=created,
        text=_text(tweet),
        lang=tweet.lang,
        reply_to=reply_to,
        quote_of=quoted,
        urls=[
            u["expanded_url"] for u in entities.get("urls") or () if isinstance(u.get("expanded_url"), str)
        ],
        mentions=[f"{PLATFORM}:{m['id_str']}" for m in entities.get("user_mentions") or () if "id_str" in m],
        hashtags=[h["text"] for h in entities.get("hashtags") or () if isinstance(h.get("text"), str)],
    )
    records.append(post)
    records.extend(derived_engagements(post))
    records.append(
        MetricSnapshot(
            post_id=ident,
            observed_at_us=seen,
            reposts=tweet.retweet_count,
            quotes=tweet.quote_count,
            replies=tweet.reply_count,
            likes=tweet.favorite_count,
            source="x.v1",
        )
    )
    return records

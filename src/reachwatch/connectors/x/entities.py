"""X API v2 response pages (live or twarc2 JSONL, flattened or not) and legacy v1.1 tweets into
canonical records; no I/O.

A retweet is an Engagement on the original, never a Post; a reply or quote is a Post plus an
Engagement. Counts become MetricSnapshots (`impression_count` as views) and follower counts
AccountSnapshots, both at the time the page was retrieved. Field facts: PLATFORMS.md §3.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import msgspec

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
    micros_from_datetime,
    with_snapshot,
)

PLATFORM = "x"
V1_TIME = "%a %b %d %H:%M:%S %z %Y"


class PublicMetrics(msgspec.Struct):
    retweet_count: Count | None = None
    repost_count: Count | None = None  # the OpenAPI spec's spelling; the data dictionary keeps retweet_
    reply_count: Count | None = None
    like_count: Count | None = None
    quote_count: Count | None = None
    impression_count: Count | None = None
    followers_count: Count | None = None
    following_count: Count | None = None
    tweet_count: Count | None = None


class Reference(msgspec.Struct):
    type: str
    id: str


class User(msgspec.Struct):
    id: str
    username: str | None = None
    name: str | None = None
    description: str | None = None
    created_at: str | None = None
    public_metrics: PublicMetrics | None = None


class Tweet(msgspec.Struct):
    id: str
    text: str = ""
    author_id: str | None = None
    created_at: str | None = None
    conversation_id: str | None = None
    lang: str | None = None
    referenced_tweets: list[Reference] | None = None
    referenced_posts: list[Reference] | None = None
    public_metrics: PublicMetrics | None = None
    entities: dict[str, Any] | None = None
    note_tweet: dict[str, Any] | None = None
    author: User | None = None  # twarc2 flatten puts the author inline


def parse_tweet_time(value: str | None, fallback: int) -> int:
    """µs of a v2 (ISO) or v1.1 ("Wed Oct 10 20:19:24 +0000 2018") tweet time; `fallback` if absent."""
    if not value:
        return fallback
    try:
        return micros_from_datetime(datetime.fromisoformat(value))
    except ValueError:
        try:
            return micros_from_datetime(datetime.strptime(value, V1_TIME))
        except ValueError as exc:
            raise PayloadError("invalid-value", f"not a tweet time: {value[:60]!r}") from exc


def user_records(user: User, observed_us: int) -> list[CanonicalRecord]:
    ident = f"{PLATFORM}:{user.id}"
    metrics = user.public_metrics or PublicMetrics()
    account = Account(
        id=ident,
        platform=PLATFORM,
        handle=user.username,
        display_name=user.name,
        description=user.description,
        created_at_us=parse_tweet_time(user.created_at, observed_us) if user.created_at else None,
        followers=metrics.followers_count,
        following=metrics.following_count,
        posts_count=metrics.tweet_count,
    )
    return with_snapshot(account, observed_us, "x")


def _entity_values(entities: dict[str, Any] | None, key: str, field: str) -> list[str]:
    values = []
    for item in (entities or {}).get(key) or ():
        if isinstance(item, dict) and isinstance(item.get(field), str):
            values.append(item[field])
    return values


def tweet_records(tweet: Tweet, observed_us: int, usernames: dict[str, str]) -> list[CanonicalRecord]:
    """A v2 tweet: a repost engagement for a retweet; otherwise a post, its engagements and counts."""
    if tweet.author_id is None and tweet.author is None:
        raise PayloadError("missing-field", f"tweet {tweet.id[:40]} has no author_id (ask for tweet.fields)")
    author_id = tweet.author_id or (tweet.author.id if tweet.author else "")
    ident, author = f"{PLATFORM}:{tweet.id}", f"{PLATFORM}:{author_id}"
    created = min(parse_tweet_time(tweet.created_at, observed_us), observed_us)
    records: list[CanonicalRecord] = user_records(tweet.author, observed_us) if tweet.author else []
    references = {ref.type: ref.id for ref in (tweet.referenced_tweets or tweet.referenced_posts or ())}
    retweeted = references.get("retweeted") or references.get("reposted")
    if retweeted is not None:
        records.append(
            Engagement(
                id=ident,
                kind=EngagementKind.REPOST,
                actor_id=author,
                post_id=f"{PLATFORM}:{retweeted}",
                created_at_us=created,
            )
        )
        return records
    reply_to = f"{PLATFORM}:{references['replied_to']}" if "replied_to" in references else None
    quoted = f"{PLATFORM}:{references['quoted']}" if "quoted" in references else None
    text = tweet.text
    if tweet.note_tweet and isinstance(tweet.note_tweet.get("text"), str):
        text = tweet.note_tweet["text"]  # a long post: `text` holds only its first 280 characters
    mentions = []
    for item in (tweet.entities or {}).get("mentions") or ():
        if isinstance(item, dict):
            user = item.get("id") or usernames.get(str(item.get("username", "")).lower())
            if user:
                mentions.append(f"{PLATFORM}:{user}")
    post = Post(
        id=ident,
        platform=PLATFORM,
        author_id=author,
        created_at_us=created,
        text=text,
        lang=tweet.lang,
        reply_to=reply_to,
        reply_root=f"{PLATFORM}:{tweet.conversation_id}" if reply_to and tweet.conversation_id else None,
        quote_of=quoted,
        urls=_entity_values(tweet.entities, "urls", "expanded_url"),
        mentions=mentions,
        hashtags=_entity_values(tweet.entities, "hashtags", "tag"),
    )
    records.append(post)
    records.extend(derived_engagements(post))
    metrics = tweet.public_metrics
    if metrics is not None:
        records.append(
            MetricSnapshot(
                post_id=ident,
                observed_at_us=observed_us,
                reposts=metrics.retweet_count if metrics.retweet_count is not None else metrics.repost_count,
                quotes=metrics.quote_count,
                replies=metrics.reply_count,
                likes=metrics.like_count,
                views=metrics.impression_count,
                source="x",
            )
        )
    return records


class Page(msgspec.Struct):
    data: Any = None
    includes: dict[str, Any] = msgspec.field(default_factory=dict)


_USER_LIST = re.compile(r"/2/tweets/(\d+)/(liking_users|retweeted_by)")
# Pages whose `data` is users: lookups by id or name, followers, following.
_USERS = re.compile(r"/2/users(/by(/username/[^/]+)?|/\d+(/followers|/following)?)?/?")
_NOT_POSTS = re.compile(r"/counts/|_lists$|/lists(/|$)")


def normalise_page(
    body: Any, observed_us: int, url: str = "", params: dict[str, str] | None = None
) -> list[CanonicalRecord]:
    """One v2 response page: `data` (tweets or users) with its `includes`.

    Which endpoint gave the page decides what `data` holds; it comes from the request URL (twarc2
    keeps it in `__twarc.url`) or the collector's params.
    """
    params = params or {}
    try:
        page = msgspec.convert(body, Page)
        if isinstance(body, dict) and page.data is None and "id" in body and "text" in body:
            page = Page(data=[body])  # a flattened tweet (twarc2 flatten)
        users = msgspec.convert(page.includes.get("users") or [], list[User])
        usernames = {(user.username or "").lower(): user.id for user in users}
        records: list[CanonicalRecord] = [r for user in users for r in user_records(user, observed_us)]
        data = page.data if isinstance(page.data, list) else [] if page.data is None else [page.data]
        endpoint = params.get("endpoint", "")
        path = urlparse(url).path
        if _NOT_POSTS.search(path):
            return []  # aggregate counts and list metadata: kept raw, nothing per post
        listed = _USER_LIST.search(path)
        if listed or endpoint in ("liking_users", "retweeted_by", "users") or _USERS.fullmatch(path):
            kind = listed.group(2) if listed else endpoint if endpoint != "tweets" else "users"
            target = listed.group(1) if listed else params.get("tweet")
            return records + _user_list(data, kind or "users", target, observed_us)
        included = msgspec.convert(page.includes.get("tweets") or [], list[Tweet])
        for tweet in [*msgspec.convert(data, list[Tweet]), *included]:
            records.extend(tweet_records(tweet, observed_us, usernames))
        return records
    except msgspec.ValidationError as exc:
        raise PayloadError("wrong-type", f"X API page: {exc}") from exc


def _user_list(data: list[Any], kind: str, target: str | None, observed_us: int) -> list[CanonicalRecord]:
    users = msgspec.convert(data, list[User])
    records: list[CanonicalRecord] = [r for user in users for r in user_records(user, observed_us)]
    if kind == "users":
        return records
    if not target:
        raise PayloadError("missing-field", f"a {kind} page without the tweet it is about")
    engagement = EngagementKind.LIKE if kind == "liking_users" else EngagementKind.REPOST
    for user in users:
        records.append(
            Engagement(
                id=f"{PLATFORM}:{target}/{engagement.value}/{user.id}",
                kind=engagement,
                actor_id=f"{PLATFORM}:{user.id}",
                post_id=f"{PLATFORM}:{target}",
                created_at_us=observed_us,
                time_observed=True,  # these lists do not say when each account acted
            )
        )
    return records

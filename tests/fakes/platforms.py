"""Small worlds served by FakeHTTP in the response shapes of the real APIs (field names as in the
captured payloads under ../shared/data/payloads): a Bluesky AppView, a Mastodon instance, X API v2.

Each world knows exactly what it holds, so a test can assert exact counts after collection."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import msgspec

from reachwatch.model import iso_from_micros
from tests.fakes.http import Answer, FakeHTTP

NOW_US = int(time.time() * 1e6)
MINUTE_US = 60_000_000
AGES_MIN = (30, 180, 2 * 24 * 60)  # one hot, one warm, one cool post


def _json(body: Any, headers: dict[str, str] | None = None) -> Answer:
    return 200, headers or {}, msgspec.json.encode(body)


def _page(
    items: list[Any], query: dict[str, list[str]], size: int, key: str = "cursor"
) -> tuple[list[Any], str | None]:
    start = int(query.get(key, ["0"])[0])
    following = start + size
    return items[start:following], str(following) if following < len(items) else None


# -- Bluesky ------------------------------------------------------------------------------------
@dataclass
class BlueskyWorld:
    did: str = "did:plc:watchedaccount0000000001"
    handle: str = "watched.bsky.social"
    likes: int = 120
    reposts: int = 30
    quotes: int = 2
    replies: int = 3

    def uri(self, index: int) -> str:
        return f"at://{self.did}/app.bsky.feed.post/3kpost{index:07d}"

    def profile(self, did: str, handle: str, followers: int | None = None) -> dict[str, Any]:
        view: dict[str, Any] = {
            "did": did,
            "handle": handle,
            "displayName": handle.split(".")[0],
            "labels": [],
        }
        if followers is not None:
            view.update(followersCount=followers, followsCount=10, postsCount=100)
        return view

    def post_view(
        self, did: str, handle: str, uri: str, text: str, at_us: int, **record: Any
    ) -> dict[str, Any]:
        return {
            "uri": uri,
            "cid": "bafyreifake",
            "author": self.profile(did, handle),
            "record": {
                "$type": "app.bsky.feed.post",
                "createdAt": iso_from_micros(at_us),
                "text": text,
                **record,
            },
            "replyCount": self.replies,
            "repostCount": self.reposts,
            "likeCount": self.likes,
            "quoteCount": self.quotes,
            "indexedAt": iso_from_micros(at_us),
            "labels": [],
        }

    def posts(self) -> list[dict[str, Any]]:
        return [
            self.post_view(self.did, self.handle, self.uri(i), f"post {i}", NOW_US - age * MINUTE_US)
            for i, age in enumerate(AGES_MIN)
        ]

    def server(self) -> FakeHTTP:
        views = {view["uri"]: view for view in self.posts()}

        def actors(prefix: str, count: int) -> list[dict[str, Any]]:
            return [
                self.profile(f"did:plc:{prefix}{n:020d}", f"{prefix}{n}.bsky.social") for n in range(count)
            ]

        def feed(query: dict[str, list[str]]) -> Answer:
            items, cursor = _page([{"post": view} for view in views.values()], query, 2)
            return _json({"feed": items, **({"cursor": cursor} if cursor else {})})

        def get_posts(query: dict[str, list[str]]) -> Answer:
            return _json({"posts": [views[uri] for uri in query["uris"] if uri in views]})

        def likes(query: dict[str, list[str]]) -> Answer:
            uri = query["uri"][0]
            everyone = [
                {
                    "actor": actor,
                    "createdAt": iso_from_micros(NOW_US - n * 1_000_000),
                    "indexedAt": iso_from_micros(NOW_US),
                }
                for n, actor in enumerate(actors("liker", self.likes))
            ]
            items, cursor = _page(everyone, query, 50)
            return _json({"uri": uri, "likes": items, **({"cursor": cursor} if cursor else {})})

        def reposted_by(query: dict[str, list[str]]) -> Answer:
            items, cursor = _page(actors("reposter", self.reposts), query, 50)
            return _json(
                {"uri": query["uri"][0], "repostedBy": items, **({"cursor": cursor} if cursor else {})}
            )

        def quotes(query: dict[str, list[str]]) -> Answer:
            uri = query["uri"][0]
            index = list(views).index(uri)
            embed = {"$type": "app.bsky.embed.record", "record": {"uri": uri, "cid": "bafyreifake"}}
            posts = [
                self.post_view(
                    f"did:plc:quoter{n:020d}", f"quoter{n}.bsky.social",
                    f"at://did:plc:quoter{n:020d}/app.bsky.feed.post/3kquote{index}{n:05d}",
                    "look at this", NOW_US - MINUTE_US, embed=embed,
                )
                for n in range(self.quotes)
            ]  # fmt: skip
            return _json({"uri": uri, "posts": posts})

        def thread(query: dict[str, list[str]]) -> Answer:
            uri = query["uri"][0]
            index = list(views).index(uri)
            ref = {"uri": uri, "cid": "bafyreifake"}
            replies = [
                {
                    "$type": "app.bsky.feed.defs#threadViewPost",
                    "post": self.post_view(
                        f"did:plc:replier{n:019d}", f"replier{n}.bsky.social",
                        f"at://did:plc:replier{n:019d}/app.bsky.feed.post/3kreply{index}{n:05d}",
                        "a reply", NOW_US - MINUTE_US, reply={"root": ref, "parent": ref},
                    ),
                    "replies": [],
                }
                for n in range(self.replies)
            ]  # fmt: skip
            return _json(
                {
                    "thread": {
                        "$type": "app.bsky.feed.defs#threadViewPost",
                        "post": views[uri],
                        "replies": replies,
                    }
                }
            )

        def profile(query: dict[str, list[str]]) -> Answer:
            actor = query["actor"][0]
            if actor not in (self.handle, self.did):
                return 400, {}, b'{"error":"InvalidRequest","message":"Profile not found"}'
            return _json(self.profile(self.did, self.handle, followers=5_000_000))

        prefix = "/xrpc/app.bsky."
        return FakeHTTP(
            {
                prefix + "actor.getProfile": profile,
                prefix + "feed.getAuthorFeed": feed,
                prefix + "feed.getPosts": get_posts,
                prefix + "feed.getLikes": likes,
                prefix + "feed.getRepostedBy": reposted_by,
                prefix + "feed.getQuotes": quotes,
                prefix + "feed.getPostThread": thread,
            }
        )


# -- Mastodon -----------------------------------------------------------------------------------
@dataclass
class MastodonWorld:
    instance: str = "social.example"
    reblogs: int = 25
    favourites: int = 15
    replies: int = 2
    tagged: int = 2

    def account(self, local_id: str, username: str, followers: int = 10) -> dict[str, Any]:
        return {
            "id": local_id, "username": username, "acct": username, "display_name": username.title(),
            "locked": False, "bot": False, "created_at": "2024-01-01T00:00:00.000Z", "note": "<p>hi</p>",
            "url": f"https://{self.instance}/@{username}", "followers_count": followers,
            "following_count": 3, "statuses_count": 40, "fields": [], "emojis": [],
        }  # fmt: skip

    def status(
        self, local_id: str, account: dict[str, Any], html: str, age_min: int, **extra: Any
    ) -> dict[str, Any]:
        return {
            "id": local_id, "created_at": iso_from_micros(NOW_US - age_min * MINUTE_US),
            "in_reply_to_id": None, "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "",
            "visibility": "public", "language": "en", "uri": f"https://{self.instance}/statuses/{local_id}",
            "url": None, "replies_count": self.replies, "reblogs_count": self.reblogs,
            "favourites_count": self.favourites, "quotes_count": 0, "edited_at": None, "content": html,
            "reblog": None, "account": account, "media_attachments": [], "mentions": [], "tags": [],
            "emojis": [], "quote": None, "card": None, "poll": None, **extra,
        }  # fmt: skip

    def server(self) -> FakeHTTP:
        watched = self.account("1001", "watched", followers=250_000)
        statuses = [
            self.status(str(2000 + i), watched, f"<p>toot {i}</p>", age) for i, age in enumerate(AGES_MIN)
        ]
        fake = FakeHTTP({})

        def linked(items: list[Any], query: dict[str, list[str]], path: str, size: int) -> Answer:
            page, following = _page(items, query, size, key="max_id")
            headers = {"link": f'<{fake.base_url}{path}?max_id={following}>; rel="next"'} if following else {}
            return _json(page, headers)

        def lookup(query: dict[str, list[str]]) -> Answer:
            if query["acct"][0] != "watched":
                return 404, {}, b'{"error":"Record not found"}'
            return _json(watched)

        def account_statuses(query: dict[str, list[str]]) -> Answer:
            if "since_id" in query:
                return _json([])
            return linked(statuses, query, "/api/v1/accounts/1001/statuses", 2)

        fake.routes["/api/v1/accounts/lookup"] = lookup
        fake.routes["/api/v1/accounts/1001/statuses"] = account_statuses
        for status in statuses:
            local = status["id"]
            fake.routes[f"/api/v1/statuses/{local}"] = lambda q, s=status: _json(s)
            replies = [
                self.status(
                    f"{local}{n}",
                    self.account(f"5{n}", f"replier{n}"),
                    "<p>reply</p>",
                    1,
                    in_reply_to_id=local,
                )
                for n in range(self.replies)
            ]
            fake.routes[f"/api/v1/statuses/{local}/context"] = lambda q, r=replies: _json(
                {"ancestors": [], "descendants": r}
            )
            boosters = [self.account(f"7{n:03d}", f"booster{n}") for n in range(self.reblogs)]
            fans = [self.account(f"8{n:03d}", f"fan{n}") for n in range(self.favourites)]
            for name, people in (("reblogged_by", boosters), ("favourited_by", fans)):
                path = f"/api/v1/statuses/{local}/{name}"
                fake.routes[path] = lambda q, p=people, path=path: linked(p, q, path, 10)
        tag = [{"name": "danawhitfield", "url": ""}]
        html = "<p>#DanaWhitfield must resign</p>"
        tagged = [
            self.status(f"900{n}", self.account(f"6{n}", f"citizen{n}"), html, 5, tags=tag)
            for n in range(self.tagged)
        ]
        fake.routes["/api/v1/timelines/tag/danawhitfield"] = lambda q: _json(
            tagged if "since_id" not in q else []
        )
        return fake


# -- X ------------------------------------------------------------------------------------------
@dataclass
class XWorld:
    user_id: str = "900"
    username: str = "watchedx"
    retweets: int = 12
    likes: int = 20
    quotes: int = 1
    replies: int = 2
    mentions: int = 3

    def user(self, user_id: str, username: str, followers: int = 5) -> dict[str, Any]:
        metrics = {"followers_count": followers, "following_count": 1, "tweet_count": 9, "listed_count": 0}
        return {
            "id": user_id, "username": username, "name": username.title(),
            "created_at": "2020-01-01T00:00:00.000Z", "description": "", "public_metrics": metrics,
        }  # fmt: skip

    def tweet(self, tweet_id: str, author: str, text: str, age_min: int, **extra: Any) -> dict[str, Any]:
        metrics = {
            "retweet_count": self.retweets, "reply_count": self.replies, "like_count": self.likes,
            "quote_count": self.quotes, "impression_count": 40_000,
        }  # fmt: skip
        return {
            "id": tweet_id, "text": text, "author_id": author,
            "conversation_id": extra.pop("conversation_id", tweet_id),
            "created_at": iso_from_micros(NOW_US - age_min * MINUTE_US), "lang": "en",
            "edit_history_tweet_ids": [tweet_id], "public_metrics": metrics, **extra,
        }  # fmt: skip

    def server(self) -> FakeHTTP:
        owner = self.user(self.user_id, self.username, followers=90_000_000)
        tweets = [
            self.tweet(str(1000 + i), self.user_id, f"tweet {i}", age) for i, age in enumerate(AGES_MIN)
        ]
        by_id = {tweet["id"]: tweet for tweet in tweets}
        fake = FakeHTTP({})

        def page(
            items: list[Any], query: dict[str, list[str]], size: int, token: str = "pagination_token"
        ) -> Answer:
            chunk, following = _page(items, query, size, key=token)
            meta = {"result_count": len(chunk), **({"next_token": following} if following else {})}
            return _json({"data": chunk, "includes": {"users": [owner]}, "meta": meta})

        fake.routes[f"/2/users/by/username/{self.username}"] = lambda q: _json({"data": owner})
        fake.routes[f"/2/users/{self.user_id}/tweets"] = lambda q: page(
            tweets if "since_id" not in q else [], q, 2
        )
        fake.routes["/2/tweets"] = lambda q: _json(
            {"data": [by_id[i] for i in q["ids"][0].split(",") if i in by_id], "includes": {"users": [owner]}}
        )

        def search(query: dict[str, list[str]]) -> Answer:
            text = query["query"][0]
            if text.startswith("conversation_id:"):
                root = text.split(":", 1)[1]
                found = [
                    self.tweet(f"{root}5{n}", f"3{n}", "reply", 1, conversation_id=root,
                               referenced_tweets=[{"type": "replied_to", "id": root}])
                    for n in range(self.replies)
                ]  # fmt: skip
            else:
                found = [
                    self.tweet(f"77{n}", f"4{n}", "Dana Whitfield should resign", 3)
                    for n in range(self.mentions)
                ]
            return page(found if "since_id" not in query else [], query, 100, token="next_token")

        fake.routes["/2/tweets/search/recent"] = search
        for tweet in tweets:
            tid = tweet["id"]
            quotes = [
                self.tweet(
                    f"{tid}9{n}", f"2{n}", "quoting", 2, referenced_tweets=[{"type": "quoted", "id": tid}]
                )
                for n in range(self.quotes)
            ]
            fake.routes[f"/2/tweets/{tid}/quote_tweets"] = lambda q, t=quotes: page(t, q, 100)
            fake.routes[f"/2/tweets/{tid}/retweeted_by"] = lambda q: page(
                [self.user(f"5{n:03d}", f"rt{n}") for n in range(self.retweets)], q, 100
            )
            fake.routes[f"/2/tweets/{tid}/liking_users"] = lambda q: page(
                [self.user(f"6{n:03d}", f"fan{n}") for n in range(self.likes)], q, 10
            )
        return fake


# -- What the platform contract test runs each installed platform against ----------------------
@dataclass
class Contract:
    """A fake of one platform's API, an account on it to watch, and the settings section that
    points the platform at the fake."""

    world: Any
    spec: str
    section: Any  # base URL → the platform's settings section


def _bluesky_section(base_url: str) -> Any:
    from reachwatch.connectors.bluesky.platform import BlueskySettings

    return BlueskySettings(appview_url=base_url)


def _mastodon_section(base_url: str) -> Any:
    from reachwatch.connectors.mastodon.platform import MastodonSettings

    return MastodonSettings(base_urls={"social.example": base_url})


def _x_section(base_url: str) -> Any:
    from pydantic import SecretStr

    from reachwatch.connectors.x.platform import XSettings

    return XSettings(bearer_token=SecretStr("test-token"), api_url=base_url)


# One entry per installed platform: a new platform's fake goes here (the contract test fails until
# it does).
CONTRACTS = {
    "bluesky": lambda: Contract(BlueskyWorld(), "bsky:watched.bsky.social", _bluesky_section),
    "mastodon": lambda: Contract(MastodonWorld(), "mastodon:@watched@social.example", _mastodon_section),
    "x": lambda: Contract(XWorld(), "x:watchedx", _x_section),
}

"""Organic control accounts and planted rings of three densities: the records behind the
false-positive rate of coordination detection.

Purity against labels cannot show false positives: the control accounts are ordinary engagers
with no coordination at all, timed as real ones are. How long after a post each of them reposts
it, and how many things each one acts on, are drawn from real retweet cascades (Twitter15 and
Twitter16, every tree: organic_timing.json, fitted by training/fit_organic_timing.py). They
repost popular posts, share the headline and link of the week's news stories, tag the week's
trending hashtags when the news breaks, and chatter; whatever they share by chance, within
seconds, is what a detector must not flag. Beside them, rings of accounts repost the same posts,
tag the same campaign hashtag and post the same claim reworded within seconds, each member
taking part in each burst with probability `density` (every ring member also acts as the
controls do). Everything is seeded: the same seed gives the same records.
"""

from __future__ import annotations

import math
import random
from importlib import resources

import msgspec
import numpy as np

from reachwatch.model import Engagement, EngagementKind, Post
from reachwatch.scenario.actions import CLAIM, VOCABULARY, reworded

SECOND = 1_000_000
HOUR = 3_600 * SECOND
DAY = 24 * HOUR
START_US = 1_790_000_000_000_000
SPAN_US = 7 * DAY
END_US = START_US + SPAN_US
ACTIONS_PER_CASCADE = 8  # a week's actions per cascade an account joined in the real trees
MAX_ACTIONS = 400

HEADLINES = [
    "Parliament passes the housing bill after a late night vote",
    "Storm warning issued for the whole coast as winds reach record speeds",
    "Central bank holds interest rates for the third month in a row",
    "National team through to the final after a dramatic penalty shootout",
    "Train strike called off at the last minute after new pay offer",
    "Health service waiting lists fall for the first time in two years",
    "Minister resigns over leaked messages about the inquiry",
    "Scientists find water ice in a crater near the lunar south pole",
    "Fuel prices rise again as the refinery outage drags on",
    "City council approves new cycle lanes across the centre",
    "Wildfire forces thousands to leave their homes overnight",
    "Court rules the new protest law unlawful in landmark case",
]
TRENDING = [
    "news",
    "breaking",
    "football",
    "weather",
    "election",
    "music",
    "film",
    "rain",
    "strike",
    "budget",
]


class OrganicTiming(msgspec.Struct):
    """Quantiles of real organic behaviour (organic_timing.json)."""

    source: str
    trees: int
    delays: int
    users: int
    levels: list[float]
    delay_s: list[float]
    cascades_per_user: list[float]


def organic_timing() -> OrganicTiming:
    text = resources.files("reachwatch.scenario").joinpath("organic_timing.json").read_bytes()
    return msgspec.json.decode(text, type=OrganicTiming)


class ControlSet(msgspec.Struct, kw_only=True):
    """The records, and who is who: control accounts, and each ring's members by density."""

    records: list[Post | Engagement]
    controls: list[str]
    rings: dict[str, list[str]]  # density (as written, e.g. "0.5") → member account ids
    since_us: int
    until_us: int


class _Drawer:
    def __init__(self, seed: int, timing: OrganicTiming) -> None:
        self.rng = random.Random(seed)
        self.levels = np.asarray(timing.levels)
        self.delays = np.asarray(timing.delay_s)
        self.activity = np.asarray(timing.cascades_per_user)

    def delay_us(self) -> int:
        """A real reaction delay: the inverse of the fitted distribution, kept within the week."""
        seconds = float(np.interp(self.rng.random(), self.levels, self.delays))
        return int(min(seconds, SPAN_US / SECOND) * SECOND)

    def actions(self) -> int:
        cascades = float(np.interp(self.rng.random(), self.levels, self.activity))
        return min(max(1, round(cascades)) * ACTIONS_PER_CASCADE, MAX_ACTIONS)

    def daytime(self) -> int:
        """A moment in the week, more often in the day than at night (a daily cycle)."""
        while True:
            at = self.rng.randrange(SPAN_US)
            hour = (at % DAY) / HOUR
            if self.rng.random() < 0.55 + 0.45 * math.sin(math.pi * (hour - 6) / 12):
                return START_US + at


def control_set(
    seed: int = 17,
    controls: int = 3_000,
    ring_size: int = 30,
    densities: tuple[float, ...] = (1.0, 0.5, 0.25),
) -> ControlSet:
    """Controls, and one ring per density, in one week of records."""
    draw = _Drawer(seed, organic_timing())
    rng = draw.rng
    records: list[Post | Engagement] = []
    # 600 posts by 30 accounts over the week; how many reposts each draws is heavy-tailed (Zipf).
    posts = []
    for k in range(600):
        author = f"bluesky:did:plc:source{k % 30:02d}"
        at = draw.daytime()
        post = Post(id=_uri(author, f"s{k}"), platform="bluesky", author_id=author, created_at_us=at,
                    text=" ".join(rng.choice(VOCABULARY) for _ in range(12)))  # fmt: skip
        posts.append(post)
        records.append(post)
    popularity = [1 / (rank + 1) ** 1.1 for rank in range(len(posts))]
    rng.shuffle(popularity)
    stories = [
        (headline, f"https://news{n}.example/story/{n}", draw.daytime())
        for n, headline in enumerate(HEADLINES)
    ]
    counter = [0]

    def organic(account: str) -> None:
        reposted: set[int] = set()
        shared: set[str] = set()
        for _ in range(draw.actions()):
            roll = rng.random()
            if roll < 0.55:
                (pick,) = rng.choices(range(len(posts)), weights=popularity)
                if pick in reposted:  # an account reposts a post once
                    continue
                reposted.add(pick)
                post = posts[pick]
                at = post.created_at_us + draw.delay_us()
                if at < END_US:  # later ones fall after the week observed
                    records.append(_repost(account, post.id, at, counter))
            elif roll < 0.70:
                headline, url, broke = rng.choice(stories)
                if url in shared:  # and shares a story once
                    continue
                shared.add(url)
                text = headline if rng.random() < 0.5 else f"{headline} {rng.choice(VOCABULARY)} {url}"
                at = broke + draw.delay_us()
                if at < END_US:
                    records.append(_post(account, at, text, counter, urls=[url]))
            elif roll < 0.85:
                tag = TRENDING[min(int(rng.paretovariate(1.0)) - 1, len(TRENDING) - 1)]
                # News breaks: most tags follow one of the stories, as real trending tags do.
                at = draw.daytime()
                if rng.random() < 0.6:
                    at = rng.choice(stories)[2] + draw.delay_us()
                    if at >= END_US:
                        continue
                chatter = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randrange(3, 10)))
                records.append(_post(account, at, f"{chatter} #{tag}", counter, hashtags=[tag]))
            else:
                chatter = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randrange(3, 12)))
                records.append(_post(account, draw.daytime(), chatter, counter))

    control_ids = [f"bluesky:did:plc:organic{n:05d}" for n in range(controls)]
    for account in control_ids:
        organic(account)
    rings: dict[str, list[str]] = {}
    claim = CLAIM.split()
    for number, density in enumerate(densities):
        members = [f"bluesky:did:plc:ring{number}m{m:02d}" for m in range(ring_size)]
        rings[f"{density:g}"] = members
        targets = rng.sample(posts, 12)
        for post in targets:  # amplify: everyone within 30 s, some minutes after the post
            at = post.created_at_us + rng.randrange(2, 60) * 60 * SECOND
            for member in members:
                if rng.random() < density:
                    records.append(_repost(member, post.id, at + rng.randrange(30 * SECOND), counter))
        for _ in range(6):  # the campaign: its hashtag and the claim reworded, within 40 s
            at = draw.daytime()
            for member in members:
                if rng.random() < density:
                    text = reworded(rng, claim, rng.randrange(3)) + f" #campaign{number}"
                    records.append(
                        _post(
                            member,
                            at + rng.randrange(40 * SECOND),
                            text,
                            counter,
                            hashtags=[f"campaign{number}"],
                        )
                    )
        for member in members:
            organic(member)
    return ControlSet(
        records=records, controls=control_ids, rings=rings, since_us=START_US, until_us=END_US + DAY
    )


def _uri(account: str, key: str, collection: str = "app.bsky.feed.post") -> str:
    return f"bluesky:at://{account.removeprefix('bluesky:')}/{collection}/{key}"


def _repost(account: str, post_id: str, at_us: int, counter: list[int]) -> Engagement:
    counter[0] += 1
    return Engagement(
        id=_uri(account, f"r{counter[0]}", "app.bsky.feed.repost"), kind=EngagementKind.REPOST,
        actor_id=account, post_id=post_id, created_at_us=at_us,
    )  # fmt: skip


def _post(
    account: str, at_us: int, text: str, counter: list[int], *, urls: list[str] | None = None,
    hashtags: list[str] | None = None,
) -> Post:  # fmt: skip
    counter[0] += 1
    return Post(
        id=_uri(account, f"c{counter[0]}"), platform="bluesky", author_id=account, created_at_us=at_us,
        text=text, urls=urls or [], hashtags=hashtags or [],
    )  # fmt: skip

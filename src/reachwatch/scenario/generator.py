"""The demo scenario, modelled on the case behind reachwatch, as time-ordered Bluesky payloads.

A watched account with a vast following posts ordinary material for weeks, then names a minister
and calls for her to be jailed. That post takes off over hours (heavy-tailed delays, repost
chains through `via`), a ring of young accounts reposts it within seconds, abuse and threats
toward the minister rise above their earlier baseline, and some of it comes from the post's own
engagers. Everything it does is recorded in a Truth that analyses are scored against.
"""

from __future__ import annotations

import math
import random
from typing import Any

import msgspec

from reachwatch.model import Account, Person, micros_from_iso
from reachwatch.scenario import texts, wire
from reachwatch.scenario.truth import LabelledPost, Truth

HOUR = 3_600_000_000
DAY = 24 * HOUR
MINUTE = 60_000_000
POST, REPOST, LIKE = "app.bsky.feed.post", "app.bsky.feed.repost", "app.bsky.feed.like"


class ScenarioConfig(msgspec.Struct, kw_only=True):
    seed: int = 7
    start: str = "2026-09-01T00:00:00Z"
    baseline_days: int = 42
    posts_per_day: float = 3.0
    population: int = 10_000
    coordinated: int = 40
    observe_hours: int = 72
    engagement_scale: float = 1.0
    shock: float = 2.5  # a news event lifts abuse toward every protected person from the trigger on


class Actor(msgspec.Struct):
    did: str
    handle: str
    name: str
    followers: int
    created_us: int

    @property
    def id(self) -> str:
        return f"bluesky:{self.did}"


class _Emitted(msgspec.Struct):
    at_us: int
    kind: str
    line: bytes


def _omori_delay(rng: random.Random, scale_us: float, shape: float, cap_us: int) -> int:
    """A heavy-tailed reaction delay (Omori/Lomax): most come fast, some hours later."""
    while True:
        delay = scale_us * ((1.0 - rng.random()) ** (-1.0 / shape) - 1.0)
        if delay < cap_us:
            return int(delay) + 1_000_000


class ScenarioBuilder:
    """Builds the whole scenario in memory (sorted by time); `generate` streams filler around it."""

    def __init__(self, config: ScenarioConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.start_us = micros_from_iso(config.start)
        self.trigger_us = self.start_us + config.baseline_days * DAY + 18 * HOUR
        self.end_us = self.trigger_us + config.observe_hours * HOUR
        self.events: list[_Emitted] = []
        self.engagement_times: dict[str, dict[str, list[tuple[int, str]]]] = {}
        self.deleted_at: dict[str, int] = {}
        self.records: dict[str, tuple[dict[str, Any], int]] = {}
        self.declared: dict[str, int] = {}  # createdAt of each post, as the store will hold it
        self.narrative_posts: dict[str, str] = {}  # post id → the narrative it carries
        self._clock = 0
        self.person = {
            "name": "Dana Whitfield",
            "surname": "Whitfield",
            "handle": "danawhitfield.bsky.social",
            "tag": "#DanaWhitfield",
        }

    # -- people -----------------------------------------------------------------------------------
    def _actor(self, handle: str, name: str, followers: int, created_us: int) -> Actor:
        return Actor(wire.new_did(self.rng), handle, name, followers, created_us)

    def _population(self) -> list[Actor]:
        rng = self.rng
        actors = []
        for index in range(self.config.population):
            followers = int(math.exp(rng.gauss(5.0, 1.7)))
            if rng.random() < 0.01:
                followers = int(rng.paretovariate(1.2) * 50_000)
            created = self.start_us - int(rng.uniform(30, 3_000) * DAY)
            actors.append(self._actor(f"user{index:05d}.bsky.social", f"User {index}", followers, created))
        return actors

    # -- emitting ---------------------------------------------------------------------------------
    def _emit(self, at_us: int, kind: str, line: bytes) -> None:
        self.events.append(_Emitted(at_us, kind, line))

    def _rkey(self, at_us: int) -> str:
        self._clock += 1
        return wire.tid(at_us, self._clock)

    def post(self, actor: Actor, at_us: int, text: str, links: list[str], **extra: Any) -> tuple[str, str]:
        """Emit a post create; returns its (uri, cid)."""
        rng = self.rng
        mentions = (
            {self.person["handle"]: self.person_actor.did} if "@" + self.person["handle"] in text else {}
        )
        declared = at_us - rng.randint(
            50_000, 900_000
        )  # clients stamp createdAt just before the relay sees it
        record: dict[str, Any] = {"createdAt": wire.iso(declared), "langs": ["en"], "text": text}
        facets = wire.facets_for(text, mentions, links)
        if facets:
            record["facets"] = facets
        record.update(extra)
        rkey = self._rkey(at_us)
        line, cid = wire.commit_event(actor.did, at_us, POST, rkey, record, rng)
        self._emit(at_us, "post", line)
        uri = wire.post_uri(actor.did, rkey)
        self.records[uri] = ({"$type": POST, **record}, at_us)
        self.declared[uri] = declared // 1000 * 1000
        return uri, cid

    def engage(
        self, actor: Actor, kind: str, target: tuple[str, str], at_us: int, via: tuple[str, str] | None = None
    ) -> tuple[str, str]:
        """Emit a like or repost of `target`; returns the engagement record's (uri, cid)."""
        collection = REPOST if kind == "repost" else LIKE
        declared = (at_us - self.rng.randint(50_000, 900_000)) // 1000 * 1000
        record: dict[str, Any] = {
            "createdAt": wire.iso(declared),
            "subject": {"uri": target[0], "cid": target[1]},
        }
        if via is not None:
            record["via"] = {"uri": via[0], "cid": via[1]}
        rkey = self._rkey(at_us)
        line, cid = wire.commit_event(actor.did, at_us, collection, rkey, record, self.rng)
        self._emit(at_us, kind, line)
        uri = f"at://{actor.did}/{collection}/{rkey}"
        self.engagement_times.setdefault(target[0], {}).setdefault(kind, []).append((declared, uri))
        return uri, cid

    def delete(self, actor: Actor, uri: str, at_us: int) -> None:
        collection, rkey = uri.split("/")[-2:]
        self._emit(at_us, "delete", wire.commit_event(actor.did, at_us, collection, rkey, None, self.rng)[0])
        self.deleted_at[uri] = at_us

    # -- the story --------------------------------------------------------------------------------
    def build(self) -> Truth:
        rng, config = self.rng, self.config
        self.watched = self._actor(
            "maxharlan.bsky.social", "Max Harlan", 212_000_000, self.start_us - 900 * DAY
        )
        self.person_actor = self._actor(
            self.person["handle"], "Dana Whitfield MP", 48_000, self.start_us - 600 * DAY
        )
        population = self._population()
        ring = [
            self._actor(
                f"patriot{index:03d}{rng.randint(1000, 9999)}.bsky.social",
                f"Patriot {index}",
                rng.randint(3, 80),
                self.trigger_us - rng.randint(10, 25) * DAY,
            )
            for index in range(config.coordinated)
        ]
        self.population, self.ring = population, ring
        fans = rng.choices(population, k=len(population) // 3)  # the author's regulars engage most
        person = Person(
            id="dana-whitfield",
            name="Dana Whitfield",
            aliases=["Minister Whitfield", "Ms Whitfield", "the Safeguarding Minister", "#DanaWhitfield"],
            roles=["Minister for Safeguarding", "Member of Parliament"],
            handles={"bluesky": [self.person["handle"]]},
        )
        self._emit(self.start_us - DAY, "setup", wire.canonical(person))
        self._emit(
            self.start_us - DAY,
            "setup",
            wire.canonical(
                Account(
                    id=self.watched.id,
                    platform="bluesky",
                    handle=self.watched.handle,
                    watched=True,
                )
            ),
        )
        self._profiles([self.watched, self.person_actor, *population, *ring], self.start_us - DAY + MINUTE)

        baseline: list[tuple[str, str]] = []
        # The narratives get their own random stream, so the rest of the scenario is drawn exactly
        # as it was before they were planted.
        story = random.Random(config.seed * 7_919 + 1)
        sequence = list(texts.NARRATIVES)
        span = max(config.baseline_days // len(sequence), 1)
        for day in range(config.baseline_days):
            for _ in range(_poisson(rng, config.posts_per_day)):
                at = self.start_us + day * DAY + rng.randint(8 * HOUR, 23 * HOUR)
                text, links = texts.fill(rng.choice(texts.TOPICS), rng, self.person)
                theme = sequence[min(day // span, len(sequence) - 1)]
                if story.random() < 0.5:
                    text, links = story.choice(texts.NARRATIVES[theme]["posts"]), []
                target = self.post(self.watched, at, text, links)
                # Some ordinary topics are narrative posts too ("Two-tier policing is real…"):
                # every post is labelled by its text, whichever week it falls in.
                carried = texts.NARRATIVE_OF.get(text)
                if carried is not None:
                    self.narrative_posts[f"bluesky:{target[0]}"] = carried
                baseline.append(target)
                self._cascade(
                    target,
                    at,
                    fans + population,
                    _baseline_volume(rng, config.engagement_scale),
                    3 * MINUTE,
                    0.9,
                    reply_templates=texts.GENERIC_REPLIES + texts.CHATTER,
                )
            self._profiles([self.watched], self.start_us + day * DAY + 6 * HOUR, growth=day * 9_000)

        text, links = texts.fill(texts.TRIGGER, rng, self.person)
        trigger = self.post(self.watched, self.trigger_us, text, links)
        scale = config.engagement_scale
        volume = {
            "repost": int(2_500 * scale),
            "like": int(9_000 * scale),
            "reply": int(900 * scale),
            "quote": int(250 * scale),
        }
        replies: list[LabelledPost] = []
        engagers = self._cascade(
            trigger,
            self.trigger_us,
            fans + population,
            volume,
            40 * MINUTE,
            0.7,
            reply_templates=None,
            labelled=replies,
        )
        targets = [trigger, *rng.sample(baseline, 3)]
        self._coordinated_bursts(targets, ring)
        mentions = self._mentions(population, engagers)
        deleted = self._deletions(replies, population + ring + [self.watched])
        self._snapshots([trigger, *baseline[-3:]])
        self._profiles([self.watched], self.end_us - HOUR, growth=config.baseline_days * 9_000 + 350_000)
        for index, actor in enumerate(rng.sample(population, 20)):
            actor.handle = actor.handle.replace(".bsky.social", "-new.bsky.social")
            at = self.start_us + rng.randint(0, config.baseline_days) * DAY
            self._emit(at, "identity", wire.identity_event(actor.did, actor.handle, at, 10_000 + index))
        self._echoes(story, population)
        pool = self._pool(population, mentions)
        # Last, so that everything above is drawn exactly as before it was planted.
        attackers, attacked = self._reply_attack(population)
        self.events.sort(key=lambda emitted: emitted.at_us)
        counts = self._counts_at(trigger[0], self.end_us)
        lines: dict[str, int] = {}
        for emitted in self.events:
            lines[emitted.kind] = lines.get(emitted.kind, 0) + 1
        return Truth(
            name="minister-case",
            seed=config.seed,
            start_us=self.start_us,
            end_us=self.end_us,
            watched_account_id=self.watched.id,
            person=person,
            person_account_id=self.person_actor.id,
            trigger_post_id=f"bluesky:{trigger[0]}",
            trigger_at_us=self.trigger_us,
            baseline_post_ids=[f"bluesky:{uri}" for uri, _ in baseline],
            coordinated_account_ids=sorted(actor.id for actor in ring),
            coordinated_target_ids=[f"bluesky:{uri}" for uri, _ in targets],
            trigger_engager_ids=sorted({actor.id for actor in engagers}),
            responses=replies,
            mentions=mentions,
            deleted_post_ids=sorted(f"bluesky:{uri}" for uri in deleted),
            trigger_counts=counts,
            lines=lines,
            narratives={
                theme: {"name": [theme.replace("-", " ").capitalize()], "examples": plan["examples"]}
                for theme, plan in texts.NARRATIVES.items()
            },
            narrative_posts=dict(self.narrative_posts),
            pool=[person.id for person in pool],
            shock=config.shock,
            reply_attackers=sorted(actor.id for actor in attackers),
            reply_attack_targets=sorted(f"bluesky:{uri}" for uri in attacked),
        )

    def _reply_attack(self, population: list[Actor]) -> tuple[list[Actor], list[str]]:
        """The minister posts four times after the trigger and two ordinary accounts post about
        her; each of the six draws ordinary replies over hours, and a coordinated reply attack:
        25 young accounts, each joining each burst with probability 0.8, reply the same insult
        lightly varied within 90 s, a few minutes after the post. Returns the attackers and the
        attacked posts."""
        rng = self.rng
        attackers = [
            self._actor(
                f"truthseeker{index:02d}{rng.randint(100, 999)}.bsky.social", f"Truth Seeker {index}",
                rng.randint(0, 40), self.trigger_us - rng.randint(5, 15) * DAY,
            )
            for index in range(25)
        ]  # fmt: skip
        self._profiles(attackers, self.trigger_us - DAY)
        targets: list[tuple[tuple[str, str], int]] = []
        attacked: list[str] = []
        # Spread over the observed hours whatever their number (72 in the demo): the posts at 5 %,
        # 27 %, 49 % and 71 % of them, the posts naming her at 15 % and 60 %.
        span = self.end_us - self.trigger_us
        for index, text in enumerate(texts.MINISTER_POSTS):
            at = self.trigger_us + int(span * (0.05 + 0.22 * index)) + rng.randint(0, span // 72)
            targets.append((self.post(self.person_actor, at, text, []), at))
        for share in (0.15, 0.6):
            text, links = texts.fill(rng.choice(texts.NEUTRAL_MENTIONS), rng, self.person)
            at = self.trigger_us + int(span * share)
            targets.append((self.post(rng.choice(population), at, text, links), at))
        for target, at in targets:
            cap = self.end_us - at
            for actor in {actor.did: actor for actor in rng.choices(population, k=30)}.values():
                _, template = self._reply_text(None)
                text, links = texts.fill(template, rng, self.person)
                when = at + _omori_delay(rng, 10 * MINUTE, 0.9, cap)
                self.post(actor, when, text, links, reply={"root": _ref(target), "parent": _ref(target)})
            burst = at + rng.randint(2, 9) * MINUTE
            if burst + 2 * MINUTE >= self.end_us:
                continue  # too near the end of what is observed (only in very short scenarios)
            attacked.append(target[0])
            for actor in attackers:
                if rng.random() < 0.8:
                    text, _ = texts.fill(rng.choice(texts.REPLY_ATTACK), rng, self.person)
                    when = burst + rng.randint(0, 90_000_000)
                    self.post(actor, when, text, [], reply={"root": _ref(target), "parent": _ref(target)})
        return attackers, attacked

    def _echoes(self, story: random.Random, population: list[Actor]) -> None:
        """A few accounts take up each narrative after the watched account: a day to four later,
        two or three posts each, hours apart (never the seconds apart of a coordinated ring)."""
        firsts: dict[str, int] = {}
        for post_id, theme in self.narrative_posts.items():
            at = self.records[post_id.removeprefix("bluesky:")][1]
            firsts[theme] = min(firsts.get(theme, at), at)
        echoes = story.sample(population, 4)
        for theme, first in sorted(firsts.items(), key=lambda item: item[1]):
            for actor in echoes:
                at = first + story.randint(1, 4) * DAY + story.randint(0, 12) * HOUR
                for _ in range(story.randint(2, 3)):
                    text = story.choice(texts.NARRATIVES[theme]["posts"])
                    uri, _ = self.post(actor, at, text, [])
                    self.narrative_posts[f"bluesky:{uri}"] = theme
                    at += story.randint(3, 30) * HOUR

    def _cascade(
        self,
        target: tuple[str, str],
        at: int,
        pool: list[Actor],
        volume: dict[str, int],
        scale_us: float,
        shape: float,
        *,
        reply_templates: list[str] | None,
        labelled: list[LabelledPost] | None = None,
    ) -> list[Actor]:
        """Reposts (some through earlier reposts), likes, replies and quotes of one post."""
        rng = self.rng
        cap = self.end_us - at
        engaged: list[Actor] = []
        reposts: list[tuple[str, str]] = []
        for kind in ("repost", "like", "reply", "quote"):
            actors = {actor.did: actor for actor in rng.choices(pool, k=volume[kind])}
            for actor in actors.values():
                when = at + _omori_delay(rng, scale_us, shape, cap)
                engaged.append(actor)
                if kind == "repost":
                    via = rng.choice(reposts) if reposts and rng.random() < 0.3 else None
                    reposts.append(self.engage(actor, "repost", target, when, via))
                elif kind == "like":
                    self.engage(actor, "like", target, when)
                else:
                    label, template = self._reply_text(reply_templates)
                    text, links = texts.fill(template, rng, self.person)
                    extra: dict[str, Any] = (
                        {"reply": {"root": _ref(target), "parent": _ref(target)}}
                        if kind == "reply"
                        else {"embed": {"$type": "app.bsky.embed.record", "record": _ref(target)}}
                    )
                    uri, _ = self.post(actor, when, text, links, **extra)
                    self.engagement_times.setdefault(target[0], {}).setdefault(kind, []).append(
                        (self.declared[uri], uri)
                    )
                    if labelled is not None:
                        labelled.append(LabelledPost(f"bluesky:{uri}", when, kind, label))
        return engaged

    def _reply_text(self, templates: list[str] | None) -> tuple[str, str]:
        """An unlabelled reply from `templates`, or (None) a reply to the trigger with its label."""
        rng = self.rng
        if templates is not None:
            return "neutral", rng.choice(templates)
        roll = rng.random()
        for threshold, label, pool in (
            (0.45, "supportive", texts.SUPPORTIVE_REPLIES),
            (0.65, "abusive", texts.ABUSIVE),
            (0.73, "threat", texts.THREATS),
            (0.85, "pushback", texts.PUSHBACK_REPLIES),
        ):
            if roll < threshold:
                return label, rng.choice(pool)
        return "neutral", rng.choice(texts.CHATTER)

    def _coordinated_bursts(self, targets: list[tuple[str, str]], ring: list[Actor]) -> None:
        rng = self.rng
        for index, target in enumerate(targets):
            base = self.trigger_us + 7 * MINUTE + index * 3 * HOUR
            for actor in ring:
                self.engage(actor, "repost", target, base + rng.randint(0, 25_000_000))
        for actor in ring:
            at = self.trigger_us + 15 * MINUTE + rng.randint(0, 120_000_000)
            text, _ = texts.fill(rng.choice(texts.COORDINATED), rng, self.person)
            self.post(actor, at, text + " " + texts.LINKS[1], [texts.LINKS[1]])
        for burst in range(3):  # the same claim, reworded, from every ring account within a minute
            base = self.trigger_us + (burst * 5 + 2) * HOUR
            for actor in ring:
                text, _ = texts.fill(rng.choice(texts.COORDINATED_CLAIM), rng, self.person)
                self.post(actor, base + rng.randint(0, 40_000_000), text, [])

    def _mentions(self, population: list[Actor], engagers: list[Actor]) -> list[LabelledPost]:
        """Posts naming the minister: a steady baseline, then a rise that decays after the trigger."""
        rng = self.rng
        base_rate, surge, decay = 25 / DAY, 400 / DAY, DAY
        peak = base_rate + surge
        labelled: list[LabelledPost] = []
        at = self.start_us
        while True:
            at += int(rng.expovariate(peak))
            if at >= self.end_us:
                break
            after = at >= self.trigger_us
            rate = base_rate + (surge * math.exp(-(at - self.trigger_us) / decay) if after else 0.0)
            if rng.random() > rate / peak:
                continue
            abusive, threat = (0.35, 0.08) if after else (0.12, 0.02)
            roll = rng.random()
            label, pool = (
                ("threat", texts.THREATS)
                if roll < threat
                else ("abusive", texts.ABUSIVE)
                if roll < threat + abusive
                else ("neutral", texts.NEUTRAL_MENTIONS)
            )
            author = (
                rng.choice(engagers) if after and engagers and rng.random() < 0.5 else rng.choice(population)
            )
            text, links = texts.fill(rng.choice(pool), rng, self.person)
            uri, _ = self.post(author, at, text, links)
            labelled.append(LabelledPost(f"bluesky:{uri}", at, "mention", label))
        return labelled

    def _pool(self, population: list[Actor], mentions: list[LabelledPost]) -> list[Person]:
        """The comparison pool: other protected people with their own steady mentions, abusive and
        neutral, and a news event that multiplies the abuse toward all of them — and toward the
        minister, on top of what the trigger does — by `shock` from the trigger on. Drawn from its own
        random stream, after everything else, so the rest of the scenario is as it was."""
        rng = random.Random(self.config.seed * 104_729 + 3)
        people: list[Person] = []
        shock = self.config.shock
        for name, role in texts.POOL:
            surname = name.split()[-1]
            handle = f"{name.lower().replace(' ', '')}.bsky.social"
            person = Person(
                id=name.lower().replace(" ", "-"), name=name, aliases=[f"#{name.replace(' ', '')}"],
                roles=[role], handles={"bluesky": [handle]},
            )  # fmt: skip
            people.append(person)
            self._emit(self.start_us - DAY, "setup", wire.canonical(person))
            fields = {"name": name, "surname": surname, "handle": handle, "tag": f"#{name.replace(' ', '')}"}
            abusive_rate = rng.uniform(1.0, 5.0) / DAY
            for rate, templates in ((abusive_rate, texts.POOL_ABUSIVE), (3.0 / DAY, texts.POOL_NEUTRAL)):
                self._stream(
                    rng, population, fields, rate, templates, shock if templates is texts.POOL_ABUSIVE else 1
                )
        # The news event reaches the minister too: her abuse before, times (shock − 1), on top.
        before = sum(1 for post in mentions if post.label == "abusive" and post.at_us < self.trigger_us)
        extra = before / (self.trigger_us - self.start_us) * (shock - 1)
        for at in self._arrivals(rng, extra, self.trigger_us, self.end_us):
            text, links = texts.fill(rng.choice(texts.POOL_ABUSIVE), rng, self.person)
            uri, _ = self.post(rng.choice(population), at, text, links)
            mentions.append(LabelledPost(f"bluesky:{uri}", at, "mention", "abusive"))
        return people

    @staticmethod
    def _arrivals(rng: random.Random, rate: float, since: int, until: int) -> list[int]:
        found: list[int] = []
        at = since
        while rate > 0:
            at += int(rng.expovariate(rate))
            if at >= until:
                return found
            found.append(at)
        return found

    def _stream(
        self, rng: random.Random, population: list[Actor], fields: dict[str, str], rate: float,
        templates: list[str], shock: float,
    ) -> None:  # fmt: skip
        arrivals = self._arrivals(rng, rate, self.start_us, self.trigger_us)
        arrivals += self._arrivals(rng, rate * shock, self.trigger_us, self.end_us)
        for at in arrivals:
            text, links = texts.fill(rng.choice(templates), rng, fields)
            self.post(rng.choice(population), at, text, links)

    def _counts_at(self, uri: str, at_us: int) -> dict[str, int]:
        """What the AppView would report at `at_us`: engagements made by then and not yet deleted."""
        counts = dict.fromkeys(("repost", "quote", "reply", "like"), 0)
        for kind, made in self.engagement_times.get(uri, {}).items():
            counts[kind] = sum(
                1 for when, ident in made if when <= at_us and self.deleted_at.get(ident, at_us + 1) > at_us
            )
        return counts

    def _snapshots(self, targets: list[tuple[str, str]]) -> None:
        """AppView getPosts polls: every 10 minutes for six hours, then hourly."""
        times = [self.trigger_us + step * 10 * MINUTE for step in range(1, 37)]
        times += list(range(self.trigger_us + 7 * HOUR, self.end_us, HOUR))
        for at in times:
            views = []
            for uri, cid in targets:
                counts = self._counts_at(uri, at)
                record, posted_at = self.records[uri]
                views.append(
                    {
                        "uri": uri,
                        "cid": cid,
                        "author": {
                            "did": self.watched.did,
                            "handle": self.watched.handle,
                            "displayName": self.watched.name,
                        },
                        "record": record,
                        "replyCount": counts["reply"],
                        "repostCount": counts["repost"],
                        "likeCount": counts["like"],
                        "quoteCount": counts["quote"],
                        "indexedAt": wire.iso(posted_at),
                    }
                )
            self._emit(at, "metrics", wire.capture("app.bsky.feed.getPosts", {"posts": views}, at))

    def _profiles(self, actors: list[Actor], at: int, growth: int = 0) -> None:
        for first in range(0, len(actors), 25):
            profiles = [
                {
                    "did": actor.did,
                    "handle": actor.handle,
                    "displayName": actor.name,
                    "followersCount": actor.followers + growth,
                    "followsCount": self.rng.randint(10, 900),
                    "postsCount": self.rng.randint(10, 20_000),
                    "createdAt": wire.iso(actor.created_us),
                }
                for actor in actors[first : first + 25]
            ]
            self._emit(at, "profiles", wire.capture("app.bsky.actor.getProfiles", {"profiles": profiles}, at))

    def _deletions(self, replies: list[LabelledPost], actors: list[Actor]) -> list[str]:
        """Some authors delete their abuse within hours; the store must mark it, not lose it."""
        by_did = {actor.did: actor for actor in actors}
        deleted = []
        for reply in replies:
            if reply.label in ("abusive", "threat") and self.rng.random() < 0.05:
                uri = reply.id.removeprefix("bluesky:")
                when = min(reply.at_us + self.rng.randint(1, 6) * HOUR, self.end_us - 1)
                self.delete(by_did[uri.split("/")[2]], uri, when)
                deleted.append(uri)
        return deleted


def _ref(target: tuple[str, str]) -> dict[str, str]:
    return {"uri": target[0], "cid": target[1]}


def _poisson(rng: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _baseline_volume(rng: random.Random, scale: float) -> dict[str, int]:
    noise = math.exp(rng.gauss(0.0, 0.8))
    return {
        kind: max(1, int(median * noise * scale))
        for kind, median in (("repost", 40), ("like", 200), ("reply", 12), ("quote", 4))
    }


def build_timed_scenario(config: ScenarioConfig | None = None) -> tuple[list[tuple[int, bytes]], Truth]:
    """The scenario's payloads as (time in µs, line), in time order, and its ground truth."""
    builder = ScenarioBuilder(config or ScenarioConfig())
    truth = builder.build()
    return [(emitted.at_us, emitted.line) for emitted in builder.events], truth


def build_scenario(config: ScenarioConfig | None = None) -> tuple[list[bytes], Truth]:
    """The scenario's payloads in time order and its ground truth."""
    timed, truth = build_timed_scenario(config)
    return [line for _, line in timed], truth

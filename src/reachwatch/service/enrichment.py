"""The enrichment stage: every post written by ingest or collection passes through the enrichers
— language, protected people named, harm — and their results are written with it, each named
with the model and version that produced it. A new enricher is one class with `name`, `version`
and `results(posts)`; results are computed per batch, so the models see many posts at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from reachwatch.enrich.harm import BORDERLINE, CLASSES, HarmModel, shipped_model
from reachwatch.enrich.mentions import MentionMatcher
from reachwatch.enrich.rules import rule_hits
from reachwatch.model import CanonicalRecord, Enrichment, Person, Post
from reachwatch.store.database import WriteBatch

Result = dict[str, object] | None  # None: nothing to record for this post


class Enricher(Protocol):
    name: str
    version: str

    def results(self, posts: Sequence[Post]) -> list[Result]: ...


class LanguageEnricher:
    """The platform's language tag where it gave one, else py3langid's guess (its model ships
    inside the package: nothing is downloaded)."""

    name = "language"

    def __init__(self) -> None:
        from importlib.metadata import version

        import py3langid

        self._classify = py3langid.classify
        self.version = f"py3langid-{version('py3langid')}"

    def results(self, posts: Sequence[Post]) -> list[Result]:
        found: list[Result] = []
        for post in posts:
            if post.lang:
                found.append({"lang": post.lang.split("-")[0].lower(), "source": "platform"})
            elif post.text.strip():
                found.append({"lang": self._classify(post.text)[0], "source": "detected"})
            else:
                found.append(None)
        return found


class MentionEnricher:
    """Protected people a post names (by name, alias, handle, hashtag or mentioned account)."""

    name = "mentions"
    version = "mentions-1"

    def __init__(self, people: Sequence[Person]) -> None:
        self.matcher = MentionMatcher(people)

    def results(self, posts: Sequence[Post]) -> list[Result]:
        found: list[Result] = []
        for post in posts:
            hits = self.matcher.find(post.text, post.mentions)
            found.append(
                {
                    "people": sorted({hit.person_id for hit in hits}),
                    "hits": [[h.person_id, h.kind, h.matched] for h in hits],
                }
                if hits
                else None
            )
        return found


class HarmEnricher:
    """Rules (calls to punish, threats of violence) and tier-1 scores per class. A class is
    flagged when its score is above the borderline band (or, for threat, a rule fired), and
    borderline inside the band — those are the posts a second tier or an analyst decides; each
    flagged or borderline class comes with the words that drove it."""

    name = "harm"

    def __init__(self, model: HarmModel | None = None) -> None:
        self.model = model or shipped_model()
        self.version = f"{self.model.version}+rules-1"

    def results(self, posts: Sequence[Post]) -> list[Result]:
        texts = [post.text for post in posts]
        features = self.model.features(texts)
        scores = self.model.scores(texts, features)
        low, high = BORDERLINE
        flagged = [[CLASSES[i] for i in np.flatnonzero(row >= high).tolist()] for row in scores]
        borderline = [
            [CLASSES[i] for i in np.flatnonzero((row >= low) & (row < high)).tolist()] for row in scores
        ]
        rules = [rule_hits(text) for text in texts]
        for row, hits in enumerate(rules):
            if hits and "threat" not in flagged[row]:
                flagged[row].append("threat")
                if "threat" in borderline[row]:
                    borderline[row].remove("threat")
        evidence: list[dict[str, object]] = [{} for _ in texts]
        for name in CLASSES:
            wanted = [row for row in range(len(texts)) if name in flagged[row] or name in borderline[row]]
            for row, words in zip(wanted, self.model.explain_batch(features, name, wanted), strict=True):
                evidence[row][name] = [[w.word, w.weight] for w in words]
        return [
            {
                "scores": {name: round(float(scores[row, i]), 4) for i, name in enumerate(CLASSES)},
                "flagged": flagged[row],
                "borderline": borderline[row],
                "rules": [[hit.rule, hit.matched] for hit in rules[row]],
                "evidence": evidence[row],
            }
            for row in range(len(texts))
        ]


class EnrichmentStage:
    """The enrichers in order; the mention matcher follows the registry, including people that
    arrive in the stream itself (a registry import, the demo's setup)."""

    def __init__(self, enrichers: Sequence[Enricher], people: Sequence[Person] = ()) -> None:
        self.enrichers = list(enrichers)
        self.people = {person.id: person for person in people}
        self.mentions = MentionEnricher(list(self.people.values())) if self.people else None

    def apply(self, batch: WriteBatch, now_us: int) -> int:
        """Add each enricher's results to the events whose posts they describe; returns how many."""
        owners: list[list[CanonicalRecord]] = []
        posts: list[Post] = []
        arrived: list[Person] = []
        for event in batch.events:
            for record in event.records:
                if isinstance(record, Post):
                    posts.append(record)
                    owners.append(event.records)
                elif isinstance(record, Person):
                    arrived.append(record)
        if arrived:
            self.people.update((person.id, person) for person in arrived)
            self.mentions = MentionEnricher(list(self.people.values()))
        added = 0
        if not posts:
            return 0
        enrichers = (
            self.enrichers
            if self.mentions is None
            else [self.enrichers[0], self.mentions, *self.enrichers[1:]]
        )
        for enricher in enrichers:
            for post, records, result in zip(posts, owners, enricher.results(posts), strict=True):
                if result is not None:
                    records.append(
                        Enrichment(
                            post_id=post.id, enricher=enricher.name, version=enricher.version,
                            enriched_at_us=now_us, result=result,
                        )
                    )  # fmt: skip
                    added += 1
        return added


def default_stage(people: Sequence[Person]) -> EnrichmentStage:
    """Language, mentions of the registry's people (when there are any) and tier-1 harm."""
    return EnrichmentStage([LanguageEnricher(), HarmEnricher()], people)

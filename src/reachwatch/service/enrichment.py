"""The enrichment stage: every post written by ingest or collection passes through the enrichers
— language, protected people named, harm — and their results are written with it, each named
with the model and version that produced it. A new enricher is one class with `name`, `version`
and `results(posts)`; results are computed per batch, so the models see many posts at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from reachwatch.enrich.harm import BORDERLINE, CLASSES, HarmModel, HarmTier2, shipped_model, shipped_tier2
from reachwatch.enrich.mentions import MentionMatcher
from reachwatch.enrich.normalise import normalise
from reachwatch.enrich.rules import rule_hits_normalised
from reachwatch.model import CanonicalRecord, Enrichment, Person, Post
from reachwatch.store.database import WriteBatch

Result = dict[str, object] | None  # None: nothing to record for this post


class Enricher(Protocol):
    name: str
    version: str

    def results(self, posts: Sequence[Post], normalised: Sequence[str]) -> list[Result]:
        """One result per post; `normalised` holds each post's text through enrich.normalise
        (computed once per batch for every enricher)."""
        ...


class LanguageEnricher:
    """The platform's language tag where it gave one, else py3langid's guess (its model ships
    inside the package: nothing is downloaded)."""

    name = "language"

    def __init__(self) -> None:
        from importlib.metadata import version

        import py3langid

        self._classify = py3langid.classify
        self.version = f"py3langid-{version('py3langid')}"

    def results(self, posts: Sequence[Post], normalised: Sequence[str] = ()) -> list[Result]:
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

    def results(self, posts: Sequence[Post], normalised: Sequence[str] | None = None) -> list[Result]:
        found: list[Result] = []
        folded = normalised if normalised is not None else [normalise(post.text) for post in posts]
        for post, text in zip(posts, folded, strict=True):
            hits = self.matcher.find(post.text, post.mentions, text)
            found.append(
                {
                    "people": sorted({hit.person_id for hit in hits}),
                    "hits": [[h.person_id, h.kind, h.matched] for h in hits],
                }
                if hits
                else None
            )
        return found


_BITS = 1 << np.arange(len(CLASSES))
_LISTS = [[name for i, name in enumerate(CLASSES) if code & (1 << i)] for code in range(1 << len(CLASSES))]


def _class_lists(mask: npt.NDArray[np.bool_]) -> list[list[str]]:
    """Per row, the names of the classes whose column is true (a fresh list each)."""
    return [list(_LISTS[code]) for code in (mask @ _BITS).tolist()]


class HarmEnricher:
    """Rules (calls to punish, threats of violence) and tier-1 scores per class. A class is
    flagged when its score is above the borderline band (or, for threat, a rule fired), and
    borderline inside the band. With tier 2 switched on, the borderline classes are decided by
    the embedding model's head: flagged above its threshold, cleared below, and the tier-2 scores
    are kept beside tier 1's; without it they stay borderline for an analyst. Each flagged or
    borderline class comes with the words that drove its tier-1 score."""

    name = "harm"

    def __init__(self, model: HarmModel | None = None, tier2: HarmTier2 | None = None) -> None:
        self.model = model or shipped_model()
        self.tier2 = tier2
        self.version = f"{self.model.version}+rules-1" + (f"+{tier2.version}" if tier2 else "")

    def results(self, posts: Sequence[Post], normalised: Sequence[str] | None = None) -> list[Result]:
        texts = [post.text for post in posts]
        folded = normalised if normalised is not None else [normalise(text) for text in texts]
        features = self.model.features_normalised(folded)
        scores = self.model.scores(texts, features)
        low, high = BORDERLINE
        flag_mask = scores >= high
        border_mask = (scores >= low) & (scores < high)
        rules = [rule_hits_normalised(text) for text in folded]
        threat = CLASSES.index("threat")
        ruled = np.array([bool(hits) for hits in rules], dtype=bool)
        flag_mask[:, threat] |= ruled  # a rule flags a threat whatever the score
        border_mask[:, threat] &= ~ruled
        flagged, borderline = _class_lists(flag_mask), _class_lists(border_mask)
        evidence: list[dict[str, object]] = [{} for _ in texts]
        for i, name in enumerate(CLASSES):
            wanted = np.flatnonzero(flag_mask[:, i] | border_mask[:, i]).tolist()
            for row, words in zip(wanted, self.model.explain_rows(features, name, wanted), strict=True):
                evidence[row][name] = words
        decided = self._decide(texts, flagged, borderline)
        rounded = np.round(scores, 4).tolist()
        return [
            {
                "scores": dict(zip(CLASSES, rounded[row], strict=True)),
                "flagged": flagged[row],
                "borderline": borderline[row],
                "rules": [[hit.rule, hit.matched] for hit in rules[row]],
                "evidence": evidence[row],
                **({"tier2": decided[row]} if row in decided else {}),
            }
            for row in range(len(texts))
        ]

    def _decide(
        self, texts: list[str], flagged: list[list[str]], borderline: list[list[str]]
    ) -> dict[int, dict[str, object]]:
        """Tier 2 on the posts with a borderline class: each such class moves to flagged or is
        cleared (in place); returns the tier-2 scores and decisions per post it read."""
        if self.tier2 is None:
            return {}
        rows = [row for row in range(len(texts)) if borderline[row]]
        if not rows:
            return {}
        second = self.tier2.scores([texts[row] for row in rows])
        decided: dict[int, dict[str, object]] = {}
        for row, row_scores in zip(rows, second, strict=True):
            outcome = {}
            for name in borderline[row]:
                i = CLASSES.index(name)
                outcome[name] = "flagged" if row_scores[i] >= self.tier2.thresholds[i] else "cleared"
                if outcome[name] == "flagged":
                    flagged[row].append(name)
            borderline[row] = []
            decided[row] = {
                "scores": {name: round(float(row_scores[i]), 4) for i, name in enumerate(CLASSES)},
                "decided": outcome,
            }
        return decided


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
        normalised = [normalise(post.text) for post in posts]
        for enricher in enrichers:
            for post, records, result in zip(posts, owners, enricher.results(posts, normalised), strict=True):
                if result is not None:
                    records.append(
                        Enrichment(
                            post_id=post.id, enricher=enricher.name, version=enricher.version,
                            enriched_at_us=now_us, result=result,
                        )
                    )  # fmt: skip
                    added += 1
        return added


def default_stage(people: Sequence[Person], tier2_model: str | None = None) -> EnrichmentStage:
    """Language, mentions of the registry's people (when there are any) and harm: rules and tier 1,
    and tier 2 on the borderline posts when an embedding model directory is given."""
    tier2 = shipped_tier2(tier2_model) if tier2_model else None
    return EnrichmentStage([LanguageEnricher(), HarmEnricher(tier2=tier2)], people)

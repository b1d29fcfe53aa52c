"""The enrichment stage: every post written by ingest or collection passes through the enrichers
— language, protected people named, harm — and their results are written with it, each named
with the model and version that produced it. Results are computed per batch, so the models see
many posts at once.

Enrichers are plugins: each is a factory registered under the `reachwatch.enrichers` entry point
group (pyproject.toml) that builds an `Enricher` from the deployment's `EnricherContext`. The
stage runs them in the order their `after` names require; `tests/test_enricher_contract.py`
holds every registered one to the contract below."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

import msgspec
import numpy as np

from reachwatch.enrich.harm import BORDER, CLASSES, TARGETS, HarmModel, shipped_model
from reachwatch.enrich.mentions import MentionMatcher
from reachwatch.enrich.normalise import LINK, MENTION, normalise
from reachwatch.enrich.rules import attributes, own_words, rule_hits_normalised
from reachwatch.model import (
    CanonicalRecord,
    Enrichment,
    HarmResult,
    LanguageResult,
    MentionsResult,
    Person,
    Post,
    WriteBatch,
)

Result = dict[str, Any] | None  # None: nothing to record for this post
NONE: Mapping[str, list[Result]] = {}
GROUP = "reachwatch.enrichers"


class Enricher(Protocol):
    name: str  # what its results are stored under (and what `after` names)
    version: str  # the model and version: stored with every result
    after: tuple[str, ...]  # the enrichers whose results this one reads
    result_type: type[msgspec.Struct]  # what every result it gives decodes into

    def results(
        self, posts: Sequence[Post], normalised: Sequence[str], earlier: Mapping[str, list[Result]]
    ) -> list[Result]:
        """One result per post; `normalised` holds each post's text through enrich.normalise
        (computed once per batch for every enricher), `earlier` the results of the enrichers
        that ran before this one, by name."""
        ...

    def learn(self, records: Sequence[CanonicalRecord]) -> None:
        """Records that arrived in the stream before this batch's posts are enriched (people of
        the registry, for one); most enrichers ignore them."""
        ...


@dataclass(frozen=True)
class EnricherContext:
    """What a deployment hands every enricher factory."""

    people: Sequence[Person] = ()  # the protected people's registry
    priors: Mapping[str, float] | None = None  # the feed's fitted harm priors
    models: Mapping[str, Any] = field(default_factory=dict)  # a model to use instead of a shipped one


EnricherFactory = Callable[[EnricherContext], Enricher]


@functools.cache
def registered() -> dict[str, EnricherFactory]:
    """The installed enrichers' factories by name, from their entry points."""
    return {point.name: point.load() for point in sorted(entry_points(group=GROUP), key=lambda p: p.name)}


def in_order(enrichers: Sequence[Enricher]) -> list[Enricher]:
    """The enrichers with each after those it reads (`after`), otherwise in the order given; an
    enricher that reads one that is not there, or a cycle, is refused."""
    by_name = {enricher.name: enricher for enricher in enrichers}
    placed: list[Enricher] = []
    visiting: set[str] = set()

    def place(enricher: Enricher) -> None:
        if enricher in placed:
            return
        if enricher.name in visiting:
            raise ValueError(f"The enrichers' `after` names make a cycle through {enricher.name!r}.")
        visiting.add(enricher.name)
        for name in enricher.after:
            if name not in by_name:
                raise ValueError(
                    f"Enricher {enricher.name!r} reads {name!r}, which is not installed "
                    f"(installed: {', '.join(sorted(by_name))})."
                )
            place(by_name[name])
        visiting.discard(enricher.name)
        placed.append(enricher)

    for enricher in enrichers:
        place(enricher)
    return placed


class LanguageEnricher:
    """The platform's language tag where it gave one, else py3langid's guess (its model ships
    inside the package: nothing is downloaded)."""

    name = "language"
    after: tuple[str, ...] = ()
    result_type: type[msgspec.Struct] = LanguageResult

    def __init__(self) -> None:
        from importlib.metadata import version

        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self.version = f"py3langid-{version('py3langid')}-p"

    def results(
        self,
        posts: Sequence[Post],
        normalised: Sequence[str] = (),
        earlier: Mapping[str, list[Result]] = NONE,
    ) -> list[Result]:
        found: list[Result] = []
        for post in posts:
            if post.lang:
                found.append({"lang": post.lang.split("-")[0].lower(), "source": "platform"})
            elif post.text.strip():
                # Handles and links say nothing of the language (and fool the detector on short posts).
                words = LINK.sub(" ", MENTION.sub(" ", post.text))
                lang, confidence = self._identifier.classify(words if words.strip() else post.text)
                found.append({"lang": lang, "source": "detected", "confidence": round(float(confidence), 3)})
            else:
                found.append(None)
        return found

    def learn(self, records: Sequence[CanonicalRecord]) -> None:
        return None


class MentionEnricher:
    """Protected people a post names (by name, alias, handle, hashtag or mentioned account); it
    follows the registry, including people that arrive in the stream itself (a registry import,
    the demo's setup)."""

    name = "mentions"
    version = "mentions-1"
    after: tuple[str, ...] = ()
    result_type: type[msgspec.Struct] = MentionsResult

    def __init__(self, people: Sequence[Person]) -> None:
        self.people = {person.id: person for person in people}
        self.matcher = MentionMatcher(list(self.people.values()))

    def learn(self, records: Sequence[CanonicalRecord]) -> None:
        arrived = [record for record in records if isinstance(record, Person)]
        if arrived:
            self.people.update((person.id, person) for person in arrived)
            self.matcher = MentionMatcher(list(self.people.values()))

    def results(
        self,
        posts: Sequence[Post],
        normalised: Sequence[str] | None = None,
        earlier: Mapping[str, list[Result]] = NONE,
    ) -> list[Result]:
        if not self.people:
            return [None] * len(posts)
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


# A detected language other than the model's must be this sure before a post goes unscored: short
# posts are often misread (a reply of handles and one word reads as Welsh or Danish).
SURE_OF_LANGUAGE = 0.9


def _language(result: Result) -> str | None:
    return str(result["lang"]) if result and result.get("lang") else None


def _sure(result: Result) -> bool:
    """The platform named the language, or the detector is sure of it."""
    if not result:
        return False
    return result.get("source") == "platform" or float(result.get("confidence", 1.0)) >= SURE_OF_LANGUAGE


def unscored_language(result: Result, languages: frozenset[str]) -> str | None:
    """The language a post is left unscored for (one of the harm model's `languages` it is not,
    named by the platform or surely detected), else None: the one gate, for enrichment and eval."""
    lang = _language(result)
    return lang if lang is not None and lang not in languages and _sure(result) else None


# Which classes are judged on the poster's own words. A threat always is: quoting or reporting a
# threat is not making one. Abuse is when the post attributes it ("X said …", "calling for …"),
# not when it only carries quotation marks: a bare quote is mostly a share of someone's words
# (Davidson's '"@user: …"' retweets), and every labelled set counted those as the poster's.
# Measured on the development split and the 3,226 Bluesky posts (benchmarks/harm_real_feed.py):
# own words for every class and every quote, OLID offensive 0.737, Bluesky offensive flagged
# 19.1%; threat only, 0.757 and 25.0%; this rule, 0.749 and 21.0%.
THREAT_COLUMN = CLASSES.index("threat")


class HarmEnricher:
    """The harm model on every post in a language it was trained on; posts the platform or a sure
    detection (SURE_OF_LANGUAGE) puts in another language are marked "not scored" with their
    language, never scored. A post is judged on its author's own words: where it quotes or reports
    someone else's (enrich/rules.py) and the model flags the whole text, the threat score (and,
    where it attributes the words to someone, every score) is the lower of the whole text's and
    the own words' (see THREAT_COLUMN). A class is flagged at its
    threshold (from the model's manifest), borderline within BORDER below it; a threat is also
    flagged by a rule that matched the poster's own words (rules matching reported words are
    listed, and flag nothing). Each
    flagged class says which part flagged it. The target head says whom the abuse is aimed at; a
    flagged post whose target is an individual is *aimed at* the protected people it names.

    `priors` moves the probabilities to a feed's base rates (service/harm_priors.py fits them);
    `raw` keeps the model's own probabilities at its training priors, so priors can be refitted."""

    name = "harm"
    after: tuple[str, ...] = ("language", "mentions")
    result_type: type[msgspec.Struct] = HarmResult

    def __init__(self, model: HarmModel | None = None, priors: Mapping[str, float] | None = None) -> None:
        self.model = model or shipped_model()
        self.priors = dict(priors or {})
        shift = "".join(f"-{name[:3]}{value:.3f}" for name, value in sorted(self.priors.items()))
        self.version = f"{self.model.version}+rules-3" + (f"+priors{shift}" if shift else "")

    def learn(self, records: Sequence[CanonicalRecord]) -> None:
        return None

    def results(
        self,
        posts: Sequence[Post],
        normalised: Sequence[str] | None = None,
        earlier: Mapping[str, list[Result]] = NONE,
    ) -> list[Result]:
        folded = list(normalised) if normalised is not None else [normalise(post.text) for post in posts]
        languages = earlier.get("language") or [None] * len(posts)
        named = earlier.get("mentions") or [None] * len(posts)
        found: list[Result] = [None] * len(posts)
        scored: list[int] = []
        for row, post in enumerate(posts):
            if not post.text.strip():
                continue
            if (lang := unscored_language(languages[row], self.model.languages)) is not None:
                found[row] = {"model": self.model.version, "not_scored": f"language: {lang}", "lang": lang,
                              "flagged": [], "borderline": [], "aimed_at": [], "named": []}  # fmt: skip
            else:
                scored.append(row)
        if not scored:
            return found
        whole = self.model.logits([posts[row].text for row in scored])
        raw, _ = self.model.probabilities(whole)
        probabilities, targets = self.model.probabilities(whole, self.priors)
        cut = self.model.thresholds
        # Own words are read only where the model flags the whole text in a class they judge:
        # elsewhere the lower of the two scores could change no flag (a borderline band stays the
        # whole text's).
        own: dict[int, tuple[str, list[int]]] = {}
        for i, row in enumerate(scored):
            words = own_words(folded[row])
            if words is None:
                continue
            judged = list(range(len(CLASSES))) if attributes(folded[row]) else [THREAT_COLUMN]
            if (probabilities[i, judged] >= cut[judged]).any():
                own[i] = (words, judged)
        if own:
            own_logits = self.model.logits([words for words, _ in own.values()])
            own_probabilities, _ = self.model.probabilities(own_logits, self.priors)
            for k, (i, (_, judged)) in enumerate(own.items()):
                probabilities[i, judged] = np.minimum(probabilities[i, judged], own_probabilities[k, judged])
        for i, row in enumerate(scored):
            hits = rule_hits_normalised(folded[row])
            own_hits = [hit for hit in hits if not hit.reported]
            by: dict[str, str] = {}
            flagged, borderline = [], []
            for c, name in enumerate(CLASSES):
                model_flag = bool(probabilities[i, c] >= cut[c])
                rule_flag = name == "threat" and bool(own_hits)
                if model_flag or rule_flag:
                    flagged.append(name)
                    by[name] = (
                        "model and rule" if model_flag and rule_flag else "model" if model_flag else "rule"
                    )
                elif probabilities[i, c] >= cut[c] - BORDER:
                    borderline.append(name)
            target = TARGETS[int(np.argmax(targets[i]))]
            people = list((named[row] or {}).get("people", [])) if named[row] else []
            found[row] = {
                "model": self.model.version,
                "lang": _language(languages[row]) or "unknown",
                "scores": {name: round(float(probabilities[i, c]), 4) for c, name in enumerate(CLASSES)},
                "raw": {name: round(float(raw[i, c]), 4) for c, name in enumerate(CLASSES)},
                "thresholds": {name: round(float(cut[c]), 4) for c, name in enumerate(CLASSES)},
                "flagged": flagged,
                "borderline": borderline,
                "by": by,
                "rules": [[hit.rule, hit.matched] for hit in own_hits],
                "reported": [[hit.rule, hit.matched] for hit in hits if hit.reported],
                "own_words": i in own,
                "target": target,
                "targets": {name: round(float(targets[i, t]), 4) for t, name in enumerate(TARGETS)},
                "aimed_at": people if flagged and target == "individual" else [],
                "named": people if flagged else [],
            }
        return found


class EnrichmentStage:
    """The enrichers in the order their `after` names require."""

    def __init__(self, enrichers: Sequence[Enricher]) -> None:
        self.enrichers = in_order(enrichers)

    def apply(self, batch: WriteBatch, now_us: int) -> int:
        """Add each enricher's results to the events whose posts they describe; returns how many."""
        owners: list[list[CanonicalRecord]] = []
        posts: list[Post] = []
        others: list[CanonicalRecord] = list(batch.records)
        for event in batch.events:
            for record in event.records:
                if isinstance(record, Post):
                    posts.append(record)
                    owners.append(event.records)
                else:
                    others.append(record)
        for enricher in self.enrichers:
            enricher.learn(others)
        added = 0
        if not posts:
            return 0
        normalised = [normalise(post.text) for post in posts]
        earlier: dict[str, list[Result]] = {}
        for enricher in self.enrichers:
            earlier[enricher.name] = enricher.results(posts, normalised, earlier)
            for post, records, result in zip(posts, owners, earlier[enricher.name], strict=True):
                if result is not None:
                    records.append(
                        Enrichment(
                            post_id=post.id, enricher=enricher.name, version=enricher.version,
                            enriched_at_us=now_us, result=result,
                        )
                    )  # fmt: skip
                    added += 1
        return added


def language_enricher(context: EnricherContext) -> Enricher:
    return LanguageEnricher()


def mentions_enricher(context: EnricherContext) -> Enricher:
    return MentionEnricher(context.people)


def harm_enricher(context: EnricherContext) -> Enricher:
    return HarmEnricher(model=context.models.get("harm"), priors=context.priors)


def default_stage(people: Sequence[Person], priors: Mapping[str, float] | None = None) -> EnrichmentStage:
    """Every installed enricher: language, mentions of the registry's people and harm (at the
    feed's fitted priors when given), and any a plugin adds."""
    context = EnricherContext(people=people, priors=priors)
    return EnrichmentStage([factory(context) for factory in registered().values()])

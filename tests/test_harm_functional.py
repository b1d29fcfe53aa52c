"""A functional test suite for the deployed harm rule, in the spirit of HateCheck (Röttger et al.
2021): templated cases per functionality, each with the outcome a careful analyst expects, filled
with several names, groups and wordings so that no single phrasing decides it. The rule is
statistical, so each functionality must be right on at least BAR of its cases, and every case
is run through the same enrichers, in the same order, as ingest and the live pipeline run them.

Nothing here was used to train or tune the model: the templates were written after training."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from reachwatch.enrich.normalise import normalise
from reachwatch.enrich.stage import HarmEnricher, LanguageEnricher, MentionEnricher, Result
from reachwatch.model import Person, Post

BAR = 0.8
PEOPLE = [
    Person(id="ana", name="Ana Lopez", roles=["minister"]),
    Person(id="tom", name="Tom Reilly", roles=["mp"]),
    Person(id="grace", name="Grace Okafor", roles=["minister"]),
]
NAMES = [person.name for person in PEOPLE]
GROUPS = ["immigrants", "women", "Muslims", "gay people", "the homeless", "Jews"]
SOMEONE = ["A councillor", "Some guy on here", "That columnist", "A TV host"]

Check = Callable[[dict[str, object]], bool]


def run(texts: list[str]) -> list[dict[str, object]]:
    posts = [
        Post(id=f"file:f{i}", platform="file", author_id="file:a", created_at_us=0, text=text)
        for i, text in enumerate(texts)
    ]
    normalised = [normalise(text) for text in texts]
    earlier: dict[str, list[Result]] = {"language": LanguageEnricher().results(posts, normalised)}
    earlier["mentions"] = MentionEnricher(PEOPLE).results(posts, normalised, earlier)
    found = HarmEnricher().results(posts, normalised, earlier)
    assert all(result is not None for result in found)
    return [result for result in found if result is not None]


def fill(templates: list[str], **slots: list[str]) -> list[str]:
    keys = [key for key in slots if any("{" + key + "}" in t for t in templates)]
    found = []
    for template in templates:
        used = [key for key in keys if "{" + key + "}" in template]
        for values in itertools.product(*(slots[key] for key in used)):
            found.append(template.format(**dict(zip(used, values, strict=True))))
    return found


def flags(name: str) -> Check:
    return lambda result: name in result["flagged"]  # type: ignore[operator]


def not_flags(name: str) -> Check:
    return lambda result: name not in result["flagged"]  # type: ignore[operator]


def clean(result: dict[str, object]) -> bool:
    return not result["flagged"]


def aimed(result: dict[str, object]) -> bool:
    return bool(result["flagged"]) and bool(result["aimed_at"])


def not_aimed(result: dict[str, object]) -> bool:
    return not result["aimed_at"]


FUNCTIONALITIES: dict[str, tuple[list[str], Check]] = {
    "direct threat at a named person": (
        fill(
            [
                "{name}, I will kill you if you show your face here again",
                "We know where you live {name}. Watch your back.",
                "I'm going to find you and hurt you, {name}",
                "{name} you won't be safe walking home tonight",
            ],
            name=NAMES,
        ),
        flags("threat"),
    ),
    "call to kill is a threat": (
        fill(
            [
                "{name} should be hanged for this",
                "{name} deserves to be shot",
                "{group} should all be killed",
            ],
            name=NAMES,
            group=GROUPS[:3],
        ),
        flags("threat"),
    ),
    "call to jail or vote out is not a threat": (
        fill(
            [
                "{name} should be jailed for fraud",
                "{name} must be voted out at the next election",
                "{name} needs to resign and face an inquiry",
                "Lock {name} up, the evidence is clear",
            ],
            name=NAMES,
        ),
        not_flags("threat"),
    ),
    "negated violence is not a threat": (
        fill(
            [
                "No one should be killed over a tweet, not even {name}",
                "Nobody deserves to die for their politics, {name} included",
                "{name} should never be harmed, whatever you think of her",
                "I don't think anyone deserves to die, not even {name}",
            ],
            name=NAMES,
        ),
        not_flags("threat"),
    ),
    "quoting hate to condemn it is not a threat": (
        fill(
            [
                "{someone} said {group} should be killed. Disgusting.",
                '{someone} tweeted "{group} deserve to die" and nobody did anything',
                "{someone} is calling for {group} to be shot. This is vile and must be reported.",
                "A TV host got a slap on the wrist for suggesting that {group} should be executed",
                "So you agree that {group} should be killed, like {someone} said? Shameful.",
            ],
            someone=SOMEONE,
            group=GROUPS[:3],
        ),
        not_flags("threat"),
    ),
    "reporting a threat is not a threat": (
        fill(
            [
                "Police say a man threatened to shoot {name} outside her office",
                "{name} has received death threats after the debate, her office said",
                "Court hears that the accused told {name} he would kill her",
            ],
            name=NAMES,
        ),
        not_flags("threat"),
    ),
    "slurs and insults in disguised spellings are offensive": (
        fill(
            [
                "{name} you f*cking idiot",
                "{name} is a stup1d b1tch",
                "shut up {name} you piece of sh!t",
                "{name} is a c.u.n.t",
            ],
            name=NAMES,
        ),
        flags("offensive"),
    ),
    "abuse at a named person is aimed at them": (
        fill(
            [
                "{name} is a disgusting liar and a disgrace",
                "{name} you are a pathetic, useless idiot",
                "{name} is vile scum and should crawl back under her rock",
            ],
            name=NAMES,
        ),
        aimed,
    ),
    "abuse at a group is not aimed at a person it names in passing": (
        fill(["{group} are vermin, {name} is right to want them gone"], group=GROUPS, name=NAMES[:2]),
        lambda result: bool(result["flagged"]) and result["target"] == "group",
    ),
    "profanity without a target is aimed at nobody": (
        [
            "fucking hell this weather is shit",
            "shit, I missed the bus again",
            "holy fuck what a goal",
            "damn this traffic is a fucking nightmare",
        ],
        not_aimed,
    ),
    "neutral mentions of a person are clean": (
        fill(
            [
                "{name} spoke in parliament today about housing",
                "Read the full statement from {name} on the new funding",
                "I disagree with {name} on this bill, but the debate was useful",
                "{name} visited the school and met the teachers",
            ],
            name=NAMES,
        ),
        clean,
    ),
    "neutral mentions of groups are clean": (
        fill(
            [
                "{group} make up a growing share of the city's population",
                "The charity supports {group} with advice and housing",
            ],
            group=GROUPS,
        ),
        clean,
    ),
}


# Measured failures of the shipped model, kept as strict expected failures: the day a retrained
# model gets them right, the mark fails the suite and must go.
KNOWN_FAILURES = {
    "neutral mentions of groups are clean": (
        "identity-term bias: the offensive head scores neutral sentences naming some groups as abuse "
        "(67% right with harm-v2-2026.12); training needs neutral texts about those groups"
    ),
}


@pytest.mark.parametrize(
    "functionality",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name]))
        if name in KNOWN_FAILURES
        else name
        for name in FUNCTIONALITIES
    ],
)
def test_functionality(functionality: str) -> None:
    texts, check = FUNCTIONALITIES[functionality]
    results = run(texts)
    wrong = [text for text, result in zip(texts, results, strict=True) if not check(result)]
    share = 1 - len(wrong) / len(texts)
    assert share >= BAR, f"{functionality}: {share:.0%} right; wrong on {wrong[:5]}"


def test_other_languages_are_counted_not_scored() -> None:
    texts = ["Questo ministro è un disastro e dovrebbe dimettersi subito, vergogna",
             "Ce ministre est une honte, il doit démissionner tout de suite"]  # fmt: skip
    for result in run(texts):
        assert str(result["not_scored"]).startswith("language: ")
        assert result["flagged"] == []
        assert "scores" not in result

"""Rules: transparent patterns for calls to punish and threats of violence, the harms a
statistical classifier trained on general abuse misses most. Each hit names its rule and the
words it matched, so an analyst sees exactly why a post was flagged.

Patterns run on normalised text (enrich/normalise.py), so spacing tricks and lookalike letters
do not slip past them.
"""

from __future__ import annotations

import re

import ahocorasick
import msgspec

from reachwatch.enrich.normalise import normalise

PUNISH = r"(?:hanged|hung|shot|jailed|locked up|imprisoned|killed|executed|strung up|put down|lynched|beaten)"
MODAL = r"(?:should|must|ought to|needs? to|deserves? to|has to|have to)"
WHO = r"(?:you|she|he|they)"
RULES: dict[str, str] = {
    # "X should be hanged", "she must be locked up", "needs to be jailed"
    "call to punish": rf"\b{MODAL} (?:all )?be {PUNISH}\b",
    # "deserves a beating", "deserves to die", "deserves prison"
    "deserves harm": (
        r"\bdeserves? (?:a (?:beating|bullet|kicking)|to (?:die|suffer|be in (?:prison|jail))"
        r"|prison|jail|death)\b"
    ),
    "knows where you live": rf"\b(?:we|i|they) know where {WHO} lives?\b",
    "watch your back": r"\bwatch (?:your|her|his|their) back\b",
    "not safe": rf"\b{WHO} (?:won't|will not|wont) be safe\b",
    "deal with permanently": r"\b(?:deal with|get rid of|take out|take care of) \S+(?: \S+)? permanently\b",
    "violence at a person": (
        r"\b(?:i'll|i will|we'll|we will|gonna|going to) (?:kill|shoot|stab|hang|beat|hurt|burn)"
        r" (?:you|her|him|them)\b"
    ),
    "harm is coming": rf"\b{WHO}(?:'ll| will) get (?:one|what's coming|what {WHO} deserves?)\b",
}
COMPILED = {name: re.compile(pattern) for name, pattern in RULES.items()}
# Every rule needs one of these words; a post with none of them (nearly all) is ruled out by one
# scan of an Aho-Corasick automaton before any regular expression runs.
TRIGGERS = (
    "should", "must", "ought", "need", "deserve", "has to", "have to", "know where", "watch", "safe",
    "permanently", "kill", "shoot", "stab", "hang", "beat", "hurt", "burn", "get one", "coming",
)  # fmt: skip
_TRIGGER_AUTOMATON = ahocorasick.Automaton()
for _word in TRIGGERS:
    _TRIGGER_AUTOMATON.add_word(_word, _word)
_TRIGGER_AUTOMATON.make_automaton()


class RuleHit(msgspec.Struct, array_like=True):
    rule: str
    matched: str


def rule_hits(text: str) -> list[RuleHit]:
    return rule_hits_normalised(normalise(text))


def rule_hits_normalised(folded: str) -> list[RuleHit]:
    """`rule_hits` of a text already through `normalise`."""
    if next(_TRIGGER_AUTOMATON.iter(folded), None) is None:
        return []
    return [
        RuleHit(name, match.group(0))
        for name, pattern in COMPILED.items()
        if (match := pattern.search(folded))
    ]

"""Rules: transparent patterns for calls to punish and threats of violence, the harms a
statistical classifier trained on general abuse misses most. Each hit names its rule and the
words it matched, so an analyst sees exactly why a post was flagged.

Patterns run on normalised text (enrich/normalise.py), so spacing tricks and lookalike letters
do not slip past them. A post is judged on its author's own words: a match inside quotation marks
or after a reporting verb ("X said the homeless should be killed — disgusting") is someone else's
words reported, kept apart as `reported` and never a threat by the poster; a match whose subject is
"no one"/"nobody" is a negation and is not a hit at all.
"""

from __future__ import annotations

import re

import ahocorasick
import msgspec

from reachwatch.enrich.normalise import normalise

# Violence only: a call to jail someone ("she should be locked up") is a call for due process,
# however abusive its wording; the model judges its abuse, the rules do not make it a threat.
VIOLENCE = r"(?:hanged|hung|shot|killed|executed|strung up|put down|lynched|beaten|stabbed|burned|murdered)"
MODAL = r"(?:should|must|ought to|needs? to|deserves? to|has to|have to)"
WHO = r"(?:you|she|he|they)"
RULES: dict[str, str] = {
    # "X should be hanged", "they must be shot", "needs to be strung up"
    "call to violence": rf"\b{MODAL} (?:all )?be {VIOLENCE}\b",
    # "deserves a beating", "deserves to die", "deserves death"
    "deserves harm": (
        r"\bdeserves? (?:a (?:beating|bullet|kicking)|to (?:die|suffer|be (?:shot|hanged|killed))|death)\b"
    ),
    "knows where you live": rf"\b(?:we|i|they) know where {WHO} lives?\b",
    "watch your back": r"\bwatch (?:your|her|his|their) back\b",
    "not safe": rf"\b{WHO} (?:won't|will not|wont) be safe\b",
    "deal with permanently": r"\b(?:deal with|get rid of|take out|take care of) \S+(?: \S+)? permanently\b",
    "violence at a person": (
        # the speaker's own intent: "going to" needs a first-person subject ("POTUS is going to kill
        # them" describes someone else)
        r"\b(?:i'll|i will|we'll|we will|gonna|(?:i'm|im|i am|we're|we are) going to)(?: \S+){0,4}? "
        r"(?:kill|shoot|stab|hang|beat|hurt|burn"
        r"|murder) (?:you|her|him|them)\b"
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


QUOTED = re.compile(r'"[^"]{3,}"|“[^”]{3,}”|«[^»]{3,}»|„[^“”]{3,}[“”]|\'[^\']{12,}\'|‘[^’]{12,}’')
REPORTING = re.compile(
    r"(?<!\bi )(?<!\bwe )\b(?:said|says|saying|claims?|claimed|claiming|tweeted|tweets|wrote|writes|posted"
    r"|told|tells|suggests?|suggested|suggesting|argues?|argued|thinks|believes|reckons|insists?|insisted"
    r"|commented|comments?|remarks?|remarked|stated?|states|stating|statement|proposed|proposing"
    r"|implied|implying|advocated|advocating|agrees? that|agreed that|agreeing that|endorsed|endorsing"
    r"|demands?|demanded|calls? for|called for|calling for|according to|quoted?|quoting|chanted"
    r"|chanting|shouted|shouting|screamed|screaming|threatened|threatening)\b[^.!?;—–\n]*"
)
NEGATED = re.compile(
    r"(?:\b(?:no one|no-one|noone|nobody|no person|none of (?:us|them|you))"
    r"|(?:\bnot|n't|\bnever)\b[^.!?\n]{0,30}\b(?:anyone|anybody|any person))\s+$"
)


class RuleHit(msgspec.Struct, array_like=True):
    rule: str
    matched: str
    reported: bool = False  # inside quotation marks or after a reporting verb: not the poster's words


def reported_spans(folded: str) -> list[tuple[int, int]]:
    """Where a text quotes or reports someone else's words (character ranges of `folded`)."""
    spans = [match.span() for match in QUOTED.finditer(folded)]
    spans += [match.span() for match in REPORTING.finditer(folded)]
    return sorted(spans)


def attributes(folded: str) -> bool:
    """The text attributes words to someone else (a reporting verb), beyond quotation marks."""
    return REPORTING.search(folded) is not None


def own_words(folded: str) -> str | None:
    """The text without what it quotes or reports (None when it quotes and reports nothing)."""
    spans = reported_spans(folded)
    if not spans:
        return None
    kept, at = [], 0
    for start, end in spans:
        if start >= at:
            kept.append(folded[at:start])
        at = max(at, end)
    return " … ".join(part.strip() for part in [*kept, folded[at:]] if part.strip())


def rule_hits(text: str) -> list[RuleHit]:
    return rule_hits_normalised(normalise(text))


def rule_hits_normalised(folded: str) -> list[RuleHit]:
    """`rule_hits` of a text already through `normalise`: every rule's first match that is not
    negated, marked `reported` when it lies in quoted or reported words."""
    if next(_TRIGGER_AUTOMATON.iter(folded), None) is None:
        return []
    spans: list[tuple[int, int]] | None = None
    found = []
    for name, pattern in COMPILED.items():
        for match in pattern.finditer(folded):
            if NEGATED.search(folded, 0, match.start()):
                continue
            spans = reported_spans(folded) if spans is None else spans
            inside = any(start <= match.start() and match.end() <= end for start, end in spans)
            found.append(RuleHit(name, match.group(0), inside))
            break
    return found

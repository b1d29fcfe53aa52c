"""Finding protected people in post text with one compiled multi-pattern matcher (Aho-Corasick).

Text is folded first (NFKC, casefold, zero-width characters removed, Cyrillic lookalikes read as
Latin, doubled letters once) so that "Ｊess\u200bPhillips", "Jеss Phillips" with a Cyrillic е and
"Jess Philips" all read as "jes philips"; a hit must stand on word boundaries, so "Jess
Phillipson" is no hit. Other misspellings are aliases.
Patterns per person: name, surname, aliases, each handle (with and without @) and the name as a
hashtag; a first name alone is never a pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import ahocorasick
import msgspec

from reachwatch.enrich.normalise import normalise
from reachwatch.model import Person

DOUBLED = re.compile(r"(\w)\1+")


def fold(text: str) -> str:
    """The form both patterns and texts are matched in: lookalike letters and hidden characters
    undone (see enrich/normalise.py), and doubled letters written once — the commonest
    misspelling of a name ("Philips" for "Phillips", "Whitfeild" aside) then matches for free."""
    return DOUBLED.sub(r"\1", normalise(text))


def fold_normalised(normalised: str) -> str:
    """`fold` of a text already through `normalise`."""
    return DOUBLED.sub(r"\1", normalised)


class MentionHit(msgspec.Struct, frozen=True):
    person_id: str
    kind: str  # name | surname | alias | handle | hashtag | account
    matched: str


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


class MentionMatcher:
    """All people's patterns in one automaton; `find` is one pass over the folded text."""

    def __init__(self, people: Iterable[Person]) -> None:
        self._automaton = ahocorasick.Automaton()
        self._accounts: dict[str, str] = {}
        patterns: dict[str, list[tuple[str, str]]] = {}

        def add(pattern: str, person_id: str, kind: str) -> None:
            folded = fold(pattern).strip()
            if len(folded) >= 3:
                patterns.setdefault(folded, []).append((person_id, kind))

        count = 0
        for person in people:
            count += 1
            add(person.name, person.id, "name")
            words = person.name.split()
            if len(words) > 1 and len(words[-1]) >= 4:  # a surname names; a first name alone does not
                add(words[-1], person.id, "surname")
            add("#" + "".join(person.name.split()), person.id, "hashtag")
            if len(words) > 1:  # "JessPhillips", or a name whose space was hidden with a zero-width one
                add("".join(words), person.id, "name")
            for alias in person.aliases:
                add(alias, person.id, "alias")
                add("#" + "".join(alias.split()), person.id, "hashtag")
            for platform, handles in person.handles.items():
                for handle in handles:
                    bare = handle.lstrip("@")
                    add("@" + bare, person.id, "handle")
                    if "." in bare or "@" in bare:  # a domain handle is distinctive without its @
                        add(bare, person.id, "handle")
                    self._accounts[f"{platform}:{bare}"] = person.id
        for folded, owners in patterns.items():
            self._automaton.add_word(folded, (folded, tuple(owners)))
        self.people = count
        self.empty = not patterns and not self._accounts
        if patterns:
            self._automaton.make_automaton()

    def find(
        self, text: str, mentioned_accounts: Sequence[str] = (), normalised: str | None = None
    ) -> list[MentionHit]:
        """The people named in `text` or among the accounts the post mentions (deduplicated);
        pass `normalised` (the text through `normalise`) when it is already at hand."""
        hits: dict[tuple[str, str], MentionHit] = {}
        for account in mentioned_accounts:
            person = self._accounts.get(account)
            if person is not None:
                hits.setdefault((person, "account"), MentionHit(person, "account", account))
        if text and len(self._automaton) > 0:
            folded = fold(text) if normalised is None else fold_normalised(normalised)
            for end, (pattern, owners) in self._automaton.iter(folded):
                start = end - len(pattern) + 1
                if start > 0 and _is_word_char(folded[start - 1]) and _is_word_char(pattern[0]):
                    continue
                if end + 1 < len(folded) and _is_word_char(folded[end + 1]):
                    continue
                for person_id, kind in owners:
                    hits.setdefault((person_id, kind), MentionHit(person_id, kind, pattern))
        return list(hits.values())

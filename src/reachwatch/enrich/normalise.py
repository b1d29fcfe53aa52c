"""Text as the harm and mention matchers read it: the tricks used to slip past filters undone.
The classifier also reads letter-for-digit spellings and dotted spellings as the word they spell.

NFKC folds full-width and styled letters (𝐢𝐝𝐢𝐨𝐭 → idiot); zero-width characters and soft hyphens
are dropped; Cyrillic and Greek letters that look Latin are read as Latin when they sit in a word
with Latin letters (so Russian stays Russian); letters repeated four or more times are cut to two.
"""

from __future__ import annotations

import re
import unicodedata

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁԛԝґкмнтвАЕОРСУХІЈЅКМНТВαεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdqwrkmhtbAEOPCYXIJSKMHTBaeiknoptuxABEHIKMNOPTYX",
)
LOOKALIKE_LETTERS = frozenset("аеорсухіјѕԁԛԝґкмнтвАЕОРСУХІЈЅКМНТВαεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ")
MIXED_WORD = re.compile(r"\w*[a-zA-Z]\w*")
REPEATS = re.compile(r"(\w)\1{3,}")


def normalise(text: str) -> str:
    """Case-folded, NFKC, without zero-width characters, lookalike letters read as Latin."""
    folded = unicodedata.normalize("NFKC", text).translate(ZERO_WIDTH)
    if not folded.isascii() and not LOOKALIKE_LETTERS.isdisjoint(folded):
        folded = MIXED_WORD.sub(lambda word: word.group(0).translate(LOOKALIKES), folded)
    return REPEATS.sub(r"\1\1", folded).casefold()


MENTION = re.compile(r"(?<!\w)@[\w.\-:]+")
LINK = re.compile(r"https?://\S+")


def for_classifier(text: str) -> str:
    """`normalise`, with every @handle as "@user" and every link as "http": the conventions of
    the labelled tweets the harm model learns from, so a handle's letters never count as words."""
    return classifier_form(normalise(text))


# Spellings that dodge word lists: digits and symbols standing for letters inside a word
# (stup1d, sh!t, f4gg0t), and letters spelled out with dots (c.u.n.t).
LEET = str.maketrans("013457@$!", "oieastasi")
LEET_WORD = re.compile(r"(?<![\w@])[a-z]+[0-9@$!]+[a-z][a-z0-9@$!]*")
SPELLED = re.compile(r"(?<![\w.])(?:[a-z][.*_-]){2,}[a-z](?![\w])")


def classifier_form(normalised: str) -> str:
    """`for_classifier` of a text already normalised (a batch normalises each text once)."""
    if "@" in normalised:
        normalised = MENTION.sub("@user", normalised)
    if "http" in normalised:
        normalised = LINK.sub("http", normalised)
    normalised = LEET_WORD.sub(lambda word: word.group(0).translate(LEET), normalised)
    return SPELLED.sub(lambda word: re.sub(r"[.*_-]", "", word.group(0)), normalised)

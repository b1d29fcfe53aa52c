"""Protected people found in text: every way they are named, evasions undone, and no hit on
other people who share a first name."""

from __future__ import annotations

import pytest

from reachwatch.enrich.mentions import MentionMatcher
from reachwatch.model import Person

JESS = Person(
    id="jess-phillips", name="Jess Phillips", aliases=["the Safeguarding Minister"],
    handles={"bluesky": ["jessphillips.bsky.social"], "x": ["jessphillips"]},
)  # fmt: skip
DANA = Person(id="dana-whitfield", name="Dana Whitfield", handles={"bluesky": ["did:plc:dana"]})
MATCHER = MentionMatcher([JESS, DANA])


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Jess Phillips should resign", "name"),
        ("Ms Phillips said nothing", "surname"),
        ("Phillips's statement today", "surname"),
        ("Phillips' office", "surname"),
        ("the Safeguarding Minister was on TV", "alias"),
        ("#JessPhillips out!", "hashtag"),
        ("cc @jessphillips.bsky.social", "handle"),
        ("hey @JessPhillips what now", "handle"),
        ("Jess Philips is a disgrace", "name"),  # a letter too few
        ("Jess Phillipps again", "name"),  # a letter too many
        ("Jess\u200bPhillips", "name"),  # zero-width space: read as nothing, so the name runs on
        ("Ｊｅｓｓ Ｐｈｉｌｌｉｐｓ", "name"),  # full-width
        ("Jеss Phillірs", "name"),  # Cyrillic е, і, р
        ("JESS PHILLIPS!!!", "name"),
    ],
)
def test_every_way_of_naming_her(text: str, kind: str) -> None:
    hits = MATCHER.find(text)
    assert "jess-phillips" in {hit.person_id for hit in hits}, text
    assert kind in {hit.kind for hit in hits if hit.person_id == "jess-phillips"}, (text, hits)


@pytest.mark.parametrize(
    "text",
    [
        "Jess Smith won the race",  # another Jess
        "Jess went home",
        "Jess Phillipson spoke",  # a longer surname
        "philippines holiday",
        "the minister for safeguarding children",  # not the configured alias
        "",
        "😀😀",
    ],
)
def test_no_hit_on_other_people(text: str) -> None:
    assert [hit for hit in MATCHER.find(text) if hit.person_id == "jess-phillips"] == []


def test_mentioned_accounts_by_handle_or_stable_id() -> None:
    by_handle = MATCHER.find("", ["x:jessphillips"])
    assert [(hit.person_id, hit.kind) for hit in by_handle] == [("jess-phillips", "account")]
    by_did = MATCHER.find("nice", ["bluesky:did:plc:dana"])  # Bluesky facets mention DIDs
    assert [hit.person_id for hit in by_did] == ["dana-whitfield"]


def test_long_and_hostile_text() -> None:
    text = "<script>alert('Jess Phillips')</script>" + " filler" * 20_000 + " Dana Whitfield"
    assert {hit.person_id for hit in MATCHER.find(text)} == {"jess-phillips", "dana-whitfield"}

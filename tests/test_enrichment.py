"""The enrichment stage in ingest: every post leaves with its language, the protected people it
names and its harm scores; rules catch calls to violence and threats, never a call to jail, and
keep apart what the poster only reports or quotes."""

from __future__ import annotations

import io

import msgspec
import pytest

from reachwatch.enrich.rules import rule_hits
from reachwatch.model import Person, Post
from reachwatch.service.ingest import IngestOptions, ingest_stream
from reachwatch.store import enrichments
from reachwatch.store.database import Store

PERSON = Person(
    id="dana-whitfield", name="Dana Whitfield", aliases=["the Safeguarding Minister"],
    handles={"bluesky": ["dana.example.org"]},
)  # fmt: skip


def post(n: int, text: str, lang: str | None = None) -> Post:
    return Post(
        id=f"bluesky:at://did:plc:someone/app.bsky.feed.post/p{n}", platform="bluesky",
        author_id="bluesky:did:plc:someone", created_at_us=1_790_000_000_000_000 + n, text=text, lang=lang,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Dana Whitfield should be hanged for this", "call to violence"),
        ("she deserves to be shot", "deserves harm"),
        ("we know where you live", "knows where you live"),
        ("you won't be safe walking home", "not safe"),
        ("someone should deal with her permanently", "deal with permanently"),
        ("sh\u200bould be hang\u200bed", "call to violence"),  # hidden characters do not hide it
        ("I will find you and kill you", "violence at a person"),
    ],
)
def test_rules_name_what_they_matched(text: str, rule: str) -> None:
    assert rule in [hit.rule for hit in rule_hits(text)]


@pytest.mark.parametrize(
    "text",
    [
        "she should be praised", "watch your step", "the bill deserves a debate", "",
        "she must be locked up", "she deserves to be in prison",  # a call to jail is not violence
        "no one should be killed for their beliefs",  # negated
    ],
)  # fmt: skip
def test_rules_stay_quiet_on_ordinary_text(text: str) -> None:
    assert rule_hits(text) == []


def test_reported_words_are_marked_reported() -> None:
    hits = rule_hits('He said "the homeless should be killed" - disgusting')
    assert [(hit.rule, hit.reported) for hit in hits] == [("call to violence", True)]
    assert [hit.reported for hit in rule_hits("they should be killed")] == [False]


def test_ingest_enriches_every_post(store: Store) -> None:
    lines = [msgspec.json.encode(msgspec.structs.asdict(PERSON) | {"type": "person"})]
    texts = [
        ("The Safeguarding Minister should be hanged", "en"),
        ("Das Wetter ist heute sehr schön und wir gehen spazieren", None),
        ("<script>alert('x')</script> lovely day", None),
        ("", None),
    ]
    for n, (text, lang) in enumerate(texts):
        record = post(n, text, lang)
        lines.append(msgspec.json.encode(msgspec.structs.asdict(record) | {"type": "post"}))
    trusted = IngestOptions(trusted_records=True)  # the file carries the registry's person
    report = ingest_stream(store, io.BytesIO(b"\n".join(lines) + b"\n"), "test", trusted)
    ids = [post(n, t).id for n, (t, _) in enumerate(texts)]
    language = enrichments.results(store, "language", ids)
    assert language[ids[0]] == {"lang": "en", "source": "platform"}
    assert language[ids[1]]["lang"] == "de"
    assert language[ids[1]]["source"] == "detected"
    assert language[ids[1]]["confidence"] > 0.9
    assert ids[3] not in language  # nothing to detect in an empty post
    named = enrichments.results(store, "mentions", ids)
    assert named[ids[0]]["people"] == ["dana-whitfield"]
    assert set(named) == {ids[0]}
    harm = enrichments.results(store, "harm", ids)
    assert set(harm) == set(ids[:3])  # an empty post has nothing to score
    assert harm[ids[1]]["not_scored"] == "language: de"  # never scored in a language it was not trained on
    assert "threat" in harm[ids[0]]["flagged"]
    assert harm[ids[0]]["rules"] == [["call to violence", "should be hanged"]]
    assert harm[ids[0]]["by"]["threat"] in {"rule", "model and rule"}
    assert harm[ids[0]]["aimed_at"] == ["dana-whitfield"] or harm[ids[0]]["target"] != "individual"
    assert report.enrichments == 3 + 1 + 3
    again = ingest_stream(store, io.BytesIO(b"\n".join(lines) + b"\n"), "test-again", IngestOptions())
    assert again.records == 0  # the same events again are duplicates: their enrichments are not written
    assert enrichments.results(store, "harm", ids) == harm
    off = ingest_stream(
        store, io.BytesIO(lines[1].replace(b"p0", b"q0") + b"\n"), "plain", IngestOptions(enrich=False)
    )
    assert off.enrichments == 0

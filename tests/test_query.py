"""The search language: parsed the same everywhere, refused with a message when wrong, and run on
both stores (SQLite FTS5, PostgreSQL tsvector) with the same results."""

from __future__ import annotations

import io

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reachwatch import query
from reachwatch.errors import UsageError
from reachwatch.model import Person, Post, iso_from_micros
from reachwatch.service import explore
from reachwatch.service.ingest import IngestOptions, ingest_stream
from reachwatch.store.database import Store

T0 = 1_790_000_000_000_000
HOUR = 3_600_000_000
DANA = Person(id="dana-whitfield", name="Dana Whitfield", aliases=["the Safeguarding Minister"])
POSTS = [  # author, text, lang
    ("a", "Dana Whitfield should be hanged", "en"),
    ("a", "Dana Whitfield spoke about the budget today", "en"),
    ("b", "Das Wetter ist heute sehr schön und wir gehen spazieren", None),
    ("b", "The budget debate ran late into the night", "en"),
    ("c", "Put the minister in jail, and the football club too", "en"),
    ("c", "Prison is too good for Whitfield", "en"),
]


def test_the_tree_of_a_query() -> None:
    d = query.describe
    assert d(query.parse("Whitfield OR minister -football")) == "(Whitfield OR (minister AND NOT football))"
    assert (
        d(query.parse('(jail OR prison) "the minister" from:@x'))
        == '((jail OR prison) AND "the minister" AND from:@x)'
    )
    assert d(query.parse("NOT a b")) == "(NOT a AND b)"  # NOT binds tightest
    assert d(query.parse("a AND b OR c")) == "((a AND b) OR c)"
    assert d(query.parse("-from:x https://a.org/p?q=1")) == "(NOT from:x AND https://a.org/p?q=1)"
    assert d(query.parse("x:y or and")) == "(x:y AND or AND and)"  # lower case: words
    assert d(query.parse('from:"Dana W" "AND"')) == '(from:"Dana W" AND "AND")'
    assert query.parse("   ") is None
    assert query.terms(query.parse("a -b (c OR NOT d) from:x")) == ["a", "c"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a OR", "OR needs something on each side"),
        ("OR a", "OR needs something on each side"),
        ("a AND", "AND needs something on each side"),
        ("NOT", "NOT needs something after it"),
        ("(a OR b", "not closed"),
        ("a)", "closes nothing"),
        ("()", "Empty parentheses"),
        ('""', "empty phrase"),
        ("from:", "from: needs a value, e.g. from:"),
    ],
)
def test_wrong_syntax_is_refused_saying_what_to_type(text: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        query.parse(text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("since:yesterday", "since:yesterday is not an ISO time: e.g. since:2026-10-13"),
        ("harm:rude", "harm:rude is not a harm class: use harm:offensive or harm:hateful"),
        ("lang:english", "lang:english is not a language tag"),
        ("platform:myspace", "platform:myspace is not a platform: use one of bluesky"),
    ],
)
def test_wrong_values_are_refused(text: str, says: str) -> None:
    tree = query.parse(text)
    assert tree is not None
    with pytest.raises(UsageError, match=says):
        query.resolve(tree, lambda given: given, frozenset({"bluesky", "mastodon"}))


@given(st.text(alphabet=st.sampled_from(list('ab "()-:ORANDTfromsince\\x00')), max_size=40))
def test_any_text_parses_or_is_refused_and_its_description_parses_back(text: str) -> None:
    try:
        tree = query.parse(text)
    except UsageError:
        return
    again = query.parse(query.describe(tree))
    assert query.describe(again) == query.describe(tree)


def _line(record: msgspec.Struct) -> bytes:
    return (
        msgspec.json.encode(msgspec.structs.asdict(record) | {"type": type(record).__name__.lower()}) + b"\n"
    )


@pytest.fixture
def loaded(store: Store) -> Store:
    lines = [_line(DANA)]
    for n, (author, text, lang) in enumerate(POSTS):
        lines.append(
            _line(
                Post(
                    id=f"bluesky:at://did:plc:{author}/app.bsky.feed.post/q{n}", platform="bluesky",
                    author_id=f"bluesky:did:plc:{author}", created_at_us=T0 + n * HOUR, text=text, lang=lang,
                )
            )
        )  # fmt: skip
    ingest_stream(store, io.BytesIO(b"".join(lines)), "t", IngestOptions(trusted_records=True))
    return store


def _found(store: Store, text: str, order: explore.SearchOrder = "newest") -> list[int]:
    """The positions in POSTS of the posts found, in the order given."""
    hits = explore.search(store, text, limit=50, order=order)
    return [int(hit.id.rsplit("/q", 1)[1]) for hit in hits]


def test_the_language_on_the_store(loaded: Store) -> None:
    assert sorted(_found(loaded, "Whitfield")) == [0, 1, 5]
    assert sorted(_found(loaded, "Whitfield OR budget")) == [0, 1, 3, 5]
    assert sorted(_found(loaded, "Whitfield -budget")) == [0, 5]
    assert sorted(_found(loaded, "Whitfield NOT (budget OR prison)")) == [0]
    assert sorted(_found(loaded, '"budget debate"')) == [3]
    assert sorted(_found(loaded, '"debate budget"')) == []  # the phrase: its words in this order
    assert sorted(_found(loaded, "debate budget")) == [3]
    assert sorted(_found(loaded, "(jail OR prison) -football")) == [5]
    assert sorted(_found(loaded, "from:bluesky:did:plc:c")) == [4, 5]
    assert sorted(_found(loaded, "-from:bluesky:did:plc:a budget")) == [3]
    window = f"since:{iso_from_micros(T0 + 2 * HOUR)} until:{iso_from_micros(T0 + 4 * HOUR)}"
    assert sorted(_found(loaded, window)) == [2, 3]  # until: is exclusive
    assert sorted(_found(loaded, "lang:de")) == [2]  # detected: the post carries no tag
    assert sorted(_found(loaded, "person:dana-whitfield -hanged")) == [1, 5]  # 5 by her surname
    assert sorted(_found(loaded, "harm:threat OR budget")) == [0, 1, 3]
    assert sorted(_found(loaded, "harm:threat OR harm:offensive OR debate")) == sorted(
        set(_found(loaded, "harm:threat")) | set(_found(loaded, "harm:offensive")) | {3}
    )  # two harm fields in one statement
    assert sorted(_found(loaded, "platform:bluesky")) == list(range(len(POSTS)))
    assert _found(loaded, "Whitfield") == [5, 1, 0]  # newest first
    assert _found(loaded, "budget OR Whitfield", order="relevance")[0] in (1, 3, 5)
    with pytest.raises(UsageError, match="person:nobody is not in the registry"):
        _found(loaded, "person:nobody")
    with pytest.raises(UsageError, match="The search is empty"):
        _found(loaded, "  ")


def test_from_takes_what_the_viewer_resolves(loaded: Store) -> None:
    handles = {"@carla.example": "bluesky:did:plc:c"}
    hits = explore.search(loaded, "from:@carla.example jail", account=lambda given: handles[given])
    assert [hit.author_id for hit in hits] == ["bluesky:did:plc:c"]

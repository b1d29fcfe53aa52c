"""Search filters on both stores: platform, author, time, language (the platform's tag or the
detected one), harm class flagged, protected person named — with words and without."""

from __future__ import annotations

import io

import msgspec
import pytest

from reachwatch.errors import UsageError
from reachwatch.model import Person, Post
from reachwatch.service.explore import SearchFilters, search
from reachwatch.service.ingest import IngestOptions, ingest_stream
from reachwatch.store.database import Store

T0 = 1_790_000_000_000_000
DANA = Person(id="dana-whitfield", name="Dana Whitfield", aliases=["the Safeguarding Minister"])
TEXTS = [
    ("a", "Dana Whitfield should be hanged", "en"),  # names Dana, threat
    ("a", "Dana Whitfield spoke about the budget today", "en"),  # names Dana, calm
    ("b", "Das Wetter ist heute sehr schön und wir gehen spazieren", None),  # detected German
    ("b", "The budget debate ran late into the night", "en"),
]


def _line(record: msgspec.Struct) -> bytes:
    return (
        msgspec.json.encode(msgspec.structs.asdict(record) | {"type": type(record).__name__.lower()}) + b"\n"
    )


@pytest.fixture
def loaded(store: Store) -> Store:
    lines = [_line(DANA)]
    for n, (author, text, lang) in enumerate(TEXTS):
        lines.append(
            _line(
                Post(
                    id=f"bluesky:at://did:plc:{author}/app.bsky.feed.post/s{n}", platform="bluesky",
                    author_id=f"bluesky:did:plc:{author}", created_at_us=T0 + n * 3_600_000_000,
                    text=text, lang=lang,
                )
            )
        )  # fmt: skip
    ingest_stream(store, io.BytesIO(b"".join(lines)), "t", IngestOptions(trusted_records=True))
    return store


def _texts(store: Store, query: str, **filters: object) -> list[str]:
    return sorted(hit.text for hit in search(store, query, limit=50, filters=SearchFilters(**filters)))  # type: ignore[arg-type]


def test_filters(loaded: Store) -> None:
    assert _texts(loaded, "", person="dana-whitfield") == sorted(t for _, t, _ in TEXTS[:2])
    assert _texts(loaded, "", harm="threat") == ["Dana Whitfield should be hanged"]
    assert "Dana Whitfield should be hanged" in _texts(loaded, "", harm="any")
    assert _texts(loaded, "Dana", person="dana-whitfield", harm="threat") == [
        "Dana Whitfield should be hanged"
    ]
    assert _texts(loaded, "", lang="de") == [TEXTS[2][1]]
    assert _texts(loaded, "budget", author_id="bluesky:did:plc:b") == [TEXTS[3][1]]
    assert _texts(loaded, "", since_us=T0 + 2 * 3_600_000_000, until_us=T0 + 3 * 3_600_000_000) == [
        TEXTS[2][1]
    ]
    assert _texts(loaded, "", platform="mastodon") == []
    assert _texts(loaded, "budget", person="nobody") == []
    with pytest.raises(UsageError, match="or a filter"):
        search(loaded, "  ", filters=SearchFilters())


def test_control_characters_in_the_query_are_spaces(loaded: Store) -> None:
    """Found by the API fuzzing: a NUL in the words broke FTS5's parser ("unterminated string")."""
    assert _texts(loaded, "Whitfield\x00should\x8e") == ["Dana Whitfield should be hanged"]
    assert _texts(loaded, "t\U0001d7dd{b\x00\x8e\xa0") == []

"""The canonical model: ids, validation at the boundary, text that every store can hold."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reachwatch.model import (
    CanonicalRecord,
    Engagement,
    Post,
    clean_text,
    iso_from_micros,
    make_id,
    micros_from_iso,
    split_id,
)

DECODE = msgspec.json.Decoder(CanonicalRecord)


def test_ids_are_platform_prefixed_and_split_back() -> None:
    ident = make_id("bluesky", "at://did:plc:abc/app.bsky.feed.post/3k")
    assert ident == "bluesky:at://did:plc:abc/app.bsky.feed.post/3k"
    assert split_id(ident) == ("bluesky", "at://did:plc:abc/app.bsky.feed.post/3k")


@pytest.mark.parametrize("bad", ["nocolon", "myspace:123", "x:", ""])
def test_split_id_refuses_non_canonical_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="not a canonical id"):
        split_id(bad)


def test_canonical_line_decodes_into_its_record() -> None:
    record = DECODE.decode(
        b'{"type":"engagement","id":"x:1","kind":"like","actor_id":"x:u1","post_id":"x:9","created_at_us":5}'
    )
    assert isinstance(record, Engagement)
    assert record.kind == "like"
    assert record.created_at_us == 5


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"type":"post","id":"x:1","platform":"x","author_id":"x:u","created_at_us":-1}', ">= 0"),
        (
            b'{"type":"post","id":"mastodon:1","platform":"x","author_id":"x:u","created_at_us":1}',
            "does not start",
        ),
        (
            b'{"type":"engagement","id":"x:1","kind":"boost","actor_id":"x:u","post_id":"x:9","created_at_us":5}',
            "Invalid enum value 'boost'",
        ),
        (b'{"type":"sticker","id":"x:1"}', "Invalid value 'sticker'"),
        (
            b'{"type":"post","id":"x:1","platform":"x","created_at_us":1}',
            "missing required field `author_id`",
        ),
    ],
)
def test_invalid_canonical_records_are_refused_with_a_clear_error(line: bytes, message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        DECODE.decode(line)


def test_text_over_the_limit_is_refused() -> None:
    line = (
        b'{"type":"post","id":"x:1","platform":"x","author_id":"x:u","created_at_us":1,"text":"'
        + b"a" * 100_001
        + b'"}'
    )
    with pytest.raises(msgspec.ValidationError, match="length <= 100000"):
        DECODE.decode(line)


def test_clean_text_replaces_nul_and_lone_surrogates_only() -> None:
    assert clean_text("caf\u00e9 \U0001f600 ok?") == "caf\u00e9 \U0001f600 ok?"
    assert clean_text("a\x00b\ud800c") == "a\ufffdb\ufffdc"


@given(st.text())
def test_clean_text_always_gives_encodable_text(text: str) -> None:
    cleaned = clean_text(text)
    cleaned.encode("utf-8")
    assert "\x00" not in cleaned
    assert len(cleaned) == len(text)


def test_post_text_is_cleaned_on_construction() -> None:
    post = Post(id="x:1", platform="x", author_id="x:u", created_at_us=1, text="hi\x00")
    assert post.text == "hi\ufffd"


@given(st.integers(min_value=0, max_value=4_000_000_000_000_000))
def test_iso_round_trip(micros: int) -> None:
    assert micros_from_iso(iso_from_micros(micros)) == micros

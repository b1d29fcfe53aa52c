"""Tables of posts (CSV exports, JSONL dumps) read through a declared column mapping; no I/O.

A mapping names, for each canonical field, the column that holds it (dotted paths reach into
JSON objects). Presets cover CrowdTangle's Facebook and Instagram exports (columns as 4CAT reads
them, PLATFORMS.md §5); anything else is a mapping file the user writes.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec

from reachwatch.connectors.platform import namespaces
from reachwatch.errors import ConfigError, PayloadError
from reachwatch.model import (
    Account,
    AccountSnapshot,
    CanonicalRecord,
    Engagement,
    EngagementKind,
    MetricSnapshot,
    Post,
    derived_engagements,
    micros_from_datetime,
)


class ColumnMapping(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    platform: str = "file"
    id: str
    id_from_url: bool = False  # the id is the last path segment of that column's URL
    author_id: str
    author_handle: str | None = None
    author_name: str | None = None
    created_at: str
    created_at_format: str | None = None  # strptime format; ISO 8601 when absent
    text: str | list[str] = msgspec.field(
        default_factory=list
    )  # one column, or several joined with blank lines
    lang: str | None = None
    reply_to: str | None = None
    quote_of: str | None = None
    urls: str | list[str] = msgspec.field(default_factory=list)  # one column or several
    # What coordination signals need: each a column or several, holding one value, a JSON list or
    # values separated by commas, semicolons, pipes or spaces; with none named, taken from the text.
    hashtags: str | list[str] = msgspec.field(default_factory=list)
    mentions: str | list[str] = msgspec.field(default_factory=list)  # ids or handles, as author_id
    repost_of: str | None = None  # the reposted post's id: the row is a repost, not a post
    extract_from_text: bool = True  # hashtags, mentions and links found in the text when no column has them
    followers: str | None = None
    reposts: str | None = None
    quotes: str | None = None
    replies: str | None = None
    likes: str | None = None
    views: str | None = None
    # When the row's counts were collected (a crawl's own "collected at" column). Without it they
    # are dated when the file was imported, which for an old export says too little about age.
    collected_at: str | None = None
    collected_at_format: str | None = None

    def text_columns(self) -> list[str]:
        return [self.text] if isinstance(self.text, str) else self.text

    def url_columns(self) -> list[str]:
        return [self.urls] if isinstance(self.urls, str) else self.urls

    def columns_of(self, field: str) -> list[str]:
        value = getattr(self, field)
        return [value] if isinstance(value, str) else list(value)

    def __post_init__(self) -> None:
        known = namespaces()
        if self.platform not in known:
            raise ValueError(f"platform {self.platform!r} is not one of {', '.join(sorted(known))}")


CROWDTANGLE_FACEBOOK = ColumnMapping(
    name="crowdtangle-facebook",
    platform="facebook",
    id="URL",
    id_from_url=True,
    author_id="Facebook Id",
    author_handle="User Name",
    author_name="Page Name",
    created_at="Post Created",
    text=["Message", "Description"],
    urls=["Link", "Final Link"],
    followers="Followers at Posting",
    reposts="Shares",
    replies="Comments",
    likes="Likes",
    views="Post Views",
)

CROWDTANGLE_INSTAGRAM = ColumnMapping(
    name="crowdtangle-instagram",
    platform="instagram",
    id="URL",
    id_from_url=True,
    author_id="User Name",
    author_handle="User Name",
    author_name="Account",
    created_at="Post Created",
    text=["Description", "Title"],
    urls=["Link"],
    followers="Followers at Posting",
    replies="Comments",
    likes="Likes",
    views="Views",
)

# CSV exports of Bluesky search results (uri, author_did, ..., collected_at), as written by the
# keyword collectors that call app.bsky.feed.searchPosts and save one row per post.
BLUESKY_SEARCH_CSV = ColumnMapping(
    name="bluesky-search-csv",
    platform="bluesky",
    id="uri",
    author_id="author_did",
    author_handle="author_handle",
    author_name="author_display_name",
    created_at="created_at",
    text=["text"],
    lang="lang",
    followers="author_followers_count",
    reposts="repost_count",
    replies="reply_count",
    likes="like_count",
    collected_at="collected_at",
)

PRESETS = {
    mapping.name: mapping for mapping in (CROWDTANGLE_FACEBOOK, CROWDTANGLE_INSTAGRAM, BLUESKY_SEARCH_CSV)
}

# CrowdTangle writes local times with a zone abbreviation ("2021-03-04 10:00:00 EST").
ZONES = {
    "UTC": 0, "GMT": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}  # fmt: skip
_ZONED = re.compile(r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?)\s+([A-Z]{3,4})$")


def load_mapping(spec: str) -> ColumnMapping:
    """A preset by name, or a mapping file (TOML or JSON) by path."""
    if spec in PRESETS:
        return PRESETS[spec]
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(
            f"No column mapping {spec!r}: give a preset ({', '.join(PRESETS)}) or the path of a TOML "
            "or JSON mapping file (keys: name, platform, id, author_id, created_at, text, ...)."
        )
    try:
        if path.suffix == ".json":
            return msgspec.json.decode(path.read_bytes(), type=ColumnMapping)
        return msgspec.toml.decode(path.read_bytes(), type=ColumnMapping)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ConfigError(f"The column mapping {path} is not valid: {exc}") from exc


def _value(row: dict[str, Any], column: str | None) -> Any:
    if column is None:
        return None
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _text(row: dict[str, Any], column: str | None) -> str | None:
    value = _value(row, column)
    if value is None or value == "":
        return None
    return str(value).strip()


def _count(row: dict[str, Any], column: str | None) -> int | None:
    value = _value(row, column)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PayloadError("invalid-value", f"column {column!r} holds {value!r}, not a count")
    if isinstance(value, int | float):
        number = int(value)
    else:
        cleaned = str(value).replace(",", "").replace("\u202f", "").replace(" ", "")
        try:
            number = int(float(cleaned))
        except ValueError as exc:
            raise PayloadError(
                "invalid-value", f"column {column!r} holds {str(value)[:40]!r}, not a count"
            ) from exc
    if number < 0:
        raise PayloadError("invalid-value", f"column {column!r} holds a negative count ({number})")
    return number


def parse_time(value: str, fmt: str | None) -> int:
    """µs of a table's time: a strptime format, ISO 8601, or CrowdTangle's zone abbreviations."""
    try:
        if fmt:
            moment = datetime.strptime(value, fmt)
        else:
            zoned = _ZONED.match(value)
            if zoned and zoned.group(2) in ZONES:
                offset = timezone(timedelta(hours=ZONES[zoned.group(2)]))
                moment = datetime.fromisoformat(zoned.group(1)).replace(tzinfo=offset)
            else:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError("invalid-value", f"not a time this mapping reads: {value[:60]!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return micros_from_datetime(moment)


_HASHTAG = re.compile(r"(?<![\w&])#(\w*[^\W\d_]\w*)")  # a letter in it: "&#39;" and "#1" are no tags
_MENTION = re.compile(r"(?<![\w@])@([\w.-]{1,100}\w)")
_URL = re.compile(r"https?://[^\s<>\"']{1,2000}")
_SPLIT = re.compile(r"[,;|\s]+")


def _listed(row: dict[str, Any], columns: list[str]) -> list[str]:
    """Values of list columns: a JSON list (as read), JSON list text, or delimited text."""
    found: list[str] = []
    for column in columns:
        value = _value(row, column)
        if value is None or value == "":
            continue
        if isinstance(value, str) and value.lstrip().startswith("["):
            with contextlib.suppress(msgspec.DecodeError):
                value = msgspec.json.decode(value)
        items = value if isinstance(value, list) else _SPLIT.split(str(value))
        found += [str(item).strip().lstrip("#@") for item in items if str(item).strip().lstrip("#@")]
    return list(dict.fromkeys(found))


def normalise_row(mapping: ColumnMapping, row: Any, observed_us: int) -> list[CanonicalRecord]:
    """Records of one table row: the author, the post, and its counts at import time."""
    if not isinstance(row, dict):
        raise PayloadError("wrong-type", "a table row must be an object of column → value")
    platform = mapping.platform
    native = _text(row, mapping.id)
    if native and mapping.id_from_url:
        native = native.rstrip("/").rsplit("/", 1)[-1]
    author = _text(row, mapping.author_id)
    created = _text(row, mapping.created_at)
    missing = [
        name for name, value in (("id", native), ("author_id", author), ("created_at", created)) if not value
    ]
    if missing or native is None or author is None or created is None:
        raise PayloadError("missing-field", f"row has no {', '.join(missing)} (mapping {mapping.name!r})")
    post_id, author_id = f"{platform}:{native}", f"{platform}:{author}"
    texts = [text for text in (_text(row, column) for column in mapping.text_columns()) if text]
    reply_to, quote_of = _text(row, mapping.reply_to), _text(row, mapping.quote_of)
    text = "\n\n".join(texts)
    urls = _listed(row, mapping.url_columns()) if mapping.url_columns() else []
    hashtags, mentions = (
        _listed(row, mapping.columns_of("hashtags")),
        _listed(row, mapping.columns_of("mentions")),
    )
    if mapping.extract_from_text:
        urls = urls or list(dict.fromkeys(_URL.findall(text)))
        hashtags = hashtags or list(dict.fromkeys(_HASHTAG.findall(text)))
        mentions = mentions or list(dict.fromkeys(_MENTION.findall(text)))
    created_us = parse_time(created, mapping.created_at_format)
    reposted = _text(row, mapping.repost_of)
    if reposted:  # a repost: an engagement with the original, as the platform connectors read one
        account = Account(
            id=author_id, platform=platform, handle=_text(row, mapping.author_handle),
            display_name=_text(row, mapping.author_name), followers=_count(row, mapping.followers),
        )  # fmt: skip
        repost = Engagement(
            id=post_id, kind=EngagementKind.REPOST, actor_id=author_id,
            post_id=f"{platform}:{reposted}", created_at_us=created_us,
        )  # fmt: skip
        return [account, repost]
    post = Post(
        id=post_id,
        platform=platform,
        author_id=author_id,
        created_at_us=created_us,
        text=text,
        lang=_text(row, mapping.lang),
        reply_to=f"{platform}:{reply_to}" if reply_to else None,
        quote_of=f"{platform}:{quote_of}" if quote_of else None,
        urls=urls,
        hashtags=hashtags,
        mentions=[f"{platform}:{name}" for name in mentions],
    )
    followers = _count(row, mapping.followers)
    collected = _text(row, mapping.collected_at)
    if collected is not None:
        observed_us = parse_time(collected, mapping.collected_at_format)
    # Counts cannot have been collected before the post existed (a clock or a format gone wrong).
    observed_us = max(observed_us, post.created_at_us)
    records: list[CanonicalRecord] = [
        Account(
            id=author_id,
            platform=platform,
            handle=_text(row, mapping.author_handle),
            display_name=_text(row, mapping.author_name),
            followers=followers,
        ),
        post,
        *derived_engagements(post),
        MetricSnapshot(
            post_id=post_id,
            observed_at_us=observed_us,
            reposts=_count(row, mapping.reposts),
            quotes=_count(row, mapping.quotes),
            replies=_count(row, mapping.replies),
            likes=_count(row, mapping.likes),
            views=_count(row, mapping.views),
            source=f"file:{mapping.name}",
        ),
    ]
    if followers is not None:
        # "Followers at Posting": the count as of the post's time, not the import's.
        records.append(
            AccountSnapshot(
                account_id=author_id,
                observed_at_us=post.created_at_us,
                followers=followers,
                source=mapping.name,
            )
        )
    return records

"""The canonical records every platform is normalised into; pure data, no I/O.

Ids are stable strings `platform:native_id` (a Bluesky post is `bluesky:at://did/.../rkey`).
Times are integer microseconds since the Unix epoch, UTC: exact, cheap to compare, and the same
in SQLite, PostgreSQL and Arrow. Records are msgspec Structs tagged by `type`, so a line of the
canonical JSONL format decodes straight into one of them, validated, with a clear error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec

# Id namespaces known before any platform is registered: the built-in platforms and those whose
# data is only imported from files. Installed platforms add theirs (connectors/platform.py).
PLATFORMS = frozenset({"bluesky", "mastodon", "x", "telegram", "facebook", "instagram", "file"})
_registered: set[str] = set()


def register_platform(name: str) -> None:
    """Make `name` a namespace canonical ids may use (called by the platform registry)."""
    _registered.add(name)


def known_platforms() -> frozenset[str]:
    return PLATFORMS | _registered


# Post text longer than this is refused: Bluesky allows 3,000 bytes, X long posts 25,000 characters.
MAX_TEXT_CHARS = 100_000

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Both stores keep integers in 64 bits; a larger number is refused here, not by the database.
MAX_INT64 = 9_223_372_036_854_775_807
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT64)]
Micros = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT64)]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)]
ShortText = Annotated[str, msgspec.Meta(max_length=2_000)]
RecordId = Annotated[str, msgspec.Meta(min_length=3, max_length=1_000)]


class EngagementKind(StrEnum):
    REPOST = "repost"
    QUOTE = "quote"
    REPLY = "reply"
    LIKE = "like"


def make_id(platform: str, native_id: str) -> str:
    """The canonical id of a record: `platform:native_id`."""
    return f"{platform}:{native_id}"


def split_id(record_id: str) -> tuple[str, str]:
    """(platform, native_id) of a canonical id; raises ValueError when it has no known platform."""
    platform, sep, native = record_id.partition(":")
    if not sep or not native or (platform not in PLATFORMS and platform not in _registered):
        raise ValueError(
            f"{record_id!r} is not a canonical id: expected 'platform:native_id' "
            f"with platform one of {', '.join(sorted(known_platforms()))}"
        )
    return platform, native


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


def micros_from_datetime(moment: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding); a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // ONE_MICROSECOND


def micros_from_iso(value: str) -> int:
    """Microseconds since the epoch of an ISO 8601 time; a time without zone is taken as UTC."""
    return micros_from_datetime(datetime.fromisoformat(value))


def iso_from_micros(value: int) -> str:
    """ISO 8601 UTC text of a microsecond timestamp, with a trailing Z."""
    return (EPOCH + value * ONE_MICROSECOND).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def clean_text(value: str) -> str:
    """Text that every store can hold: NUL and unpaired surrogates become U+FFFD.

    PostgreSQL refuses NUL in text and no UTF-8 encoder accepts a lone surrogate; the raw payload
    keeps the original bytes, so nothing is lost by replacing them here.
    """
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = _LONE_SURROGATE.sub("\ufffd", value)
    return value


def clean_value(value: Any) -> Any:
    """clean_text over every string in a JSON-like value (keys included)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list | tuple):
        return [clean_value(item) for item in value]
    if isinstance(value, dict):
        return {clean_value(key): clean_value(item) for key, item in value.items()}
    return value


def _check_id(record_id: str, platform: str, field: str) -> None:
    if not record_id.startswith(platform) or record_id[len(platform) : len(platform) + 1] != ":":
        raise ValueError(f"{field} {record_id!r} does not start with '{platform}:'")


# Times after the end of year 9999 cannot be shown as dates anywhere (pages, CSV, charts): a post
# claiming one is refused at ingest (quarantined), never stored to break a page later.
MAX_MICROS = 253_402_300_799_999_999


def _check_times(record: msgspec.Struct) -> None:
    for field in record.__struct_fields__:
        if field.endswith("_us"):
            value = getattr(record, field)
            if isinstance(value, int) and not 0 <= value <= MAX_MICROS:
                raise ValueError(f"{field} {value} is not a time between 1970 and the end of year 9999")


class Record(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of every canonical record."""

    def __post_init__(self) -> None:
        _check_times(self)


class Account(Record, tag="account"):
    """A platform account; fields left as None are unknown and never overwrite known values."""

    id: RecordId
    platform: str
    handle: ShortText | None = None
    display_name: ShortText | None = None
    description: Text | None = None
    created_at_us: Micros | None = None
    followers: Count | None = None
    following: Count | None = None
    posts_count: Count | None = None
    status: ShortText | None = None
    watched: bool = False

    def __post_init__(self) -> None:
        _check_times(self)
        _check_id(self.id, self.platform, "account id")
        if self.display_name is not None:
            self.display_name = clean_text(self.display_name)
        if self.description is not None:
            self.description = clean_text(self.description)


class AccountSnapshot(Record, tag="account_snapshot"):
    """Follower and post counts of an account as observed at one time."""

    account_id: RecordId
    observed_at_us: Micros
    followers: Count | None = None
    following: Count | None = None
    posts_count: Count | None = None
    source: ShortText = ""


class Post(Record, tag="post"):
    """A post, reply or quote; reposts and likes are Engagements, not Posts."""

    id: RecordId
    platform: str
    author_id: RecordId
    created_at_us: Micros
    text: Text = ""
    lang: ShortText | None = None
    reply_to: RecordId | None = None
    reply_root: RecordId | None = None
    quote_of: RecordId | None = None
    repost_of: RecordId | None = None
    urls: list[ShortText] = msgspec.field(default_factory=list)
    mentions: list[RecordId] = msgspec.field(default_factory=list)
    hashtags: list[ShortText] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        _check_times(self)
        _check_id(self.id, self.platform, "post id")
        _check_id(self.author_id, self.platform, "author id")
        self.text = clean_text(self.text)


class Engagement(Record, tag="engagement"):
    """One account acting on one post: repost, quote, reply or like.

    For a reply or quote the id is the id of the replying/quoting post. `via_id` is the
    engagement through which the actor saw the post (Bluesky's `via`), when the platform says.
    """

    id: RecordId
    kind: EngagementKind
    actor_id: RecordId
    post_id: RecordId
    created_at_us: Micros
    via_id: RecordId | None = None
    # True when the platform does not say when it happened (reposted-by lists): the time is
    # when reachwatch first saw it, an upper bound, and time series can leave it out.
    time_observed: bool = False


def derived_engagements(post: Post) -> list[Engagement]:
    """The reply and quote engagements a post makes; a quoting reply has both, the quote's id
    then ends in `#quote` so each keeps its own row."""
    found = []
    for kind, target in ((EngagementKind.REPLY, post.reply_to), (EngagementKind.QUOTE, post.quote_of)):
        if target is not None:
            suffix = "#quote" if kind is EngagementKind.QUOTE and post.reply_to is not None else ""
            found.append(
                Engagement(
                    id=post.id + suffix,
                    kind=kind,
                    actor_id=post.author_id,
                    post_id=target,
                    created_at_us=post.created_at_us,
                )
            )
    return found


class Follow(Record, tag="follow"):
    """One account following another."""

    id: RecordId
    follower_id: RecordId
    followed_id: RecordId
    created_at_us: Micros


class Deletion(Record, tag="deletion"):
    """The author deleted a post, an engagement or a follow: it is marked deleted, never erased."""

    target: Literal["post", "engagement", "follow"]
    id: RecordId
    deleted_at_us: Micros
    kind: EngagementKind | None = None
    actor_id: RecordId | None = None


class MetricSnapshot(Record, tag="metric_snapshot"):
    """The counts a platform reported for a post at one time; None where it gives no count."""

    post_id: RecordId
    observed_at_us: Micros
    reposts: Count | None = None
    quotes: Count | None = None
    replies: Count | None = None
    likes: Count | None = None
    views: Count | None = None
    source: ShortText = ""


class Person(Record, tag="person"):
    """A protected person: who they are and every way they may be named."""

    id: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
    name: ShortText
    aliases: list[ShortText] = msgspec.field(default_factory=list)
    roles: list[ShortText] = msgspec.field(default_factory=list)
    handles: dict[str, list[ShortText]] = msgspec.field(default_factory=dict)


class Kept(Record, tag="kept"):
    """Why a collector kept a record from an unfiltered stream (e.g. it mentions a protected person)."""

    record_id: RecordId
    reason: ShortText
    kept_at_us: Micros
    detail: ShortText = ""  # e.g. the protected person's id


class Enrichment(Record, tag="enrichment"):
    """What one enricher found in a post, named with the model and version that found it;
    running the enricher again replaces it."""

    post_id: RecordId
    enricher: ShortText  # language | mentions | harm
    version: ShortText
    enriched_at_us: Micros
    result: dict[str, object] = msgspec.field(default_factory=dict)


CanonicalRecord = (
    Account
    | AccountSnapshot
    | Post
    | Engagement
    | Follow
    | Deletion
    | MetricSnapshot
    | Person
    | Kept
    | Enrichment
)


def with_snapshot(account: Account, observed_us: int, source: str) -> list[CanonicalRecord]:
    """An account as a platform described it, plus a snapshot of its counts when they were given."""
    if account.followers is None:
        return [account]
    snapshot = AccountSnapshot(
        account_id=account.id,
        observed_at_us=observed_us,
        followers=account.followers,
        following=account.following,
        posts_count=account.posts_count,
        source=source,
    )
    return [account, snapshot]


class RawEvent(msgspec.Struct, kw_only=True):
    """A payload exactly as received, with where and when it came from.

    `event_key` identifies the event across replays (for Jetstream: repo, collection, rkey, rev
    and operation), so a duplicate is recognised before any canonical record is written.
    """

    source: str
    event_key: str
    received_at_us: int
    payload: bytes
    cursor: str | None = None


class QuarantineItem(msgspec.Struct, kw_only=True):
    """A payload that could not be normalised, kept byte for byte with the reason."""

    source: str
    received_at_us: int
    reason: str
    payload: bytes
    position: str | None = None


class IngestedEvent(msgspec.Struct):
    """One raw payload and the canonical records normalised from it."""

    raw: RawEvent
    records: list[CanonicalRecord]


class WriteBatch(msgspec.Struct, kw_only=True):
    """What one ingest transaction writes.

    The records of an event are written only when its raw event is new: a replay writes nothing.
    `records` not tied to a raw event (people, the watchlist) are always upserted.
    """

    events: list[IngestedEvent] = msgspec.field(default_factory=list)
    records: list[CanonicalRecord] = msgspec.field(default_factory=list)
    quarantine: list[QuarantineItem] = msgspec.field(default_factory=list)
    cursor: tuple[str, str] | None = None


class LanguageResult(msgspec.Struct, kw_only=True):
    """What the language enricher recorded: the platform's tag, or the detector's guess."""

    lang: str
    source: Literal["platform", "detected"]
    confidence: float | None = None  # the detector's, when it guessed


class MentionsResult(msgspec.Struct, kw_only=True):
    """The protected people a post names, and each match as [person, how, the words matched]."""

    people: list[str]
    hits: list[list[str]]


class HarmResult(msgspec.Struct, kw_only=True):
    """What the harm enricher recorded for one post (enrich/stage.py), as its readers get it: the
    stored JSON decoded by the store. Absent fields (a post not scored) take these defaults."""

    model: str = ""
    lang: str | None = None
    not_scored: str | None = None  # why the post was not scored ("language: ar")
    scores: dict[str, float] = msgspec.field(default_factory=dict)  # at the deployed priors
    raw: dict[str, float] = msgspec.field(default_factory=dict)  # at the training priors
    thresholds: dict[str, float] = msgspec.field(default_factory=dict)
    flagged: list[str] = msgspec.field(default_factory=list)
    borderline: list[str] = msgspec.field(default_factory=list)
    by: dict[str, str] = msgspec.field(default_factory=dict)  # class -> model | rule | model and rule
    rules: list[list[str]] = msgspec.field(default_factory=list)  # [rule, matched] in own words
    reported: list[list[str]] = msgspec.field(default_factory=list)  # in reported speech: no flag
    own_words: bool = False
    target: str | None = None  # individual | group | untargeted
    targets: dict[str, float] = msgspec.field(default_factory=dict)
    aimed_at: list[str] = msgspec.field(default_factory=list)  # protected people, when aimed at one
    named: list[str] = msgspec.field(default_factory=list)


def platform_of(record_id: str) -> str:
    """The platform part of a canonical id."""
    return split_id(record_id)[0]

"""Mastodon Status and Account entities (REST bodies and streaming payloads) into canonical records.

Ids are instance-aware: a status id is only meaningful on the server that issued it, so a post is
`mastodon:<instance>/<status id>`; an account is `mastodon:<user>@<domain>` (its acct made whole).
Content is HTML: it becomes plain text here, links and mentions read from the markup and entities.
Field facts: ../shared/PLATFORMS.md §2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, Literal

import msgspec

from reachwatch.errors import PayloadError
from reachwatch.model import (
    Account,
    CanonicalRecord,
    Count,
    Deletion,
    Engagement,
    EngagementKind,
    MetricSnapshot,
    Post,
    derived_engagements,
    micros_from_datetime,
    with_snapshot,
)

PLATFORM = "mastodon"


NOT_PUBLIC = frozenset({"private", "direct", "limited"})


class MastodonAccount(msgspec.Struct):
    id: str
    username: str
    acct: str
    display_name: str | None = None
    note: str | None = None
    created_at: str | None = None
    followers_count: Count | None = None
    following_count: Count | None = None
    statuses_count: Count | None = None
    bot: bool | None = None


class Mention(msgspec.Struct):
    acct: str
    id: str | None = None


class Tag(msgspec.Struct):
    name: str


class QuoteView(msgspec.Struct):
    state: str
    quoted_status: dict[str, Any] | None = None
    quoted_status_id: str | None = None


class Status(msgspec.Struct):
    id: str
    created_at: str
    account: MastodonAccount
    content: str = ""
    uri: str | None = None
    visibility: str = "public"
    language: str | None = None
    in_reply_to_id: str | None = None
    reblog: dict[str, Any] | None = None
    quote: QuoteView | None = None
    mentions: list[Mention] = msgspec.field(default_factory=list)
    tags: list[Tag] = msgspec.field(default_factory=list)
    spoiler_text: str = ""
    replies_count: Count | None = None
    reblogs_count: Count | None = None
    favourites_count: Count | None = None
    quotes_count: Count | None = None


class Context(msgspec.Struct):
    ancestors: list[Status]
    descendants: list[Status]


class StreamMessage(msgspec.Struct):
    event: str
    payload: str


class _TextAndLinks(HTMLParser):
    """Plain text of a status's HTML, and the links in it that are not mentions or hashtags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if self._skip_depth:
            self._skip_depth += tag == "p"
            return
        if tag == "p" and "quote-inline" in classes:  # the fallback "RE: link" of a quote
            self._skip_depth = 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "a" and not {"mention", "hashtag", "u-url"} & set(classes):
            href = attributes.get("href")
            if href and href.startswith(("http://", "https://")):
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            self._skip_depth -= tag == "p"
            return
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, list[str]]:
    """(plain text, links) of a status's HTML content."""
    parser = _TextAndLinks()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip(), parser.links


def _time(value: str) -> int:
    try:
        return micros_from_datetime(datetime.fromisoformat(value))
    except ValueError as exc:
        raise PayloadError("invalid-value", f"not an ISO time: {value[:60]!r}") from exc


def account_id(acct: str, instance: str) -> str:
    """`mastodon:user@domain`: a local acct has no domain, so the instance's is added."""
    acct = acct.lstrip("@")
    return f"{PLATFORM}:{acct if '@' in acct else f'{acct}@{instance}'}"


def status_id(instance: str, local_id: str) -> str:
    return f"{PLATFORM}:{instance}/{local_id}"


def account_records(account: MastodonAccount, instance: str, observed_us: int) -> list[CanonicalRecord]:
    ident = account_id(account.acct, instance)
    note = html_to_text(account.note)[0] if account.note else None
    described = Account(
        id=ident,
        platform=PLATFORM,
        handle=account.acct if "@" in account.acct else f"{account.acct}@{instance}",
        display_name=account.display_name,
        description=note,
        created_at_us=_time(account.created_at) if account.created_at else None,
        followers=account.followers_count,
        following=account.following_count,
        posts_count=account.statuses_count,
    )
    return with_snapshot(described, observed_us, "mastodon")


def status_records(status: Status, instance: str, observed_us: int) -> list[CanonicalRecord]:
    """A status: its author, and a post (with reply/quote engagements) or, for a boost, a repost.
    Followers-only and direct statuses are not public and are never kept (unlisted ones are)."""
    if status.visibility in NOT_PUBLIC:
        return []
    records = account_records(status.account, instance, observed_us)
    ident = status_id(instance, status.id)
    author = account_id(status.account.acct, instance)
    created = min(_time(status.created_at), observed_us)
    if status.reblog is not None:
        original = msgspec.convert(status.reblog, Status)
        records.extend(status_records(original, instance, observed_us))
        records.append(
            Engagement(
                id=ident,
                kind=EngagementKind.REPOST,
                actor_id=author,
                post_id=status_id(instance, original.id),
                created_at_us=created,
            )
        )
        return records
    text, links = html_to_text(status.content)
    if status.spoiler_text:
        text = f"{status.spoiler_text}\n\n{text}"
    reply_to = status_id(instance, status.in_reply_to_id) if status.in_reply_to_id else None
    quoted = _quoted(status.quote, instance, observed_us, records)
    post = Post(
        id=ident,
        platform=PLATFORM,
        author_id=author,
        created_at_us=created,
        text=text,
        lang=status.language,
        reply_to=reply_to,
        quote_of=quoted,
        urls=links,
        mentions=[account_id(mention.acct, instance) for mention in status.mentions],
        hashtags=[tag.name for tag in status.tags],
    )
    records.append(post)
    records.extend(derived_engagements(post))
    records.append(
        MetricSnapshot(
            post_id=ident,
            observed_at_us=observed_us,
            reposts=status.reblogs_count,
            quotes=status.quotes_count,
            replies=status.replies_count,
            likes=status.favourites_count,
            source="mastodon",
        )
    )
    return records


def _quoted(
    quote: QuoteView | None, instance: str, observed_us: int, records: list[CanonicalRecord]
) -> str | None:
    """The id of the quoted status when the quote stands (accepted); its records join `records`."""
    if quote is None or quote.state != "accepted":
        return None
    if quote.quoted_status is not None:
        quoted = msgspec.convert(quote.quoted_status, Status)
        records.extend(status_records(quoted, instance, observed_us))
        return status_id(instance, quoted.id)
    return status_id(instance, quote.quoted_status_id) if quote.quoted_status_id else None


def _actor_list(kind: EngagementKind) -> Callable[[Any, str, int, dict[str, str]], list[CanonicalRecord]]:
    """reblogged_by / favourited_by: accounts that acted on the status named in the request."""

    def normalise(
        body: Any, instance: str, observed_us: int, params: dict[str, str]
    ) -> list[CanonicalRecord]:
        target = params.get("status")
        if not target:
            raise PayloadError("missing-field", f"a {kind.value} list without the status it is about")
        records: list[CanonicalRecord] = []
        for account in msgspec.convert(body, list[MastodonAccount]):
            records.extend(account_records(account, instance, observed_us))
            actor = account_id(account.acct, instance)
            records.append(
                Engagement(
                    id=f"{status_id(instance, target)}/{kind.value}/{actor.removeprefix('mastodon:')}",
                    kind=kind,
                    actor_id=actor,
                    post_id=status_id(instance, target),
                    created_at_us=observed_us,
                    time_observed=True,  # Mastodon does not say when a boost or favourite was made
                )
            )
        return records

    return normalise


def _statuses(body: Any, instance: str, observed_us: int, _params: dict[str, str]) -> list[CanonicalRecord]:
    statuses = msgspec.convert(body, list[Status])
    return [record for status in statuses for record in status_records(status, instance, observed_us)]


def _status(body: Any, instance: str, observed_us: int, _params: dict[str, str]) -> list[CanonicalRecord]:
    return status_records(msgspec.convert(body, Status), instance, observed_us)


def _context(body: Any, instance: str, observed_us: int, params: dict[str, str]) -> list[CanonicalRecord]:
    context = msgspec.convert(body, Context)
    return _statuses(
        msgspec.to_builtins([*context.ancestors, *context.descendants]), instance, observed_us, params
    )


def _account(body: Any, instance: str, observed_us: int, _params: dict[str, str]) -> list[CanonicalRecord]:
    return account_records(msgspec.convert(body, MastodonAccount), instance, observed_us)


def _stream(body: Any, instance: str, observed_us: int, _params: dict[str, str]) -> list[CanonicalRecord]:
    message = msgspec.convert(body, StreamMessage)
    if message.event in ("update", "status.update"):
        return status_records(msgspec.json.decode(message.payload, type=Status), instance, observed_us)
    if message.event == "delete":
        target: Literal["post"] = "post"
        return [
            Deletion(
                target=target, id=status_id(instance, message.payload.strip()), deleted_at_us=observed_us
            )
        ]
    return []  # notifications, announcements, filters: nothing public to keep


ENDPOINTS: dict[str, Callable[[Any, str, int, dict[str, str]], list[CanonicalRecord]]] = {
    "statuses": _statuses,  # timelines, account statuses, quotes
    "status": _status,
    "context": _context,
    "reblogged_by": _actor_list(EngagementKind.REPOST),
    "favourited_by": _actor_list(EngagementKind.LIKE),
    "account": _account,
    "stream": _stream,
}


def normalise_response(
    endpoint: str, body: Any, instance: str | None, observed_us: int, params: dict[str, str]
) -> list[CanonicalRecord]:
    """Canonical records of one Mastodon body read from `instance` (the server that gave the ids)."""
    normalise = ENDPOINTS.get(endpoint)
    if normalise is None:
        raise PayloadError("unknown-kind", f"no normaliser for the Mastodon response {endpoint[:60]!r}")
    if not instance:
        raise PayloadError("missing-field", "a Mastodon response without the instance it came from")
    try:
        return normalise(body, instance, observed_us, params)
    except msgspec.ValidationError as exc:
        raise PayloadError("wrong-type", f"Mastodon {endpoint}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise PayloadError("invalid-json", f"Mastodon {endpoint} payload: {exc}") from exc

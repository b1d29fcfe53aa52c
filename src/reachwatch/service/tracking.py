"""Which events of an unfiltered stream to keep, and why: watched accounts, their posts' engagers,
threads under their posts, and every post that names a protected person.

The Jetstream firehose carries every public event of Bluesky; reposts and likes of a watched post
come from accounts nobody watches, so filtering by wantedDids alone would lose them. This policy
filters client-side and remembers what it kept (bounded), so later replies, likes and deletions of
kept posts are kept too.
"""

from __future__ import annotations

from collections import OrderedDict

from reachwatch.connectors import platform
from reachwatch.enrich.mentions import MentionMatcher
from reachwatch.model import (
    Account,
    AccountSnapshot,
    CanonicalRecord,
    Deletion,
    Engagement,
    Follow,
    MetricSnapshot,
    Post,
)

WATCHED_AUTHOR = "watched-author"
ENGAGES_WATCHED = "engages-watched"
IN_THREAD = "in-kept-thread"
MENTIONS_PERSON = "mentions-person"
MENTIONS_WATCHED = "mentions-watched"


def reason_text(why: str, people: list[str]) -> str:
    """Why an event was kept, as it travels beside its payload (`Fetched.reason`, the bus's
    header): `why`, or `why:person,person` (person ids hold no commas: model.Person)."""
    return f"{why}:{','.join(people)}" if people else why


def parse_reason(text: str | None) -> tuple[str, list[str]]:
    """(why, the people named) of a `reason_text`; ("", []) for none."""
    why, _, named = (text or "").partition(":")
    return why, named.split(",") if named else []


def author_of(record_id: str) -> str | None:
    """The author account of a record, where its id says it (`bluesky:at://did/...` → `bluesky:did`)."""
    found = platform.of_id(record_id)
    return found.author_of(record_id) if found is not None else None


class KeepPolicy:
    """Decides per event whether it is kept; `reason` returns why (None: drop it)."""

    def __init__(
        self,
        watched: set[str],
        matcher: MentionMatcher | None = None,
        *,
        memory: int = 500_000,
    ) -> None:
        self.watched = watched
        self.matcher = matcher if matcher is not None and not matcher.empty else None
        self.memory = memory
        self._kept: OrderedDict[str, None] = OrderedDict()
        self.last_people: list[str] = []

    def remember(self, record_id: str) -> None:
        self._kept[record_id] = None
        self._kept.move_to_end(record_id)
        if len(self._kept) > self.memory:
            self._kept.popitem(last=False)

    def _tracked(self, record_id: str | None) -> bool:
        if record_id is None:
            return False
        return record_id in self._kept or author_of(record_id) in self.watched

    def reason(self, records: list[CanonicalRecord]) -> str | None:
        """Why this event's records are kept, or None; kept posts and engagers are remembered."""
        self.last_people = []
        found: str | None = None
        for record in records:
            why = self._reason_one(record)
            if why is not None and found is None:
                found = why
        if found is not None:
            for record in records:
                if isinstance(record, Post | Engagement):
                    self.remember(record.id)
                if isinstance(record, Engagement):
                    self.remember(record.actor_id)
        return found

    def _reason_one(self, record: CanonicalRecord) -> str | None:
        watched = self.watched
        if isinstance(record, Post):
            if record.author_id in watched:
                return WATCHED_AUTHOR
            if self._tracked(record.reply_to) or self._tracked(record.quote_of):
                return ENGAGES_WATCHED
            if self._tracked(record.reply_root):
                return IN_THREAD
            if self.matcher is not None:
                hits = self.matcher.find(record.text, record.mentions)
                if hits:
                    self.last_people = sorted({hit.person_id for hit in hits})
                    return MENTIONS_PERSON
            if any(account in watched for account in record.mentions):
                return MENTIONS_WATCHED
            return None
        if isinstance(record, Engagement):
            if record.actor_id in watched:
                return WATCHED_AUTHOR
            return ENGAGES_WATCHED if self._tracked(record.post_id) else None
        if isinstance(record, Follow):
            return WATCHED_AUTHOR if record.followed_id in watched or record.follower_id in watched else None
        if isinstance(record, Deletion):
            return ENGAGES_WATCHED if record.id in self._kept or record.actor_id in watched else None
        if isinstance(record, Account | AccountSnapshot):
            ident = record.id if isinstance(record, Account) else record.account_id
            return WATCHED_AUTHOR if ident in watched or ident in self._kept else None
        if isinstance(record, MetricSnapshot):
            return ENGAGES_WATCHED if self._tracked(record.post_id) else None
        return None

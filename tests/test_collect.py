"""Collection end to end against local fakes of the AppView, a Mastodon instance and X API v2,
with faults injected: every engagement is stored exactly once, however the requests went."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from reachwatch.config import Settings
from reachwatch.connectors.bluesky.platform import BlueskySettings
from reachwatch.connectors.mastodon.platform import MastodonSettings
from reachwatch.connectors.x.platform import XSettings
from reachwatch.errors import ConnectorError, UsageError
from reachwatch.model import Person
from reachwatch.service import platforms, watchlist
from reachwatch.service.collect import Backfiller, CollectOptions, collect, poll_interval
from reachwatch.store import queries
from reachwatch.store.database import Store
from tests.fakes.platforms import BlueskyWorld, MastodonWorld, XWorld

PERSON = Person(
    id="dana-whitfield",
    name="Dana Whitfield",
    aliases=["#DanaWhitfield"],
    handles={"x": ["danawhitfield"]},
)


class Worlds:
    def __init__(self, faults: dict[str, dict[int, str]]) -> None:
        self.bluesky, self.mastodon, self.x = BlueskyWorld(), MastodonWorld(), XWorld()
        self.servers = {
            "bluesky": self.bluesky.server(),
            "mastodon": self.mastodon.server(),
            "x": self.x.server(),
        }
        for name, plan in faults.items():
            self.servers[name].faults = plan

    def settings(self, db: str) -> Settings:
        return Settings(
            db=db,
            bluesky=BlueskySettings(appview_url=self.servers["bluesky"].base_url),
            mastodon=MastodonSettings(base_urls={"social.example": self.servers["mastodon"].base_url}),
            x=XSettings(bearer_token=SecretStr("test-token"), api_url=self.servers["x"].base_url),
        )


@pytest.fixture
def worlds(request: pytest.FixtureRequest) -> Iterator[Worlds]:
    faults = getattr(request, "param", {})
    found = Worlds(faults)
    with ExitStack() as stack:
        for server in found.servers.values():
            stack.enter_context(server.running())
        yield found


def count(store: Store, sql: str, **params: object) -> int:
    with store.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def engagements(store: Store, kind: str, platform: str) -> int:
    return count(
        store,
        "SELECT count(*) FROM engagements WHERE kind = :kind AND post_id LIKE :prefix",
        kind=kind,
        prefix=f"{platform}:%",
    )


def watch_everything(store: Store, settings: Settings) -> None:
    clients = platforms.clients(settings)
    try:
        for spec in ("bsky:watched.bsky.social", "mastodon:@watched@social.example", "x:watchedx"):
            watchlist.add(store, clients, spec)
    finally:
        clients.close()
    store.write_records([PERSON])


FAULTS = {
    "bluesky": {2: "429", 4: "503", 7: "drop", 10: "429-retry-after", 12: "503"},
    "mastodon": {3: "503", 6: "drop", 9: "429"},
    "x": {2: "429-retry-after", 5: "503", 8: "drop"},
}


@pytest.mark.parametrize("worlds", [FAULTS], indirect=True)
def test_collect_once_through_rate_limits_errors_and_drops_stores_everything_once(
    worlds: Worlds, store: Store
) -> None:
    settings = worlds.settings(store.location)
    watch_everything(store, settings)
    report = collect(store, settings, CollectOptions(once=True))
    assert report.backfill.errors == []
    assert report.retries >= 11  # every injected fault was met and retried
    assert report.waited_s >= 2  # the 429s were waited out, not hammered
    b, m, x = worlds.bluesky, worlds.mastodon, worlds.x
    first = _counts(store)
    assert first == {
        "bluesky likes": 3 * b.likes,
        "bluesky reposts": 3 * b.reposts,
        "bluesky quotes": 3 * b.quotes,
        "bluesky replies": 3 * b.replies,
        "mastodon reposts": 3 * m.reblogs,
        "mastodon likes": 3 * m.favourites,
        "mastodon replies": 3 * m.replies,
        "x reposts": 3 * x.retweets,
        "x likes": 3 * x.likes,
        "x quotes": 3 * x.quotes,
        "x replies": 3 * x.replies,
        "watched posts": 9,
        "kept for the person": m.tagged + x.mentions,
    }
    # A second round (a restart: the schedule starts afresh) polls it all again and adds nothing.
    collect(store, settings, CollectOptions(once=True))
    assert _counts(store) == first
    assert count(store, "SELECT count(*) FROM account_snapshots WHERE account_id = 'x:900'") >= 1


def _counts(store: Store) -> dict[str, int]:
    found = {
        f"{platform} {kind}s" if kind != "reply" else f"{platform} replies": engagements(
            store, kind, platform
        )
        for platform in ("bluesky", "mastodon", "x")
        for kind in ("like", "repost", "quote", "reply")
    }
    found = {name: value for name, value in found.items() if value or name in ("bluesky quotes",)}
    found["watched posts"] = count(
        store, "SELECT count(*) FROM posts p JOIN watchlist w ON p.author_id = w.account_id"
    )
    found["kept for the person"] = count(
        store, "SELECT count(*) FROM kept WHERE reason = 'mentions-person' AND detail = 'dana-whitfield'"
    )
    return found


@pytest.mark.parametrize("worlds", [{"bluesky": {3: "garbled"}}], indirect=True)
def test_a_garbled_page_is_quarantined_and_reported_not_fatal(worlds: Worlds, sqlite_store: Store) -> None:
    settings = worlds.settings(sqlite_store.location)
    clients = platforms.clients(settings)
    try:
        watchlist.add(sqlite_store, clients, "bsky:watched.bsky.social")
    finally:
        clients.close()
    report = collect(sqlite_store, settings, CollectOptions(once=True))
    assert any("unreadable" in error for error in report.backfill.errors)
    assert queries.stats(sqlite_store).quarantine_open == 1
    assert engagements(sqlite_store, "like", "bluesky") > 0  # the rest of the round went on


def test_unknown_account_is_a_clear_error(worlds: Worlds, sqlite_store: Store) -> None:
    clients = platforms.clients(worlds.settings(sqlite_store.location))
    try:
        with pytest.raises(ConnectorError, match="HTTP 400"):
            watchlist.add(sqlite_store, clients, "bsky:nobody.bsky.social")
        with pytest.raises(ConnectorError, match="HTTP 404"):
            watchlist.add(sqlite_store, clients, "mastodon:@nobody@social.example")
    finally:
        clients.close()


@pytest.mark.parametrize(
    "spec",
    ["bsky:", "mastodon:watched", "x:this_name_is_far_too_long", "myspace:tom", "bsky:not a handle"],
)
def test_bad_watch_specs_say_how_to_write_one(spec: str) -> None:
    with pytest.raises(UsageError):
        watchlist.parse_spec(spec)


def test_watch_specs() -> None:
    assert watchlist.parse_spec("bsky:Jess.bsky.social") == ("bluesky", "jess.bsky.social", None)
    assert watchlist.parse_spec("mastodon:@Ann@Mastodon.Social") == ("mastodon", "Ann", "mastodon.social")
    assert watchlist.parse_spec("x:@jess_p") == ("x", "jess_p", None)


def test_hot_posts_are_polled_more_often_than_cold_ones() -> None:
    week = 7 * 24 * 3600.0
    intervals = [poll_interval(age, week) for age in (60, 3 * 3600, 12 * 3600, 3 * 24 * 3600)]
    assert intervals == sorted(intervals)  # type: ignore[type-var]
    assert intervals[0] == 120
    assert poll_interval(8 * 24 * 3600, week) is None


def test_removing_a_watched_account_keeps_its_data(
    worlds: Worlds, sqlite_store: Store, tmp_path: Path
) -> None:
    settings = worlds.settings(sqlite_store.location)
    clients = platforms.clients(settings)
    try:
        entry = watchlist.add(sqlite_store, clients, "bsky:watched.bsky.social")
    finally:
        clients.close()
    assert queries.stats(sqlite_store).watched_accounts == 1
    watchlist.remove(sqlite_store, "bsky:watched.bsky.social")
    assert watchlist.list_watched(sqlite_store) == []
    assert queries.stats(sqlite_store).watched_accounts == 0
    assert count(sqlite_store, "SELECT count(*) FROM accounts WHERE id = :i", i=entry.account_id) == 1


def test_the_schedule_forgets_posts_that_aged_out(worlds: Worlds, sqlite_store: Store) -> None:
    settings = worlds.settings(sqlite_store.location)
    clients = platforms.clients(settings)
    now = [time.time()]
    try:
        watchlist.add(sqlite_store, clients, "bsky:watched.bsky.social")
        backfiller = Backfiller(sqlite_store, clients, settings, clock=lambda: now[0])
        backfiller.round()
        assert len(backfiller._metrics_at) == 3
        polled = len(worlds.servers["bluesky"].requests)
        backfiller.round()  # nothing is due a moment later: only the feed is asked for new posts
        assert len(worlds.servers["bluesky"].requests) == polled + 1
        now[0] += 8 * 24 * 3600
        backfiller.round()
        assert backfiller._metrics_at == {}
        assert backfiller._engagers_at == {}
    finally:
        clients.close()

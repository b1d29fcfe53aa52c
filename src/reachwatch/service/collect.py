"""`reachwatch collect`: live streams plus a backfill that polls hot posts often and cold ones rarely.

For each watched account the backfill fetches new posts, then for each recent post its counts and
its engagers (likes, reposts, quotes, replies), on a schedule set by the post's age. For each
protected person it runs each platform's search. Live, each platform's streams (Jetstream read
whole, Mastodon's public timelines) are filtered by the keep policy (watched accounts, their
engagers, posts naming a protected person). What to ask each platform is its Platform's business
(connectors/platform.py); this module only schedules and writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

import msgspec

from reachwatch.config import Settings
from reachwatch.connectors import platform
from reachwatch.connectors.base import Fetched, LiveSource, Stopper
from reachwatch.connectors.platform import Clients
from reachwatch.enrich.mentions import MentionMatcher
from reachwatch.errors import ConnectorError, StoppedError, UsageError
from reachwatch.model import Person
from reachwatch.service import alerts, platforms, privacy
from reachwatch.service.alerts import AlertEngine
from reachwatch.service.delivery import Deliverer
from reachwatch.service.pipeline import Pipeline, PipelineOptions, SourceReport
from reachwatch.service.tracking import MENTIONS_PERSON, KeepPolicy, reason_text
from reachwatch.store.collection import RecentPost, WatchEntry, people, recent_posts, watchlist
from reachwatch.store.database import Store

__all__ = [
    "Backfiller",
    "CollectOptions",
    "CollectReport",
    "LivePlan",
    "Stopper",
    "collect",
    "live_plan",
    "poll_interval",
]

log = logging.getLogger(__name__)

HOUR = 3600.0
# (age below, poll interval): a post is hottest in its first hour.
METRIC_STEPS = ((HOUR, 120.0), (6 * HOUR, 600.0), (24 * HOUR, 1800.0), (7 * 24 * HOUR, 6 * HOUR))
ENGAGER_FACTOR = 3.0  # engager lists cost many pages: polled a third as often as counts


def poll_interval(age_s: float, max_age_s: float) -> float | None:
    """Seconds between polls of a post this old; None when it is too old to poll."""
    if age_s > max_age_s:
        return None
    for below, interval in METRIC_STEPS:
        if age_s < below:
            return interval
    return METRIC_STEPS[-1][1]


class BackfillReport(msgspec.Struct, kw_only=True):
    rounds: int = 0
    requests: int = 0
    posts_polled: int = 0
    errors: list[str] = msgspec.field(default_factory=list)


class Backfiller:
    """One round polls whatever is due; its state (when each post was last polled) lives here."""

    def __init__(
        self,
        store: Store,
        clients: Clients,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.clients = clients
        self.settings = settings
        self.clock = clock
        self.sink = Pipeline(store)
        self.report = BackfillReport()
        self._metrics_at: dict[str, float] = {}
        self._engagers_at: dict[str, float] = {}

    def _write(self, fetched: Iterable[Fetched], reason: str | None = None) -> None:
        """Write every page fetched, including those fetched before a failure ends the paging."""
        items: list[Fetched] = []
        try:
            for item in fetched:
                items.append(item if reason is None else msgspec.structs.replace(item, reason=reason))
        finally:
            self.report.requests += len(items)
            self.sink.write_now(items)

    def round(self) -> BackfillReport:
        entries = watchlist(self.store)
        for entry in entries:
            self._guarded(f"new posts of {entry.spec}", partial(self._new_posts, entry))
        now = self.clock()
        max_age = self.settings.collect.max_post_age_days * 24 * HOUR
        by_id = {entry.account_id: entry for entry in entries}
        posts = recent_posts(self.store, list(by_id), int((now - max_age) * 1e6))
        due_metrics, due_engagers = [], []
        for post in posts:
            interval = poll_interval(now - post.created_at_us / 1e6, max_age)
            if interval is None:
                continue
            if now - self._metrics_at.get(post.id, 0.0) >= interval:
                due_metrics.append(post)
            if now - self._engagers_at.get(post.id, 0.0) >= interval * ENGAGER_FACTOR:
                due_engagers.append(post)
        self._guarded("post counts", partial(self._metrics, due_metrics, by_id))
        for post in due_engagers:
            self._guarded(f"engagers of {post.id}", partial(self._engagers, post, by_id[post.author_id]))
            self._engagers_at[post.id] = now
        for post in due_metrics:
            self._metrics_at[post.id] = now
        # Weeks of running must not grow memory: forget posts that aged out of polling.
        current = {post.id for post in posts}
        for schedule in (self._metrics_at, self._engagers_at):
            for gone in [ident for ident in schedule if ident not in current]:
                del schedule[gone]
        for person in people(self.store):
            self._guarded(f"mentions of {person.id}", partial(self._mentions, person, entries))
        self.report.posts_polled += len(due_metrics)
        self.report.rounds += 1
        return self.report

    def _guarded(self, what: str, work: Callable[[], None]) -> None:
        """One failing account or post must not stop the round; the error is reported."""
        try:
            work()
        except StoppedError:
            raise
        except (ConnectorError, UsageError) as exc:  # UsageError: a watched platform not installed
            self.report.errors.append(f"{what}: {exc}")
            log.warning("Backfill of %s failed: %s", what, exc)

    def _new_posts(self, entry: WatchEntry) -> None:
        latest = recent_posts(self.store, [entry.account_id], 0, limit=1)
        max_age_us = int(self.settings.collect.max_post_age_days * 24 * HOUR * 1e6)
        since = latest[0].created_at_us if latest else int(self.clock() * 1e6) - max_age_us
        found = platform.get(entry.platform)
        for pages in found.new_posts(self.clients, entry, latest[0].id if latest else None, since):
            self._write(pages)

    def _metrics(self, due: list[RecentPost], by_id: dict[str, WatchEntry]) -> None:
        for name, found in platform.registered().items():
            posts = [(post.id, by_id[post.author_id]) for post in due if post.id.startswith(f"{name}:")]
            if posts:
                for pages in found.metrics(self.clients, posts):
                    self._write(pages)

    def _engagers(self, post: RecentPost, entry: WatchEntry) -> None:
        pages = self.settings.collect.engagers_per_post_pages
        for fetched in platform.get(entry.platform).engagers(self.clients, post.id, entry, pages):
            self._write(fetched)

    def _mentions(self, person: Person, entries: list[WatchEntry]) -> None:
        """Each platform's search for posts naming one protected person (X recent search, Mastodon
        hashtag timelines)."""
        reason = reason_text(MENTIONS_PERSON, [person.id])
        for found in platform.registered().values():
            for pages in found.mentions(self.clients, person, entries):
                self._write(pages, reason)


class CollectOptions(msgspec.Struct, kw_only=True):
    once: bool = False  # one backfill round, no streams
    live: bool = True
    duration_s: float | None = None
    round_interval_s: float = 60.0


class CollectReport(msgspec.Struct, kw_only=True):
    backfill: BackfillReport
    live: dict[str, SourceReport]
    waited_s: float
    retries: int


def live_sources(clients: Clients, entries: list[WatchEntry], registry: list[Person]) -> list[LiveSource]:
    """Each platform's streams for its watched accounts and the protected people."""
    sources: list[LiveSource] = []
    for name, found in platform.registered().items():
        sources += found.live_sources(
            clients, [entry for entry in entries if entry.platform == name], registry
        )
    return sources


@dataclass
class LivePlan:
    """What a live collection runs: each platform's streams, the keep policy of each (watched
    accounts, what engages with them, posts naming protected people) and the committed cursors."""

    sources: list[LiveSource] = field(default_factory=list)
    policies: dict[str, KeepPolicy] = field(default_factory=dict)
    cursors: dict[str, str | None] = field(default_factory=dict)


def live_plan(store: Store, clients: Clients) -> LivePlan:
    """The live streams for the store's watchlist and registry: shared by `collect` (one process)
    and `worker collect --live` (publishing to the bus), so both keep exactly the same events."""
    entries, registry = watchlist(store), people(store)
    matcher = MentionMatcher(registry)
    watched = {entry.account_id for entry in entries}
    sources = live_sources(clients, entries, registry)
    return LivePlan(
        sources=sources,
        policies={source.name: KeepPolicy(watched, matcher) for source in sources},
        cursors={source.name: store.get_cursor(source.name) for source in sources},
    )


def delivery_worker(store: Store, settings: Settings, engine: AlertEngine) -> Deliverer:
    """The deliverer of the engine's alerts, woken as soon as the engine queues one."""
    secret = settings.alerts.webhook_secret
    key = settings.privacy.secret_key
    return Deliverer(
        store, lambda: engine.rules, webhook_secret=secret.get_secret_value() if secret else None,
        pseudonym_key=privacy.deployment_key(store, key.get_secret_value() if key else None),
        allowed_hosts=settings.alerts.allowed_hosts, wake=engine.delivery_wanted,
    )  # fmt: skip


def collect(
    store: Store,
    settings: Settings,
    options: CollectOptions,
    *,
    stopper: Stopper | None = None,
    on_progress: Callable[[dict[str, SourceReport]], None] | None = None,
) -> CollectReport:
    """Run the collector; returns when stopped, after --duration, or after one round with --once."""
    stopper = stopper or Stopper()
    clients = platforms.clients(settings, stopper)
    backfiller = Backfiller(store, clients, settings)
    alerts.load_configured_rules(store, settings.alerts.rules_file)
    engine = AlertEngine(store)
    backfiller.sink.on_written = engine.on_batch
    reports: dict[str, SourceReport] = {}
    try:
        if options.once:
            backfiller.round()
        else:
            plan = live_plan(store, clients) if options.live else LivePlan()
            sources, policies = plan.sources, plan.policies

            def backfill_loop() -> None:
                while not stopper.stopped:
                    try:
                        backfiller.round()
                    except StoppedError:
                        return
                    stopper.sleep(options.round_interval_s)

            deliverer = delivery_worker(store, settings, engine)

            def deliver_loop() -> None:
                try:
                    deliverer.run(lambda: stopper.stopped)
                finally:
                    deliverer.close()

            pipeline = Pipeline(
                store,
                PipelineOptions(),
                policies=policies,
                on_progress=on_progress,
                on_written=engine.on_batch,
            )
            reports = pipeline.run(
                sources, stopper, workers=[backfill_loop, deliver_loop], duration_s=options.duration_s
            )
    finally:
        clients.close()
    reports.update(backfiller.sink.reports)
    return CollectReport(
        backfill=backfiller.report, live=reports, waited_s=clients.waited_s, retries=clients.retries
    )

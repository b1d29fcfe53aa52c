"""The watch floor: what the watched accounts posted lately and which of those posts are moving —
ranked by velocity (engagements in the last hour) and by how far they stand above the author's
usual: the one robust z of analysis/baseline.py, computed by service/baselines.py as the dossier's
is, so the floor and the dossier show the same number for a post."""

from __future__ import annotations

import time

import msgspec

from reachwatch.analysis.baseline import DEFINITION
from reachwatch.model import HarmResult
from reachwatch.service import baselines, reach
from reachwatch.store import enrichments
from reachwatch.store import floor as reads
from reachwatch.store import reach as reach_reads
from reachwatch.store.database import Store

DAY_US = 86_400_000_000
LIVE_WITHIN_US = DAY_US  # a store with nothing newer than this is described as of its newest data


class FloorPost(msgspec.Struct, kw_only=True):
    post_id: str
    author_id: str
    author_handle: str | None
    created_at_us: int
    text: str
    total: int  # reposts + quotes + replies + likes, each the events seen or the platform's count
    amplified: int  # reposts + quotes, the count the robust z compares
    last_hour: int  # engagement events in the last hour
    robust_z: float | None  # see analysis/baseline.py DEFINITION
    harm: list[str]  # harm classes flagged
    people: list[str]  # protected people named


class WatchedAccount(msgspec.Struct, kw_only=True):
    account_id: str
    handle: str | None
    display_name: str | None
    followers: int | None
    posts: int  # in the window
    latest: FloorPost | None


class WatchFloor(msgspec.Struct, kw_only=True):
    as_of_us: int
    live: bool  # false: the store has no recent data and is shown as of its newest
    window_days: float
    accounts: list[WatchedAccount]
    by_velocity: list[FloorPost]
    by_z: list[FloorPost]
    z_definition: str = DEFINITION


def watch_floor(
    store: Store, *, window_days: float = 7.0, limit: int = 20, now_us: int | None = None
) -> WatchFloor:
    wall = time.time_ns() // 1000 if now_us is None else now_us
    newest = reads.newest_activity_us(store) or wall
    live = wall - newest <= LIVE_WITHIN_US
    now = wall if live else newest
    watched = reads.watched_accounts(store)
    handles = {row.account_id: row.handle for row in watched}
    recent = reads.recent_posts(store, list(handles), now - int(window_days * DAY_US), now)
    harm = enrichments.harm(store, [row.post_id for row in recent])
    named = enrichments.results(store, "mentions", [row.post_id for row in recent])
    reported = reach_reads.latest_reported(store, [row.post_id for row in recent], now)
    shown: dict[str, dict[str, int]] = {}
    for row in recent:
        # Each count as the dossier shows it: the events, or the platform's report when larger.
        sources = reach.sources_of(row.by_kind, reported.get(row.post_id))
        shown[row.post_id] = {count.kind: count.value for count in sources if count.kind in row.by_kind}
    targets = [
        baselines.Target(
            row.post_id,
            row.author_id,
            row.created_at_us,
            shown[row.post_id]["repost"] + shown[row.post_id]["quote"],
        )
        for row in recent
    ]
    z_of = baselines.baselines(store, targets, now)
    posts: list[FloorPost] = []
    for row in recent:
        counts = shown[row.post_id]
        posts.append(
            FloorPost(
                post_id=row.post_id, author_id=row.author_id, author_handle=handles.get(row.author_id),
                created_at_us=row.created_at_us, text=row.text, total=sum(counts.values()),
                amplified=counts["repost"] + counts["quote"], last_hour=row.last_hour,
                robust_z=z_of[row.post_id].robust_z,
                harm=list((harm.get(row.post_id) or HarmResult()).flagged),
                people=list(named.get(row.post_id, {}).get("people", [])),
            )
        )  # fmt: skip
    accounts = []
    for account in watched:
        own = [post for post in posts if post.author_id == account.account_id]
        latest = max(own, key=lambda post: post.created_at_us, default=None)
        accounts.append(
            WatchedAccount(
                account_id=account.account_id, handle=account.handle, display_name=account.display_name,
                followers=account.followers, posts=len(own), latest=latest,
            )
        )  # fmt: skip
    by_velocity = sorted(posts, key=lambda post: (-post.last_hour, -post.total))[:limit]
    by_z = sorted(
        (post for post in posts if post.robust_z is not None), key=lambda post: -(post.robust_z or 0.0)
    )[:limit]
    return WatchFloor(
        as_of_us=now,
        live=live,
        window_days=window_days,
        accounts=accounts,
        by_velocity=by_velocity,
        by_z=by_z,
    )

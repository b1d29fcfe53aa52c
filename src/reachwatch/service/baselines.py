"""The one robust z of a post against its author's usual (analysis/baseline.py's definition), for
one post (the dossier) or many at once (the watch floor), from one grouped read of the authors'
posts: both surfaces call `baselines`, so they cannot disagree."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reachwatch.analysis.baseline import AGES_S, BASELINE_DAYS, AgeCounts, Baseline, author_baseline
from reachwatch.store import reach as reads
from reachwatch.store.database import Store

DAY_US = 86_400_000_000


class Target(NamedTuple):
    post_id: str
    author_id: str
    created_at_us: int
    value: int  # its reposts + quotes as of now: events or the platform's count, the larger


def earlier_counts(
    store: Store, authors: list[str], first_us: int, last_us: int
) -> dict[str, list[AgeCounts]]:
    """The authors' top-level posts that the baselines of their posts made in [first, last] rest
    on (the BASELINE_DAYS before the first up to the last), with their counts at each grid age."""
    since = first_us - BASELINE_DAYS * DAY_US
    ages_us = [int(age * 1e6) for age in AGES_S]
    earlier: dict[str, list[AgeCounts]] = {}
    for post_id, author, created, events, reported, has_events in reads.age_counts(
        store, sorted(set(authors)), since, last_us, ages_us
    ):
        earlier.setdefault(author, []).append(
            AgeCounts(
                post_id=post_id, created_at_us=created, events=np.cumsum(events).tolist(),
                platform=np.maximum.accumulate(np.asarray(reported)).tolist(), has_events=has_events,
            )
        )  # fmt: skip
    return earlier


def baselines(store: Store, targets: list[Target], now_us: int) -> dict[str, Baseline]:
    """Each target post's baseline as of `now_us`."""
    if not targets:
        return {}
    earlier = earlier_counts(
        store,
        [target.author_id for target in targets],
        min(target.created_at_us for target in targets),
        max(target.created_at_us for target in targets),
    )
    return {
        target.post_id: author_baseline(
            target.value,
            (now_us - target.created_at_us) / 1e6,
            target.created_at_us,
            now_us,
            earlier.get(target.author_id, []),
        )
        for target in targets
    }

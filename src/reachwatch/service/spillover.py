"""Spillover: for a protected person and a post that targets them, whether mentions of the person
— and harmful ones — rose after the post, by how much, and how much of it came from the post's
own engagers. Counts come from the store; the statistics are analysis/spillover.py's."""

from __future__ import annotations

import math
from collections import Counter

import msgspec

from reachwatch.analysis.counterfactual import DiD, SyntheticControl, did, synthetic_control
from reachwatch.analysis.spillover import (
    Attribution,
    SegmentedFit,
    attribution,
    dispersion,
    rate_ratio,
    segmented_fit,
)
from reachwatch.analysis.spillover import (
    RateRatio as RateRatio,
)
from reachwatch.errors import NotFoundError, UsageError
from reachwatch.model import Person
from reachwatch.store import reach as reach_reads
from reachwatch.store import spillover as reads
from reachwatch.store.collection import people
from reachwatch.store.database import Store

HOUR_US = 3_600_000_000
# The one definition of the spillover windows: every page, the API, the CLI, alerts and briefings
# use these unless the user asks for others, and every place that shows a ratio states them.
BEFORE_HOURS = 14 * 24.0
AFTER_HOURS = 7 * 24.0
BIN_HOURS = 24.0


# What counts as harm toward the person: "aimed" (the default on every surface) or the wider
# second view, "mentions".
HARM_VIEWS = {
    "aimed": "harmful posts aimed at the person: they name, reply to or quote the person, and the "
    "abuse targets an individual",
    "mentions": "harmful posts that mention the person (whoever the abuse targets)",
}


class SpilloverOptions(msgspec.Struct, kw_only=True):
    harm: str = "aimed"  # a key of HARM_VIEWS
    before_hours: float = BEFORE_HOURS
    after_hours: float = AFTER_HOURS
    bin_hours: float = BIN_HOURS
    alpha: float = 0.05


def _span(hours: float) -> str:
    if hours >= 48 and hours % 24 == 0:
        return f"{hours / 24:g} days"
    if hours >= 24:
        return f"{hours / 24:.1f} days"
    return f"{hours:.3g} h"


def windows_text(before_hours: float, after_hours: float, observed_after_hours: float | None = None) -> str:
    """The windows in words: "the 14 days before the post against the 7 days after it"."""
    text = f"the {_span(before_hours)} before the post against the {_span(after_hours)} after it"
    if observed_after_hours is not None and observed_after_hours < after_hours - 1e-9:
        text += f" (only {_span(observed_after_hours)} after it observed so far)"
    return text


STANDARD_WINDOWS = windows_text(BEFORE_HOURS, AFTER_HOURS)


class SpilloverBin(msgspec.Struct, array_like=True):
    start_us: int
    mentions: int
    harmful: int
    harmful_by_engagers: int


class Author(msgspec.Struct, kw_only=True):
    account_id: str
    handle: str | None
    harmful_after: int
    engaged_with_post: bool


class SpilloverReport(msgspec.Struct, kw_only=True):
    person_id: str
    person_name: str
    post_id: str
    post_author_id: str
    post_at_us: int
    post_targets_person: list[str]  # how the post itself targets the person (may be empty)
    since_us: int
    until_us: int  # the end of the after window, capped at the newest post observed
    before_hours: float  # the windows asked for
    after_hours: float
    bin_hours: float
    windows: str  # the windows in words, as every surface states them
    harm_view: str  # a key of HARM_VIEWS
    harm_definition: str  # what the harmful counts count, in words
    second_view: str  # the other key of HARM_VIEWS, shown beside
    second_definition: str
    second: RateRatio  # the harmful counts by the other view (same windows)
    mentions: RateRatio
    harmful: RateRatio
    segmented: SegmentedFit | None  # of the harmful counts per bin
    attribution: Attribution
    after_by_how: dict[str, int]  # named / reply / quote among the targeting posts after
    bins: list[SpilloverBin]
    top_harmful_authors: list[Author]  # after the post


def find_person(store: Store, reference: str) -> Person:
    """A person by id, or by name or alias (case-insensitive)."""
    wanted = reference.strip().lower()
    registry = people(store)
    for person in registry:
        if person.id == wanted:
            return person
    for person in registry:
        if wanted in (name.lower() for name in (person.name, *person.aliases)):
            return person
    raise NotFoundError(
        f"No protected person {reference!r}: see `reachwatch people list`, "
        "or add one with `reachwatch people add`."
    )


def spillover(
    store: Store, person_reference: str, post_id: str, options: SpilloverOptions
) -> SpilloverReport:
    if min(options.before_hours, options.after_hours, options.bin_hours) <= 0:
        raise UsageError("--before, --after and --bin must all be positive durations.")
    if not 0 < options.alpha < 1:
        raise UsageError("--alpha must lie between 0 and 1.")
    if options.harm not in HARM_VIEWS:
        raise UsageError(f"Unknown harm view {options.harm!r}: use {' or '.join(HARM_VIEWS)}.")
    person = find_person(store, person_reference)
    head = reach_reads.post_head(store, post_id)
    if head is None:
        raise NotFoundError(
            f"No post {post_id!r} in this store: check the id (`reachwatch search` finds posts)."
        )
    at = head.created_at_us
    bin_us = int(options.bin_hours * HOUR_US)
    bins_before = max(int(options.before_hours // options.bin_hours), 1)
    since = at - bins_before * bin_us
    newest = reads.newest_post_us(store) or at
    until = min(at + int(options.after_hours * HOUR_US), max(newest + 1, at + 1))
    accounts = reads.person_account_ids(store, person.handles)
    targeting = reads.targeting_posts(store, person.id, accounts, since, until)
    engagers = reads.engaged_accounts(store, post_id)
    own = next((post for post in targeting if post.post_id == post_id), None)
    targeting = [post for post in targeting if post.post_id != post_id]

    before = [post for post in targeting if post.created_at_us < at]
    after = [post for post in targeting if post.created_at_us >= at]

    def counts(post: reads.TargetingPost) -> bool:
        return post.aimed if options.harm == "aimed" else bool(post.harmful)

    other_view = next(view for view in HARM_VIEWS if view != options.harm)

    def other(post: reads.TargetingPost) -> bool:
        return post.aimed if other_view == "aimed" else bool(post.harmful)

    harmful_before = [post for post in before if counts(post)]
    harmful_after = [post for post in after if counts(post)]
    bins_after = max(math.ceil((until - at) / bin_us), 1)
    series = [SpilloverBin(start_us=since + i * bin_us, mentions=0, harmful=0, harmful_by_engagers=0)
              for i in range(bins_before + bins_after)]  # fmt: skip
    for post in targeting:
        row = series[min((post.created_at_us - since) // bin_us, len(series) - 1)]
        row.mentions += 1
        if counts(post):
            row.harmful += 1
            row.harmful_by_engagers += post.author_id in engagers
    hours_before, hours_after = (at - since) / HOUR_US, max((until - at) / HOUR_US, 1e-6)
    mention_dispersion = dispersion([row.mentions for row in series[:bins_before]])
    harm_dispersion = dispersion([row.harmful for row in series[:bins_before]])
    # Only whole bins after the post enter the segmented fit: a part bin would read as a drop.
    whole_after = int((until - at) // bin_us)
    segmented = segmented_fit(
        [row.harmful for row in series[:bins_before]],
        [row.harmful for row in series[bins_before : bins_before + whole_after]],
        options.alpha,
    )
    by_author = Counter(post.author_id for post in harmful_after)
    handles = reach_reads.handles(store, [account for account, _ in by_author.most_common(10)])
    return SpilloverReport(
        person_id=person.id, person_name=person.name, post_id=post_id, post_author_id=head.author_id,
        post_at_us=at, post_targets_person=own.how if own else [], since_us=since, until_us=until,
        before_hours=(at - since) / HOUR_US, after_hours=options.after_hours, bin_hours=options.bin_hours,
        windows=windows_text((at - since) / HOUR_US, options.after_hours, (until - at) / HOUR_US),
        harm_view=options.harm, harm_definition=HARM_VIEWS[options.harm], second_view=other_view,
        second_definition=HARM_VIEWS[other_view],
        second=rate_ratio(
            sum(map(other, before)), hours_before, sum(map(other, after)), hours_after, options.alpha,
            dispersion([sum(other(post) for post in before if since + i * bin_us <= post.created_at_us
                            < since + (i + 1) * bin_us) for i in range(bins_before)]),
        ),
        mentions=rate_ratio(
            len(before), hours_before, len(after), hours_after, options.alpha, mention_dispersion
        ),
        harmful=rate_ratio(
            len(harmful_before), hours_before, len(harmful_after), hours_after, options.alpha, harm_dispersion
        ),
        segmented=segmented,
        attribution=attribution(
            [post.author_id for post in harmful_before], [post.author_id for post in harmful_after], engagers
        ),
        after_by_how=dict(Counter(how for post in after for how in post.how)),
        bins=series,
        top_harmful_authors=[
            Author(account_id=account, handle=handles.get(account), harmful_after=count,
                   engaged_with_post=account in engagers)
            for account, count in by_author.most_common(10)
        ],
    )  # fmt: skip


def engaged_accounts(store: Store, post_id: str) -> set[str]:
    """Every account that engaged with the post."""
    return reads.engaged_accounts(store, post_id)


class Donor(msgspec.Struct, kw_only=True):
    person_id: str
    name: str
    before: int  # harmful posts toward them (the report's harm view) in the before-window
    after: int
    qualifies: bool
    why: str


class PoolComparison(msgspec.Struct, kw_only=True):
    """The person's harm after the post against the comparison pool's over the same windows
    (analysis/counterfactual.py): difference in differences and a synthetic control."""

    person_id: str
    post_id: str
    windows: str  # whole bins only, before and after
    bin_hours: float
    bins_before: int  # the series' first bins_before bins are before the post
    harm_definition: str
    pool: str  # what the pool is
    donors: list[Donor]
    did: DiD | None
    did_note: str
    synthetic: SyntheticControl


def versus_pool(
    store: Store, person_reference: str, post_id: str, options: SpilloverOptions
) -> PoolComparison:
    """The counterfactual view of `spillover`: the other protected people in the registry are the
    donor pool, counted with the same harm definition, windows and bins as the person."""
    if min(options.before_hours, options.after_hours, options.bin_hours) <= 0:
        raise UsageError("--before, --after and --bin must all be positive durations.")
    if options.harm not in HARM_VIEWS:
        raise UsageError(f"Unknown harm view {options.harm!r}: use {' or '.join(HARM_VIEWS)}.")
    person = find_person(store, person_reference)
    head = reach_reads.post_head(store, post_id)
    if head is None:
        raise NotFoundError(
            f"No post {post_id!r} in this store: check the id (`reachwatch search` finds posts)."
        )
    at = head.created_at_us
    bin_us = int(options.bin_hours * HOUR_US)
    bins_before = max(int(options.before_hours // options.bin_hours), 1)
    since = at - bins_before * bin_us
    newest = reads.newest_post_us(store) or at
    # Whole bins after only: a part bin would read as a drop, for the person and the pool alike.
    bins_after = int((min(at + int(options.after_hours * HOUR_US), newest + 1) - at) // bin_us)
    if bins_after < 1:
        raise UsageError(
            f"Less than one whole {options.bin_hours:g} h bin after the post is observed: "
            "use a smaller --bin."
        )
    until = at + bins_after * bin_us

    everyone = people(store)
    if not any(someone.id == person.id for someone in everyone):
        everyone.append(person)
    accounts = {someone.id: reads.person_account_ids(store, someone.handles) for someone in everyone}
    targeting = reads.targeting_posts_of(store, accounts, since, until)  # the whole pool in one pass

    def series(someone: Person) -> list[int]:
        counts = [0] * (bins_before + bins_after)
        for post in targeting[someone.id]:
            harmful = post.aimed if options.harm == "aimed" else bool(post.harmful)
            if harmful and post.post_id != post_id:
                counts[(post.created_at_us - since) // bin_us] += 1
        return counts

    target = series(person)
    donors: list[Donor] = []
    pool_series: dict[str, list[int]] = {}
    for someone in everyone:
        if someone.id == person.id:
            continue
        counts = series(someone)
        before, after = sum(counts[:bins_before]), sum(counts[bins_before:])
        if someone.id in head.text or someone.name.lower() in head.text.lower():
            qualifies, why = False, "named by the post itself: it may be treated too"
        elif before == 0:
            qualifies, why = False, "no harm toward them before the post: nothing to compare a change with"
        else:
            qualifies, why = True, f"a protected person the post does not name, {before} harmful posts before"
        donors.append(Donor(person_id=someone.id, name=someone.name, before=before, after=after,
                            qualifies=qualifies, why=why))  # fmt: skip
        if qualifies:
            pool_series[someone.id] = counts
    before_rows = [counts[:bins_before] for counts in pool_series.values()]
    after_rows = [counts[bins_before:] for counts in pool_series.values()]
    found_did = (
        did(
            target[:bins_before],
            target[bins_before:],
            before_rows,
            after_rows,
            options.bin_hours,
            options.alpha,
        )
        if pool_series
        else None
    )
    note = (
        "assumes that without the post the person's harm would have changed by the pool's factor"
        if found_did is not None
        else "not identified: no donor with harm in both windows"
    )
    return PoolComparison(
        person_id=person.id, post_id=post_id,
        windows=windows_text(bins_before * options.bin_hours, bins_after * options.bin_hours),
        bin_hours=options.bin_hours, bins_before=bins_before, harm_definition=HARM_VIEWS[options.harm],
        pool="the other protected people in the registry, counted the same way", donors=donors, did=found_did,
        did_note=note,
        synthetic=synthetic_control(
            target[:bins_before], target[bins_before:],
            {key: counts[:bins_before] for key, counts in pool_series.items()},
            {key: counts[bins_before:] for key, counts in pool_series.items()},
        ),
    )  # fmt: skip

"""Coordinated reply attacks: replies and quotes that arrive in bursts, on the posts of protected
people, posts naming them and watched posts, from accounts that act together across targets.

After Pote et al. (ICWSM 2025), who found groups of accounts replying to officials and journalists
in concert. The targets are the live posts in the range by a watched account, by a protected
person's account, or naming a protected person (the mentions enricher). Their replies and quotes
(within `horizon_hours` of each target) make two co-action networks with the
coordination-network-toolkit's semantics: co-reply (two accounts replying to the same target
within ±window) and near-duplicate reply text (the same words, reworded a little, within
±window). Their sum is grouped as `coordination` groups (Leiden, constant Potts model at the
cut-off), and a group is an attacking cluster when it replied in bursts — three or more of its
members on one target, each within the window of the one before — on at least two targets:
accounts that act together again and again across targets, not a crowd around one post.

Scores, each with the drivers behind it: a replier's is the share of its replies to the targets
that came in such a burst; a target's is the share of its replies that did, and a target is
attacked when it drew at least one such burst.
"""

from __future__ import annotations

import time

import msgspec
import numpy as np

from reachwatch.analysis.coordination import Edges, co_action_edges, sorted_unique
from reachwatch.analysis.near_duplicates import claim_groups, match_texts, matched_edges
from reachwatch.errors import UsageError
from reachwatch.service.coordination import NO_EDGES, codes, group
from reachwatch.service.people import list_people
from reachwatch.store import enrichments
from reachwatch.store import reply_attacks as reads
from reachwatch.store.database import Store
from reachwatch.store.spillover import person_account_ids

HOUR_US = 3_600_000_000
MIN_BURST = 3  # members of one cluster replying to one target in a chain of windows
MIN_TARGETS = 2  # targets a cluster must have burst on, to be an attacking cluster


class ReplyAttackOptions(msgspec.Struct, kw_only=True):
    since_us: int
    until_us: int
    window_s: float = 60.0
    min_weight: int = 2
    similarity: float = 0.9
    min_tokens: int = 5
    horizon_hours: float = 48.0  # replies counted up to this long after each target
    person: str | None = None  # only the posts by or naming this protected person


class Replier(msgspec.Struct, kw_only=True):
    account_id: str
    cluster: int
    score: float  # share of its replies to the targets made in a coordinated burst
    replies: int
    in_bursts: int
    targets: int  # distinct targets it replied to in a burst
    partners: int  # the other members of its cluster
    near_duplicates: int  # its replies whose text nearly matches another account's
    harmful: int  # its replies the harm model flagged
    median_delay_s: float  # from the target's post to its reply
    drivers: list[str]


class TargetAttack(msgspec.Struct, kw_only=True):
    post_id: str
    author_id: str
    created_at_us: int
    why: list[str]
    attacked: bool
    score: float  # share of its replies made in a coordinated burst
    replies: int
    coordinated: int
    attackers: list[str]  # the accounts that replied in a burst, by account id (masked when shown)
    largest_burst: int  # accounts in its largest burst
    burst_spread_s: float  # from the first to the last reply of that burst
    near_duplicates: int  # coordinated replies nearly matching another account's
    harmful: int  # coordinated replies the harm model flagged
    drivers: list[str]


class AttackCluster(msgspec.Struct, kw_only=True):
    label: int
    accounts: list[str]
    targets: int
    bursts: int
    signals: dict[str, int]  # internal weight per signal: co-reply, near-duplicate


class ReplyAttackReport(msgspec.Struct, kw_only=True):
    options: ReplyAttackOptions
    targets_considered: int
    replies: int
    clusters: list[AttackCluster]
    targets: list[TargetAttack]  # attacked first, then by score; only targets that drew replies
    repliers: list[Replier]  # members of attacking clusters, highest score first
    seconds: float


def detect(store: Store, options: ReplyAttackOptions) -> ReplyAttackReport:
    if options.until_us <= options.since_us:
        raise UsageError("--until must be after --since.")
    started = time.perf_counter()
    people = {person.id: person for person in list_people(store)}
    if options.person is not None and options.person not in people:
        known = ", ".join(sorted(people)) or "none yet (reachwatch people add)"
        raise UsageError(f"No protected person {options.person!r}: the people are {known}.")
    accounts_of = {pid: person_account_ids(store, person.handles) for pid, person in people.items()}
    found = reads.targets(store, options.since_us, options.until_us, accounts_of)
    if options.person is not None:
        mine = {f"by {options.person}", f"names {options.person}"}
        found = {post_id: t for post_id, t in found.items() if mine.intersection(t.why)}
    horizon = int(options.horizon_hours * HOUR_US)
    replies = [
        reply
        for reply in reads.replies(store, sorted(found), options.until_us + horizon)
        if 0 <= reply.created_at_us - found[reply.target].created_at_us <= horizon
        and reply.author_id != found[reply.target].author_id
    ]
    report = ReplyAttackReport(
        options=options, targets_considered=len(found), replies=len(replies), clusters=[], targets=[],
        repliers=[], seconds=0.0,
    )  # fmt: skip
    if replies:
        _score(store, options, found, replies, report)
    report.seconds = time.perf_counter() - started
    return report


def _score(
    store: Store,
    options: ReplyAttackOptions,
    found: dict[str, reads.Target],
    replies: list[reads.Reply],
    report: ReplyAttackReport,
) -> None:
    index: dict[str, int] = {}
    account = codes([r.author_id for r in replies], index)
    names = list(index)
    item = codes([r.target for r in replies], {})
    message = np.arange(len(replies), dtype=np.int64)
    times_ms = np.asarray([r.created_at_us // 1000 for r in replies], dtype=np.int64)
    window_ms = int(options.window_s * 1000)
    co_reply = co_action_edges(account, item, times_ms, window_ms, options.min_weight, messages=message)
    texts = [r.text for r in replies]
    matches = match_texts(
        texts, options.similarity, options.min_tokens, times_ms=times_ms, window_ms=window_ms
    )
    similar = (
        matched_edges(matches, account, times_ms, window_ms, options.min_weight)
        if len(matches.kept)
        else NO_EDGES
    )
    n = len(names)
    labels = _groups(n, [co_reply, similar], options.min_weight)
    # A reply whose text nearly matches another account's reply (same claim group, other author).
    near = np.zeros(len(replies), dtype=bool)
    if len(matches.kept):
        claim = claim_groups(matches)[matches.message_set]
        authors = account[matches.kept]
        pairs = sorted_unique(claim * n + authors)[0]
        accounts_per_claim = np.bincount(pairs // n, minlength=int(claim.max()) + 1)
        near[matches.kept] = accounts_per_claim[claim] >= 2
    harm = enrichments.harm(store, [r.id for r in replies])
    harmful = np.asarray([bool(harm.get(r.id) and harm[r.id].flagged) for r in replies])
    in_burst, burst_rows = _bursts(labels[account], item, times_ms, account, window_ms)
    # Attacking clusters: bursts on at least MIN_TARGETS targets.
    targets_of: dict[int, set[int]] = {}
    for label, hit_target, _ in burst_rows:
        targets_of.setdefault(label, set()).add(hit_target)
    attacking = {label for label, hit in targets_of.items() if len(hit) >= MIN_TARGETS}
    bursts_of = {label: sum(1 for row in burst_rows if row[0] == label) for label in attacking}
    coordinated = in_burst & np.isin(labels[account], list(attacking))
    target_names = list(dict.fromkeys(r.target for r in replies))
    members: dict[int, list[int]] = {}
    for code in range(n):
        if int(labels[code]) in attacking:
            members.setdefault(int(labels[code]), []).append(code)
    for label in sorted(attacking):
        inside = np.zeros(n, dtype=bool)
        inside[members[label]] = True
        report.clusters.append(
            AttackCluster(
                label=label, accounts=sorted(names[c] for c in members[label]),
                targets=len(targets_of[label]), bursts=bursts_of[label],
                signals={
                    signal: int(edges.weight[inside[edges.source] & inside[edges.target]].sum())
                    for signal, edges in (("co-reply", co_reply), ("near-duplicate", similar))
                },
            )
        )  # fmt: skip
    report.clusters.sort(key=lambda c: (-len(c.accounts), c.label))
    delays = np.asarray([r.created_at_us - found[r.target].created_at_us for r in replies]) / 1e6
    # Per account and per target, each count once over all replies (no pass per account or target).
    n_targets = len(target_names)
    per_account = np.bincount(account, minlength=n)
    bursting = np.bincount(account[coordinated], minlength=n)
    near_of = np.bincount(account[near], minlength=n)
    harm_of = np.bincount(account[harmful], minlength=n)
    hit_pairs = sorted_unique(account[coordinated] * n_targets + item[coordinated])[0]
    targets_hit = np.bincount(hit_pairs // n_targets, minlength=n)
    by_account = np.argsort(account, kind="stable")
    account_starts = np.concatenate([[0], np.cumsum(per_account)])
    for label in attacking:
        partners = len(members[label]) - 1
        for code in members[label]:
            median = float(np.median(delays[by_account[account_starts[code] : account_starts[code + 1]]]))
            total, in_bursts = int(per_account[code]), int(bursting[code])
            hit, near_count, harm_count = int(targets_hit[code]), int(near_of[code]), int(harm_of[code])
            report.repliers.append(
                Replier(
                    account_id=names[code], cluster=label, score=round(in_bursts / total, 3), replies=total,
                    in_bursts=in_bursts, targets=hit, partners=partners, near_duplicates=near_count,
                    harmful=harm_count, median_delay_s=round(median, 1),
                    drivers=[
                        f"replied in concert to {hit} target(s) with {partners} others",
                        f"{in_bursts} of its {total} replies in bursts",
                        f"{near_count} near-duplicate replies", f"median {median:.0f} s after the post",
                        f"{harm_count} flagged harmful",
                    ],
                )
            )  # fmt: skip
    report.repliers.sort(key=lambda r: (-r.score, -r.in_bursts, r.account_id))
    per_target = np.bincount(item, minlength=n_targets)
    coordinated_of = np.bincount(item[coordinated], minlength=n_targets)
    near_hits = np.bincount(item[coordinated & near], minlength=n_targets)
    harm_hits = np.bincount(item[coordinated & harmful], minlength=n_targets)
    attackers_of: dict[int, list[str]] = {}
    for key in sorted_unique(item[coordinated] * n + account[coordinated])[0].tolist():
        attackers_of.setdefault(key // n, []).append(names[key % n])
    rows_of: dict[int, list[tuple[int, int, tuple[int, float]]]] = {}
    for row in burst_rows:
        if row[0] in attacking:
            rows_of.setdefault(row[1], []).append(row)
    for code_t, post_id in enumerate(target_names):
        rows = rows_of.get(code_t, [])
        largest = max(rows, key=lambda row: row[2][0], default=None)
        target = found[post_id]
        total, count = int(per_target[code_t]), int(coordinated_of[code_t])
        near_count, harm_count = int(near_hits[code_t]), int(harm_hits[code_t])
        attackers = sorted(attackers_of.get(code_t, []))
        drivers = []
        if count:
            drivers = [
                f"{count} of {total} replies in coordinated bursts, from {len(attackers)} accounts",
                f"largest burst: {largest[2][0]} accounts within {largest[2][1]:.0f} s" if largest else "",
                f"{near_count} near-duplicate", f"{harm_count} flagged harmful",
            ]  # fmt: skip
        size, spread = largest[2] if largest else (0, 0.0)
        report.targets.append(
            TargetAttack(
                post_id=post_id, author_id=target.author_id, created_at_us=target.created_at_us,
                why=target.why, attacked=bool(rows), score=round(count / total, 3), replies=total,
                coordinated=count, attackers=attackers, largest_burst=size, burst_spread_s=round(spread, 1),
                near_duplicates=near_count, harmful=harm_count, drivers=drivers,
            )
        )  # fmt: skip
    report.targets.sort(key=lambda t: (not t.attacked, -t.score, -t.replies, t.post_id))


def _groups(n: int, every: list[Edges], min_weight: int) -> np.ndarray:
    """A group label per account code (coordination's grouping and cut-off); an account with no
    edge is a group of its own."""
    grouped = group(every, n, min_weight)
    labels = np.arange(n, dtype=np.int64) + n  # singletons, apart from any Leiden label
    labels[grouped.nodes] = grouped.labels
    return labels


def _bursts(
    label: np.ndarray, item: np.ndarray, times_ms: np.ndarray, account: np.ndarray, window_ms: int
) -> tuple[np.ndarray, list[tuple[int, int, tuple[int, float]]]]:
    """Replies by members of one group to one target, each within the window of the one before:
    which replies are in a burst of at least MIN_BURST accounts, and each such burst as (group,
    target, (accounts, seconds from first to last))."""
    order = np.lexsort((times_ms, item, label))
    lab, itm, at, acc = label[order], item[order], times_ms[order], account[order]
    new = np.concatenate([[True], (lab[1:] != lab[:-1]) | (itm[1:] != itm[:-1]) | (np.diff(at) > window_ms)])
    burst = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    span = (np.maximum.reduceat(at, starts) - at[starts]) / 1000
    n = int(acc.max()) + 1
    distinct = sorted_unique(burst * n + acc)[0] // n
    size = np.bincount(distinct, minlength=len(starts))
    big = size >= MIN_BURST
    in_burst = np.zeros(len(label), dtype=bool)
    in_burst[order] = big[burst]
    rows = [
        (int(lab[starts[b]]), int(itm[starts[b]]), (int(size[b]), float(span[b])))
        for b in np.flatnonzero(big).tolist()
    ]
    return in_burst, rows

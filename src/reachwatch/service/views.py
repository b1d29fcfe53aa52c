"""What the web app's pages and API show, composed from the other services: a post's harm and the
people it names, an account's page, a protected person's page. No logic of the pages' own."""

from __future__ import annotations

import msgspec

from reachwatch.enrich.harm import shipped_model
from reachwatch.errors import NotFoundError
from reachwatch.model import HarmResult, Person
from reachwatch.service import coordination, reach, reply_attacks
from reachwatch.service.engagers import EngagerSort, EngagerTable, engager_table
from reachwatch.service.spillover import (
    HARM_VIEWS,
    STANDARD_WINDOWS,
    SpilloverOptions,
    engaged_accounts,
    find_person,
    spillover,
)
from reachwatch.store import engagers as engager_rows
from reachwatch.store import enrichments, queries
from reachwatch.store import floor as floor_reads
from reachwatch.store import reach as reach_reads
from reachwatch.store import spillover as spill_reads
from reachwatch.store.collection import people
from reachwatch.store.database import Store
from reachwatch.store.queries import TopPost

DAY_US = 86_400_000_000


class NamedPerson(msgspec.Struct, kw_only=True):
    person_id: str
    name: str
    how: list[str]  # the ways the post names them (name, alias, handle, hashtag, account)


class PostHarm(msgspec.Struct, kw_only=True):
    post_id: str
    text: str
    lang: str | None
    not_scored: str | None  # e.g. "language: it": the model was not trained on it, so it did not score it
    scores: dict[str, float]
    thresholds: dict[str, float]  # each class is flagged at or above its threshold
    flagged: list[str]
    borderline: list[str]
    by: dict[str, str]  # per flagged class: model, rule, or model and rule
    rules: list[list[str]]  # (rule, words matched) in the poster's own words
    reported: list[list[str]]  # rule matches in words the post quotes or reports: flag nothing
    own_words: bool  # the post quotes or reports someone, and its own words were read
    target: str | None  # whom the abuse targets: individual, group or untargeted
    aimed_at: list[str]  # protected people the harm is aimed at (named, and an individual target)
    evidence: dict[str, list[tuple[str, float]]]  # class → (word, drop in score without it)
    evidence_note: str
    model: str | None
    people: list[NamedPerson]


def _evidence(text: str, harm: HarmResult) -> tuple[dict[str, list[tuple[str, float]]], str]:
    """The model's own evidence for the flagged and borderline classes: the words whose removal
    lowers the score most (occlusion), by the model that scored the post."""
    classes = [*harm.flagged, *harm.borderline]
    if not classes or not harm.scores:
        return {}, ""
    model = shipped_model()
    if harm.model != model.version:
        return (
            {},
            f"scored by {harm.model or 'an earlier model'}; "
            "evidence comes only from the model that scored it",
        )
    found = {}
    for name in classes:
        (words,) = model.explain([text], name, priors=None)
        found[name] = [(item.word, item.weight) for item in words]
    return found, "each word's weight: how much the score drops when the word is taken out"


def post_harm(store: Store, post_id: str) -> PostHarm:
    head = reach.dossier_head(store, post_id)
    harm = enrichments.harm(store, [post_id]).get(post_id) or HarmResult()
    named = enrichments.results(store, "mentions", [post_id]).get(post_id, {})
    language = enrichments.results(store, "language", [post_id]).get(post_id, {})
    registry = {person.id: person for person in people(store)}
    ways: dict[str, list[str]] = {}  # person → how the post names them
    for person_id, kind, _matched in named.get("hits", []):
        ways.setdefault(person_id, []).append(kind)
    evidence, note = _evidence(head.text, harm)
    return PostHarm(
        post_id=post_id, text=head.text, lang=language.get("lang"), not_scored=harm.not_scored,
        scores=harm.scores, thresholds=harm.thresholds, flagged=harm.flagged,
        borderline=harm.borderline, by=harm.by, rules=harm.rules,
        reported=harm.reported, own_words=harm.own_words, target=harm.target,
        aimed_at=[_name(registry, key) for key in harm.aimed_at],
        evidence=evidence, evidence_note=note, model=enrichments_version(store, post_id),
        people=[
            NamedPerson(person_id=key, name=_name(registry, key), how=sorted(set(kinds)))
            for key, kinds in ways.items()
        ],
    )  # fmt: skip


def _name(registry: dict[str, Person], person_id: str) -> str:
    return registry[person_id].name if person_id in registry else person_id


def enrichments_version(store: Store, post_id: str) -> str | None:
    return enrichments.versions(store, "harm", [post_id]).get(post_id)


class AccountView(msgspec.Struct, kw_only=True):
    account_id: str
    handle: str | None
    display_name: str | None
    followers: int | None
    watched: bool
    posts: list[TopPost]  # its most engaged posts
    history: list[tuple[int, int]]  # (day start, posts that day)
    median_engagements: float | None
    engagers: EngagerTable | None


def account_view(store: Store, account_id: str, *, engager_page: int = 1) -> AccountView:
    profile = queries.account(store, account_id)
    if profile is None:
        raise NotFoundError(f"No account {account_id!r} in the store.")
    top = queries.top_posts(store, limit=20, author_id=account_id)
    days = queries.posts_per_day(store, account_id)
    totals = sorted(post.reposts + post.quotes + post.replies + post.likes for post in top)
    table: EngagerTable | None
    try:
        table = engager_table(store, account_id, sort=EngagerSort.ACTIONS, limit=25, page=engager_page)
    except NotFoundError:
        table = None
    return AccountView(
        account_id=account_id, handle=profile.handle, display_name=profile.display_name,
        followers=profile.followers, watched=profile.watched, posts=top, history=days,
        median_engagements=float(totals[len(totals) // 2]) if totals else None, engagers=table,
    )  # fmt: skip


class DayCount(msgspec.Struct, array_like=True):
    day_us: int
    mentions: int  # posts targeting the person (naming, replying to or quoting them)
    harmful: int  # of those, flagged harmful (whoever the abuse is aimed at): the second view
    aimed: int = 0  # of those, harmful and aimed at the person (spillover.HARM_VIEWS["aimed"])


class Preceding(msgspec.Struct, kw_only=True):
    post_id: str
    author_id: str
    author_handle: str | None
    created_at_us: int
    text: str
    harmful_before: int  # aimed at the person, in the standard window before (spillover.BEFORE_HOURS)
    harmful_after: int  # in the standard window after (spillover.AFTER_HOURS, capped at the newest data)
    ratio: float
    low: float
    high: float
    windows: str  # this row's windows in words (the after window may be cut short by the data)


class PersonView(msgspec.Struct, kw_only=True):
    person: Person
    days: list[DayCount]
    total_mentions: int
    total_harmful: int  # flagged harmful, whoever the abuse is aimed at
    total_aimed: int  # harmful and aimed at the person: the definition spillover counts by default
    harm_definition: str
    second_definition: str
    preceding: list[Preceding]  # watched accounts' posts naming the person, by the rise after them
    windows: str  # the spillover windows of `preceding`, in words


def person_view(store: Store, reference: str, *, candidates: int = 10) -> PersonView:
    person = find_person(store, reference)
    accounts = spill_reads.person_account_ids(store, person.handles)
    newest = floor_reads.newest_activity_us(store) or 0
    targeting = spill_reads.targeting_posts(store, person.id, accounts, 0, newest + 1)
    per_day: dict[int, DayCount] = {}
    for post in targeting:
        day = post.created_at_us - post.created_at_us % DAY_US
        row = per_day.setdefault(day, DayCount(day, 0, 0, 0))
        row.mentions += 1
        row.harmful += bool(post.harmful)
        row.aimed += post.aimed
    watched = {row.account_id: row.handle for row in floor_reads.watched_accounts(store)}
    by_watched = [post for post in targeting if post.author_id in watched][-candidates:]
    preceding = []
    for post in by_watched:
        found = spillover(store, person.id, post.post_id, SpilloverOptions())
        head = reach_reads.post_head(store, post.post_id)
        preceding.append(
            Preceding(
                post_id=post.post_id,
                author_id=post.author_id,
                author_handle=watched.get(post.author_id),
                created_at_us=post.created_at_us,
                text=head.text if head else "",
                harmful_before=found.harmful.before,
                harmful_after=found.harmful.after,
                ratio=found.harmful.ratio,
                low=found.harmful.low,
                high=found.harmful.high,
                windows=found.windows,
            )
        )
    preceding.sort(key=lambda row: -row.low)
    return PersonView(
        person=person, days=[per_day[day] for day in sorted(per_day)], total_mentions=len(targeting),
        total_harmful=sum(bool(post.harmful) for post in targeting),
        total_aimed=sum(post.aimed for post in targeting), harm_definition=HARM_VIEWS["aimed"],
        second_definition=HARM_VIEWS["mentions"], preceding=preceding,
        windows=STANDARD_WINDOWS,
    )  # fmt: skip


def people_list(store: Store) -> list[Person]:
    return people(store)


class ClusterTie(msgspec.Struct, kw_only=True):
    """An edge inside a cluster: two members and how many co-actions join them."""

    cluster: int
    accounts: list[str]  # the two ends
    weight: int


class PostCoordination(msgspec.Struct, kw_only=True):
    post_id: str
    window_s: float
    clusters: list[coordination.Cluster]  # clusters with a member who engaged with the post
    engaged: list[str] = msgspec.field(default_factory=list)  # the post's engagers among their members
    ties: list[ClusterTie] = msgspec.field(default_factory=list)  # each cluster's 10 strongest
    # Accounts each signal alone flags in clusters with one of the post's engagers (the merged
    # view above sums every signal's co-actions).
    signal_flagged: dict[str, int] = msgspec.field(default_factory=dict)


class PostEdge(msgspec.Struct, kw_only=True):
    """The evidence behind one edge of a post's coordination: every co-action of the two accounts
    in the post's first two days, within the window."""

    post_id: str
    window_s: float
    since_us: int
    until_us: int
    accounts: list[str]  # the two ends, as asked
    items: list[coordination.EdgeItem]


def post_coordination(store: Store, post_id: str, window_s: float = 60.0) -> PostCoordination:
    """The coordinated clusters of the post's first two days that include one of its engagers."""
    head = reach.dossier_head(store, post_id)
    options = coordination.CoordinationOptions(
        since_us=head.created_at_us, until_us=head.created_at_us + 2 * DAY_US, window_s=window_s
    )
    report, network = coordination.detect(store, options)
    engaged = engaged_accounts(store, post_id)
    clusters = [cluster for cluster in report.clusters if engaged.intersection(cluster.accounts)]
    alone = {
        signal: sum(c.size for c in found if engaged.intersection(c.accounts))
        for signal, found in report.signal_clusters.items()
    }
    return PostCoordination(
        post_id=post_id, window_s=window_s, clusters=clusters, engaged=sorted(engaged),
        ties=_strongest_ties(clusters, network), signal_flagged=alone,
    )  # fmt: skip


def _strongest_ties(clusters: list[coordination.Cluster], network: coordination.Network) -> list[ClusterTie]:
    """Each cluster's 10 heaviest edges between members, heaviest first; the weight is the edge's
    co-actions (u→v and v→u count the same pairs: the larger is taken), as its evidence lists."""
    label_of = {account: c.label for c in clusters for account in c.accounts}
    both: dict[tuple[str, str], int] = {}
    for s, t, w in zip(network.source, network.target, network.weight, strict=True):
        a, b = network.accounts[s], network.accounts[t]
        if label_of.get(a) is not None and label_of.get(a) == label_of.get(b):
            key = (a, b) if a < b else (b, a)
            both[key] = max(both.get(key, 0), w)
    ties = [ClusterTie(cluster=label_of[a], accounts=[a, b], weight=w) for (a, b), w in both.items()]
    ties.sort(key=lambda tie: (tie.cluster, -tie.weight, tie.accounts))
    shown: dict[int, int] = {}
    strongest = []
    for tie in ties:
        shown[tie.cluster] = shown.get(tie.cluster, 0) + 1
        if shown[tie.cluster] <= 10:
            strongest.append(tie)
    return strongest


def post_edge(store: Store, post_id: str, a: str, b: str, window_s: float = 60.0) -> PostEdge:
    """The evidence behind the edge a — b of the post's coordination (the dossier's window)."""
    head = reach.dossier_head(store, post_id)
    options = coordination.CoordinationOptions(
        since_us=head.created_at_us, until_us=head.created_at_us + 2 * DAY_US, window_s=window_s
    )
    items = coordination.edge_evidence(store, options, a, b)
    return PostEdge(
        post_id=post_id, window_s=window_s, since_us=options.since_us, until_us=options.until_us,
        accounts=[a, b], items=items,
    )  # fmt: skip


class ClusterMember(msgspec.Struct, kw_only=True):
    """One row of the members table: an account of a coordinated cluster."""

    cluster: int
    account_id: str
    cluster_size: int
    cluster_score: float  # the cluster's mean co-actions per ordered pair of members
    engaged_with_post: bool


class ClusterItem(msgspec.Struct, kw_only=True):
    """One row of the evidence table: an item several members of a cluster acted on together."""

    cluster: int
    signal: str
    item: str
    members: int
    spread_s: float


def cluster_members(found: PostCoordination) -> list[ClusterMember]:
    """Every member of every cluster shown on the dossier (the table behind its member lists)."""
    engaged = set(found.engaged)
    return [
        ClusterMember(
            cluster=cluster.label,
            account_id=account,
            cluster_size=cluster.size,
            cluster_score=round(cluster.score, 3),
            engaged_with_post=account in engaged,
        )
        for cluster in found.clusters
        for account in sorted(cluster.accounts)
    ]


def cluster_items(found: PostCoordination) -> list[ClusterItem]:
    """Every evidence item of every cluster shown on the dossier (the page shows the first ten)."""
    return [
        ClusterItem(
            cluster=cluster.label,
            signal=item.signal,
            item=item.item,
            members=item.members,
            spread_s=round(item.spread_s, 3),
        )
        for cluster in found.clusters
        for item in cluster.evidence
    ]


class EngagerProfile(msgspec.Struct, kw_only=True):
    """What can be said about an ordinary account without revealing it: shown by its pseudonym."""

    account_id: str  # masked on every surface (the viewer's pseudonym)
    followers: int | None
    engagements: dict[str, int]  # by kind
    acted_on: list[engager_rows.ActedOn]  # the newest 50, with the posts
    posts: int  # its own posts stored
    flagged: dict[str, int]  # its own posts flagged harmful, by class (texts not shown)
    automation: float | None  # 0..1, from its timing and profile (reachwatch automation)
    drivers: list[str]  # what drives the automation score, largest first
    # The coordinated clusters it is in over the two days up to its newest engagement (the same
    # detection, window and defaults as a dossier's), and that span.
    clusters: list[coordination.Cluster]
    clusters_since_us: int | None
    clusters_until_us: int | None


def engager_profile(store: Store, account_id: str) -> EngagerProfile:
    """An engager's pseudonymous profile: what it engaged with, how its own posts were flagged,
    its automation score; nothing that names it (no handle, no text of its own)."""
    from reachwatch.service import automation

    profile = queries.account(store, account_id)
    if profile is None:
        raise NotFoundError(f"No account {account_id!r} in the store.")
    counts, acted = engager_rows.acted_on(store, account_id)
    posts, flagged = engager_rows.own_posts(store, account_id)
    scored = automation.score_accounts(store, [account_id], min_actions=1, top=1) if counts else []
    result = scored[0].result if scored else None
    clusters: list[coordination.Cluster] = []
    since_us = until_us = None
    if acted:
        until_us = max(a.created_at_us for a in acted) + 1
        since_us = until_us - 2 * DAY_US
        options = coordination.CoordinationOptions(since_us=since_us, until_us=until_us)
        found, _ = coordination.detect(store, options)
        clusters = [cluster for cluster in found.clusters if account_id in cluster.accounts]
    return EngagerProfile(
        account_id=account_id, followers=profile.followers, engagements=counts, acted_on=acted, posts=posts,
        flagged=flagged, automation=result.score if result else None,
        drivers=[f"{d.feature}: {d.value}" for d in result.drivers[:3]] if result else [],
        clusters=clusters, clusters_since_us=since_us, clusters_until_us=until_us,
    )  # fmt: skip


class ReplyAttackView(msgspec.Struct, kw_only=True):
    """Coordinated reply attacks on one post or on one person's posts (by or naming them): the
    target posts with their scores and drivers, and the accounts that attacked them."""

    subject: str  # the post or the person
    since_us: int  # targets posted in [since, until)
    until_us: int
    window_s: float
    horizon_hours: float
    considered: int  # target posts in the span
    targets: list[reply_attacks.TargetAttack]
    repliers: list[reply_attacks.Replier]


ATTACK_CONTEXT_US = 7 * DAY_US  # the targets before a post, in which its attackers' other bursts are seen


def post_reply_attack(store: Store, post_id: str) -> ReplyAttackView:
    """The post's replies scored for a coordinated attack: the targets of the week before it and
    of its first two days are read, so that attackers acting across targets are seen."""
    head = reach.dossier_head(store, post_id)
    options = reply_attacks.ReplyAttackOptions(
        since_us=head.created_at_us - ATTACK_CONTEXT_US, until_us=head.created_at_us + 2 * DAY_US
    )
    report = reply_attacks.detect(store, options)
    mine = [t for t in report.targets if t.post_id == post_id]
    attackers = set(mine[0].attackers) if mine else set()
    return ReplyAttackView(
        subject=post_id, since_us=options.since_us, until_us=options.until_us, window_s=options.window_s,
        horizon_hours=options.horizon_hours, considered=report.targets_considered, targets=mine,
        repliers=[r for r in report.repliers if r.account_id in attackers],
    )  # fmt: skip


def person_reply_attacks(store: Store, person_id: str, days: int = 14) -> ReplyAttackView:
    """The person's posts and the posts naming them, of the `days` up to the newest activity,
    with the coordinated reply attacks on them (attacked first)."""
    person = find_person(store, person_id)
    newest = floor_reads.newest_activity_us(store) or 0
    options = reply_attacks.ReplyAttackOptions(
        since_us=newest - days * DAY_US, until_us=newest + 1, person=person.id
    )
    report = reply_attacks.detect(store, options)
    attacked = [t for t in report.targets if t.attacked]
    attackers = {account for t in attacked for account in t.attackers}
    return ReplyAttackView(
        subject=person.id, since_us=options.since_us, until_us=options.until_us, window_s=options.window_s,
        horizon_hours=options.horizon_hours, considered=report.targets_considered, targets=attacked,
        repliers=[r for r in report.repliers if r.account_id in attackers],
    )  # fmt: skip

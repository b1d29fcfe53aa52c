"""Briefings: what a senior officer or a protection team is handed about one post, account,
protected person or case — the same figures as the pages, gathered once, with what each number
means, where it comes from and how it fails.

`brief` gathers (and checks the asker may see a case); the shells pass the result through their
viewer, so ordinary engagers are pseudonymised exactly as on the pages, and only then write the
title and paragraph (`heading`, `paragraph`), so no name can slip into it from the raw figures.
"""

from __future__ import annotations

import time
from enum import StrEnum

import msgspec

from reachwatch.errors import NotFoundError, UsageError
from reachwatch.service import audit, cases, reach, spillover, views
from reachwatch.service.narrative_views import Timeline, timeline
from reachwatch.service.spillover import SpilloverOptions, SpilloverReport
from reachwatch.service.store_access import Store
from reachwatch.service.users import Principal
from reachwatch.store import alert_features as feature_reads
from reachwatch.store import cases as case_rows
from reachwatch.store import narratives as narrative_reads

ROBUST_Z = "Robust z: (value − median) / (1.4826 × median absolute deviation) of those posts."
CASE_POSTS = 5  # a case's briefing covers this many of its posts in full, the rest listed
TOP_AMPLIFIERS = 10


class BriefingKind(StrEnum):
    POST = "post"
    ACCOUNT = "account"
    PERSON = "person"
    CASE = "case"


class Method(msgspec.Struct, kw_only=True):
    """One measure in the briefing: what it means, where it comes from, how it fails."""

    name: str
    meaning: str
    source: str
    limits: str


class PostSection(msgspec.Struct, kw_only=True):
    """One post as the dossier shows it: reach, forecast, amplifiers, harm with its evidence,
    coordinated clusters among its engagers, spillover to each protected person it names."""

    dossier: reach.Dossier
    harm: views.PostHarm
    coordination: views.PostCoordination
    spillover: list[SpilloverReport]
    narratives: list[str]  # the tracked narratives the post was assigned to, by name


class Briefing(msgspec.Struct, kw_only=True):
    kind: str  # a BriefingKind
    target_id: str
    made_at_us: int
    made_by: str
    posts: list[PostSection] = msgspec.field(default_factory=list)
    account: views.AccountView | None = None
    timeline: Timeline | None = None
    person: views.PersonView | None = None
    case: cases.CaseView | None = None
    other_posts: list[str] = msgspec.field(default_factory=list)  # a case's posts beyond CASE_POSTS
    case_ids: list[str] = msgspec.field(default_factory=list)  # the cases that hold the target
    checkpoint: str = ""  # the audit log's head (SEQ:HASH) when the briefing was made
    methods: list[Method] = msgspec.field(default_factory=list)


def parse_kind(text: str) -> BriefingKind:
    try:
        return BriefingKind(text.strip().lower())
    except ValueError:
        kinds = ", ".join(kind.value for kind in BriefingKind)
        raise UsageError(f"No briefing of a {text!r}: brief one of {kinds}.") from None


def post_section(store: Store, post_id: str) -> PostSection:
    found = reach.dossier(store, post_id)
    harm = views.post_harm(store, post_id)
    reports = [
        spillover.spillover(store, person.person_id, post_id, SpilloverOptions()) for person in harm.people
    ]
    names = {row.id: row.name for row in narrative_reads.narratives(store)}
    assigned = feature_reads.narratives_of(store, [post_id]).get(post_id, [])
    return PostSection(
        dossier=found,
        harm=harm,
        coordination=views.post_coordination(store, post_id),
        spillover=reports,
        narratives=sorted({names.get(key, key) for key in assigned}),
    )


def brief(store: Store, who: Principal, kind: BriefingKind, target: str) -> Briefing:
    """Gather the briefing of one post, account, protected person or case (a case only for its
    officers and the roles that may see it, as its page)."""
    found = Briefing(kind=kind.value, target_id=target, made_at_us=time.time_ns() // 1000, made_by=who.name)
    if kind is BriefingKind.POST:
        found.posts = [post_section(store, target)]
    elif kind is BriefingKind.ACCOUNT:
        found.account = views.account_view(store, target)
        found.timeline = timeline(store, target)
        found.posts = [post_section(store, post.id) for post in found.account.posts[:1]]
    elif kind is BriefingKind.PERSON:
        found.person = views.person_view(store, target)
        found.target_id = found.person.person.id
        # The watched post followed by the largest rise in harm aimed at the person, in full.
        found.posts = [post_section(store, row.post_id) for row in found.person.preceding[:1]]
    else:
        found.case = cases.view(store, who, target)
        found.target_id = found.case.case.id
        post_ids = [row.target_id for row in found.case.targets if row.kind == "post"]
        found.posts = [post_section(store, post_id) for post_id in _existing(store, post_ids[:CASE_POSTS])]
        found.other_posts = post_ids[CASE_POSTS:]
    if kind in (BriefingKind.POST, BriefingKind.ACCOUNT):
        found.case_ids = case_rows.cases_of_target(store, kind.value, target)
    found.checkpoint = str(audit.head(store))
    found.methods = methods_of(found)
    return found


def _existing(store: Store, post_ids: list[str]) -> list[str]:
    """A case's posts still in the store (one past retention is listed, not briefed)."""
    kept = []
    for post_id in post_ids:
        try:
            reach.dossier_head(store, post_id)
        except NotFoundError:
            continue
        kept.append(post_id)
    return kept


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} seconds"


def _post_sentences(section: PostSection) -> list[str]:
    d = section.dossier
    head = d.post
    counts = {count.kind: count.value for count in d.sources}
    total = sum(counts.get(kind, 0) for kind in ("repost", "quote", "reply", "like"))
    parts = [
        f"The post by @{head.author_handle or head.author_id} on {head.platform} drew {_count(total)} "
        f"engagements ({_count(counts.get('repost', 0))} reposts, {_count(counts.get('quote', 0))} quotes, "
        f"{_count(counts.get('reply', 0))} replies, {_count(counts.get('like', 0))} likes) "
        f"in its first {_duration(d.age_s)}."
    ]
    base = d.baseline
    if base.median is not None and base.median > 0:
        parts.append(
            f"That is {base.value / base.median:,.1f} times the author's median at the same age "
            f"({_count(base.value)} reposts and quotes against {_count(base.median)} at {base.compared_at})."
        )
    guess = d.forecast
    parts.append(
        f"Its spread (reposts, quotes and replies) is forecast to reach {_count(guess.predicted)} "
        f"(90% interval {_count(guess.low)}–{_count(guess.high)}; {_count(guess.observed)} so far)."
    )
    audience = d.audience
    parts.append(
        f"{_count(audience.amplifiers)} accounts amplified it, to a potential audience of "
        f"{_count(audience.potential)}."
    )
    harm = section.harm
    if harm.flagged:
        aimed = f", aimed at {', '.join(harm.aimed_at)}" if harm.aimed_at else ""
        parts.append(f"The harm model flags it as {', '.join(harm.flagged)}{aimed}.")
    elif harm.not_scored:
        parts.append(f"Its harm was not scored ({harm.not_scored}).")
    else:
        parts.append("The harm model does not flag it.")
    clusters = section.coordination.clusters
    if clusters:
        sizes = ", ".join(str(cluster.size) for cluster in clusters)
        parts.append(
            f"{len(clusters)} coordinated cluster{'s' if len(clusters) > 1 else ''} "
            f"(of {sizes} accounts) engaged with it."
        )
    for report in section.spillover:
        rise = report.harmful
        parts.append(
            f"Harmful posts aimed at {report.person_name} went from {rise.before} in the "
            f"{_duration(rise.before_hours * 3600)} before to {rise.after} in the "
            f"{_duration(rise.after_hours * 3600)} after (rate ratio {_ratio(rise.ratio)}, "
            f"{1 - rise.alpha:.0%} interval {_ratio(rise.low)}–{_ratio(rise.high)})."
        )
    return parts


def _ratio(value: float) -> str:
    return "∞" if value == float("inf") else f"{value:.2f}"


def heading(found: Briefing) -> str:
    """The briefing's title (call it on the masked briefing: it names the account)."""
    if found.case is not None:
        return f"Case {found.case.case.id}: {found.case.case.title}"
    if found.account is not None:
        return f"Account @{found.account.handle or found.account.account_id}"
    if found.person is not None:
        return f"Protected person: {found.person.person.name}"
    if found.posts:
        head = found.posts[0].dossier.post
        return f"Post by @{head.author_handle or head.author_id}"
    return f"{found.kind} {found.target_id}"


def paragraph(found: Briefing) -> str:
    """What happened, in one paragraph generated from the figures (call it on the masked briefing)."""
    parts: list[str] = []
    if found.case is not None:
        case = found.case.case
        parts.append(
            f"Case {case.id} ({case.status}), opened by {case.opened_by}: {case.title}. "
            f"It holds {len(found.case.targets)} targets and {found.case.hours:.1f} hours of logged work."
        )
    if found.account is not None:
        account = found.account
        followers = "an unknown number of" if account.followers is None else _count(account.followers)
        median = account.median_engagements
        parts.append(
            f"@{account.handle or account.account_id} has {followers} followers"
            f"{' and is watched' if account.watched else ''}; its most engaged posts drew a median of "
            f"{'-' if median is None else _count(median)} engagements."
        )
    if found.person is not None:
        person = found.person
        parts.append(
            f"{person.person.name} was targeted in {_count(person.total_mentions)} posts, "
            f"{_count(person.total_aimed)} of them harmful and aimed at them "
            f"({_count(person.total_harmful)} harmful whoever the abuse was aimed at)."
        )
        if person.preceding:
            lead = person.preceding[0]
            parts.append(
                f"The largest rise followed a post by @{lead.author_handle or lead.author_id}: "
                f"{lead.harmful_before} harmful posts aimed at them before, {lead.harmful_after} after "
                f"({lead.windows})."
            )
    for section in found.posts:
        parts.extend(_post_sentences(section))
    if not parts:
        parts.append("There is nothing in the store about this yet.")
    return " ".join(parts)


def methods_of(found: Briefing) -> list[Method]:
    """The measures this briefing shows, each with its meaning, source and known failure modes."""
    chosen: list[Method] = []
    if found.posts:
        chosen += [
            Method(
                name="Engagements and reach",
                meaning="reposts, quotes, replies and likes of the post; the chart is cumulative from "
                "the minute it was made. Potential audience: the author's followers plus every "
                "amplifier's (an upper bound: audiences overlap).",
                source="engagement events collected from the platform; where the platform reports "
                "larger counts than the events seen, its reported count is shown instead",
                limits="events missed while collection was down are absent; likes are not public on "
                "every platform; follower counts are as last seen",
            ),
            Method(
                name="Baseline",
                meaning=f"{found.posts[0].dossier.baseline.definition}. {ROBUST_Z}",
                source="the author's posts of the previous weeks in this store",
                limits="an author with few earlier posts gives no baseline; a change in the author's "
                "audience shifts it",
            ),
            Method(
                name="Forecast",
                meaning="the final reposts + quotes + replies from a self-exciting (branching) model of the "
                "early history, with a 90% interval (the shaded band)",
                source="calibrated on real finished Twitter cascades, or this store's own when fitted "
                "(`reachwatch eval forecast --fit`)",
                limits="a post picked up by a much larger account later breaks the early trend; the "
                "interval covered about 90% of held-out cascades, not every post",
            ),
            Method(
                name="Harm",
                meaning="scores per class (offensive, hateful, threat) from the shipped model, flagged at "
                "the thresholds shown; the evidence words are those whose removal lowers the score most",
                source="a MiniLM encoder fine-tuned on public harm data sets, plus word rules",
                limits="trained on English; other languages are not scored; sarcasm, quotation and "
                "reclaimed slurs are known failure modes; identity terms can raise scores wrongly",
            ),
            Method(
                name="Coordination",
                meaning="clusters of accounts that acted on the same items within a short window "
                "(co-repost, co-reply, near-duplicate text) more often than chance, over the post's "
                "first two days",
                source="engagement events in this store",
                limits="accounts that follow the same breaking news act together without coordinating; "
                "a ring that spaces its actions beyond the window is missed",
            ),
        ]
    if any(section.spillover for section in found.posts) or found.person is not None:
        chosen.append(
            Method(
                name="Spillover",
                meaning=f"{spillover.HARM_VIEWS['aimed']}, counted {spillover.STANDARD_WINDOWS}; the "
                "rate ratio is the rate after over the rate before, with an exact interval",
                source="posts in this store that name, reply to or quote the person",
                limits="a rise after a post is not proof it was caused by the post: other events in the "
                "same days raise it too (see the comparison pool on the person's page)",
            )
        )
    if found.timeline is not None or any(section.narratives for section in found.posts):
        chosen.append(
            Method(
                name="Narratives",
                meaning="posts assigned to a tracked narrative by sentence-embedding similarity to its "
                "examples",
                source="the narratives the team tracks in this store",
                limits="paraphrases far from every example are missed; short posts match loosely",
            )
        )
    chosen.append(
        Method(
            name="Pseudonyms and audit",
            meaning="ordinary engagers are shown by pseudonym (anon-…), as in the app; the checkpoint is "
            "the audit log's newest entry (SEQ:HASH) when this briefing was made",
            source="the deployment's audit log; `reachwatch audit verify --checkpoint SEQ:HASH` checks "
            "that no entry up to it was changed or removed",
            limits="a pseudonym is stable in this deployment only",
        )
    )
    return chosen

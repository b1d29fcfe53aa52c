"""The alert features reachwatch ships, as registered groups (alerts/features.py; the entry point
`core` in pyproject.toml): the post and what the enrichers found of it (cheap, one query each per
batch), its engagement counts (per candidate, from the per-minute rollup), and the costly ones —
the dossier's baseline and forecast, the coordination share, a reply attack's score, and the
spillover beyond the pool."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from reachwatch.alerts.features import FeatureGroup
from reachwatch.model import HarmResult
from reachwatch.store import alert_features as facts
from reachwatch.store import enrichments
from reachwatch.store.database import Store

log = logging.getLogger(__name__)
Found = Mapping[str, dict[str, Any]]


def post_features(store: Store, post_ids: Sequence[str], found: Found) -> dict[str, dict[str, Any]]:
    """The post, its author, what the enrichers found and its narratives: four queries per batch."""
    posts = facts.post_rows(store, list(post_ids))
    ids = list(posts)
    harm = enrichments.harm(store, ids)
    named = enrichments.results(store, "mentions", ids)
    stories = facts.narratives_of(store, ids)
    now = time.time_ns() // 1000
    for post_id, row in posts.items():
        judged = harm.get(post_id) or HarmResult()
        scores = judged.scores
        people = list(named.get(post_id, {}).get("people", []))
        aimed = list(judged.aimed_at)
        created = row.get("created_at_us")
        row.update(
            post_id=post_id,
            offensive=scores.get("offensive"),
            hateful=scores.get("hateful"),
            threat=scores.get("threat"),
            harm_flag=list(judged.flagged),
            person=people,
            protected_person_named=bool(people),
            aimed_at=aimed,
            harm_aimed_at_person=bool(aimed),
            harm_target=judged.target,
            narrative=stories.get(post_id, []),
            age_hours=(now - created) / 3.6e9 if created else None,
        )
    return posts


def count_features(store: Store, post_ids: Sequence[str], found: Found) -> dict[str, dict[str, Any]]:
    """Counts per kind: the larger of the live engagements stored and the platform's last report;
    the velocity is the engagements of the hour before the newest."""
    reported = facts.latest_metrics(store, list(post_ids))
    out: dict[str, dict[str, Any]] = {}
    for post_id in post_ids:
        counts, hour, _ = facts.engagement_counts(store, post_id)
        last = reported.get(post_id, {})
        best = {kind: max(counts.get(kind, 0), last.get(kind, 0)) for kind in facts.KINDS}
        out[post_id] = {
            "reposts": best["repost"], "quotes": best["quote"], "replies": best["reply"],
            "likes": best["like"], "engagements": sum(best.values()), "velocity_per_hour": hour,
        }  # fmt: skip
    return out


def reach_features(store: Store, post_ids: Sequence[str], found: Found) -> dict[str, dict[str, Any]]:
    """The dossier's baseline z-score and forecast (None where it cannot be computed yet)."""
    from reachwatch.service import reach

    out: dict[str, dict[str, Any]] = {}
    for post_id in post_ids:
        try:
            dossier = reach.dossier(store, post_id)
            out[post_id] = {
                "baseline_z": dossier.baseline.robust_z, "forecast_final": dossier.forecast.predicted,
                "forecast_high": dossier.forecast.high,
            }  # fmt: skip
        except Exception:
            log.debug("reach features of %s not computed", post_id, exc_info=True)
            out[post_id] = {"baseline_z": None, "forecast_final": None, "forecast_high": None}
    return out


def coordination_features(store: Store, post_ids: Sequence[str], found: Found) -> dict[str, dict[str, Any]]:
    """The share of the post's engagements that come from accounts in coordinated clusters."""
    from reachwatch.service import views

    out: dict[str, dict[str, Any]] = {}
    for post_id in post_ids:
        share = None
        try:
            clusters = views.post_coordination(store, post_id).clusters
            members = {account for cluster in clusters for account in cluster.accounts}
            total = found.get(post_id, {}).get("engagements") or 0
            share = len(members) / total if total else 0.0
        except Exception:
            log.debug("coordination share of %s not computed", post_id, exc_info=True)
        out[post_id] = {"coordination_share": share}
    return out


def reply_attack_features(store: Store, post_ids: Sequence[str], found: Found) -> dict[str, dict[str, Any]]:
    """The share of the post's replies that came in coordinated bursts, and from how many accounts
    (0 for a post that is no target or drew no such burst; None where it could not be computed)."""
    from reachwatch.service import views

    out: dict[str, dict[str, Any]] = {}
    for post_id in post_ids:
        score: float | None = None
        attackers: int | None = None
        try:
            targets = views.post_reply_attack(store, post_id).targets
            score = targets[0].score if targets else 0.0
            attackers = len(targets[0].attackers) if targets else 0
        except Exception:
            log.debug("reply attack of %s not computed", post_id, exc_info=True)
        out[post_id] = {"reply_attack_score": score, "reply_attackers": attackers}
    return out


def spillover_features(store: Store, post_ids: Sequence[str], found: Found) -> dict[str, dict[str, Any]]:
    """The largest rise beyond the comparison pool among the people the post names (None while no
    whole bin after the post is observed, or where the pool gives no estimate)."""
    from reachwatch.service.spillover import SpilloverOptions, versus_pool

    out: dict[str, dict[str, Any]] = {}
    for post_id in post_ids:
        best: tuple[float, float] | None = None
        for person in found.get(post_id, {}).get("person") or []:
            try:
                did = versus_pool(store, person, post_id, SpilloverOptions()).did
            except Exception:
                log.debug("excess vs pool of %s for %s not computed", post_id, person, exc_info=True)
                continue
            if did is not None and (best is None or did.low > best[1]):
                best = (did.ratio, did.low)
        out[post_id] = {
            "excess_vs_pool": best[0] if best else None, "excess_vs_pool_low": best[1] if best else None,
        }  # fmt: skip
    return out


# fmt: off
GROUPS = [
    FeatureGroup(
        "post",
        "cheap",
        {
            "platform": "text",
            "author": "text",
            "author_handle": "text",
            "watched_author": "bool",
            "is_reply": "bool",
            "age_hours": "number",
            "narrative": "list",
            "protected_person_named": "bool",
            "person": "list",
            "offensive": "number",
            "hateful": "number",
            "threat": "number",
            "harm_flag": "list",
            # Harm aimed at protected people: flagged, names them, and the abuse targets an individual.
            "aimed_at": "list",
            "harm_aimed_at_person": "bool",
            "harm_target": "text",
        },
        post_features,
        labels={
            "platform": ("platform", ""),
            "author": ("author", ""),
            "author_handle": ("author's handle", ""),
            "watched_author": ("by a watched account", ""),
            "is_reply": ("a reply", ""),
            "age_hours": ("age", "hours"),
            "narrative": ("narratives", ""),
            "protected_person_named": ("names a protected person", ""),
            "person": ("protected people named", ""),
            "offensive": ("offensive score", "0–1"),
            "hateful": ("hateful score", "0–1"),
            "threat": ("threat score", "0–1"),
            "harm_flag": ("harm flags", ""),
            "aimed_at": ("harm aimed at", ""),
            "harm_aimed_at_person": ("harm aimed at a protected person", ""),
            "harm_target": ("harm's target", ""),
        },
    ),
    FeatureGroup(
        "counts",
        "counts",
        {
            "engagements": "number",
            "reposts": "number",
            "quotes": "number",
            "replies": "number",
            "likes": "number",
            "velocity_per_hour": "number",
        },
        count_features,
        labels={
            "engagements": ("engagements", ""),
            "reposts": ("reposts", ""),
            "quotes": ("quotes", ""),
            "replies": ("replies", ""),
            "likes": ("likes", ""),
            "velocity_per_hour": ("velocity (engagements in the last hour)", "per hour"),
        },
    ),
    FeatureGroup(
        "reach",
        "costly",
        {"baseline_z": "number", "forecast_final": "number", "forecast_high": "number"},
        reach_features,
        labels={
            "baseline_z": ("above the author's usual reach", "σ"),
            "forecast_final": ("forecast final spread", "engagements"),
            "forecast_high": ("forecast final spread, upper bound", "engagements"),
        },
    ),
    FeatureGroup(
        "coordination",
        "costly",
        {"coordination_share": "number"},
        coordination_features,
        ("counts",),
        labels={"coordination_share": ("share of engagements from coordinated clusters", "%")},
    ),
    # A coordinated reply attack on the post (reachwatch reply-attacks; the dossier's section).
    FeatureGroup(
        "reply_attack",
        "costly",
        {"reply_attack_score": "number", "reply_attackers": "number"},
        reply_attack_features,
        labels={
            "reply_attack_score": ("share of its replies in coordinated bursts", "0–1"),
            "reply_attackers": ("accounts replying to it in coordinated bursts", "accounts"),
        },
    ),
    # Harm toward a person the post names, beyond the comparison pool (spillover --vs pool): the
    # difference-in-differences ratio and its lower bound, the largest over the people named.
    FeatureGroup(
        "spillover",
        "costly",
        {"excess_vs_pool": "number", "excess_vs_pool_low": "number"},
        spillover_features,
        labels={
            "excess_vs_pool": ("harm toward a named person beyond the comparison pool", "×"),
            "excess_vs_pool_low": ("the same, lower bound", "×"),
        },
    ),
]
# fmt: on

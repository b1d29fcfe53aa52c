"""Building the demo scenario into a store, writing it to a file, and scoring analyses against it."""

from __future__ import annotations

import heapq
import io
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from reachwatch.errors import NotFoundError, UsageError
from reachwatch.scenario import controls
from reachwatch.scenario.filler import iter_filler
from reachwatch.scenario.generator import ScenarioConfig, build_scenario, build_timed_scenario
from reachwatch.scenario.truth import Truth
from reachwatch.service import coordination, narratives, reply_attacks
from reachwatch.service.ingest import IngestOptions, IngestReport, ProgressCallback, ingest_stream
from reachwatch.service.spillover import SpilloverOptions, spillover, versus_pool
from reachwatch.store import enrichments, queries, scenarios
from reachwatch.store.database import Store


class DemoReport(msgspec.Struct, kw_only=True):
    ingest: IngestReport
    truth: Truth


def load_demo(
    store: Store,
    config: ScenarioConfig,
    options: IngestOptions,
    on_progress: ProgressCallback | None = None,
    embedding_model: str | None = None,
) -> DemoReport:
    """Generate the scenario and feed it through the real ingest pipeline; store its truth. With an
    embedding model, the planted narratives are tracked and every post embedded and assigned."""
    lines, truth = build_scenario(config)
    stream = io.BytesIO(b"\n".join(lines) + b"\n")
    source = f"scenario:{truth.name}:seed{config.seed}"
    # The scenario's own people and watched accounts: generated here, not read from a user's file.
    trusted = msgspec.structs.replace(options, trusted_records=True)
    report = ingest_stream(store, stream, source, trusted, on_progress)
    scenarios.save_truth(store, truth.name, config.seed, msgspec.to_builtins(truth))
    if embedding_model and (Path(embedding_model) / "model.onnx").is_file() and truth.narratives:
        if not narratives.list_narratives(store):
            narratives.track_planted(store, embedding_model, truth.narratives)
        else:
            narratives.embed_pending(store, embedding_model)
    return DemoReport(ingest=report, truth=truth)


def generate(config: ScenarioConfig, events: int, out: BinaryIO) -> int:
    """Write `events` payload lines: the scenario, topped up with background traffic, in time order.

    The filler is produced lazily, so millions of lines cost little memory.
    """
    if events < 1:
        raise UsageError(f"--events must be at least 1; got {events}.")
    core, truth = build_timed_scenario(config)
    filler: Iterator[tuple[int, bytes]] = iter(())
    if events < len(core):
        core = core[:events]
    else:
        filler = iter_filler(config.seed, truth.start_us, truth.end_us, events - len(core))
    written = 0
    for _at, line in heapq.merge(core, filler, key=lambda pair: pair[0]):
        out.write(line)
        out.write(b"\n")
        written += 1
    return written


class Check(msgspec.Struct, kw_only=True):
    name: str
    expected: str
    found: str
    passed: bool | None  # None: the analysis that would answer it does not exist yet


def evaluate(
    store: Store, name: str | None = None, embedding_model: str | None = None
) -> tuple[Truth, list[Check]]:
    """How well what is in the store recovers the scenario's ground truth."""
    saved = scenarios.load_truth(store, name)
    if saved is None:
        raise NotFoundError(
            "This store holds no scenario. Build one with `reachwatch demo --no-serve --db PATH`."
        )
    truth = msgspec.convert(saved, Truth)
    checks: list[Check] = []
    counts = queries.post_counts(store, truth.trigger_post_id)
    found = counts.by_kind()
    checks.append(
        Check(
            name="trigger post engagements ingested",
            expected=_fmt(truth.trigger_counts),
            found=_fmt(found),
            passed=found == truth.trigger_counts,
        )
    )
    snapshot = queries.latest_snapshot(store, truth.trigger_post_id)
    if snapshot is not None:
        polled = snapshot.by_kind()
        then = queries.post_counts(store, truth.trigger_post_id, at_us=snapshot.observed_at_us)
        counted = then.by_kind()
        checks.append(
            Check(
                name="latest AppView counts agree with the events",
                expected=_fmt(counted),
                found=_fmt(polled),
                passed=polled == counted,
            )
        )
    top = queries.top_posts(store, limit=1)
    checks.append(
        Check(
            name="trigger post is the most engaged post",
            expected=truth.trigger_post_id,
            found=top[0].id if top else "(no posts)",
            passed=bool(top) and top[0].id == truth.trigger_post_id,
        )
    )
    deleted = queries.deleted_post_ids(store, truth.deleted_post_ids)
    checks.append(
        Check(
            name="deleted replies marked deleted",
            expected=str(len(truth.deleted_post_ids)),
            found=str(len(deleted)),
            passed=len(deleted) == len(truth.deleted_post_ids),
        )
    )
    stats = queries.stats(store)
    checks.append(
        Check(
            name="nothing quarantined",
            expected="0",
            found=str(stats.quarantine_open),
            passed=stats.quarantine_open == 0,
        )
    )
    checks.append(_ring_check(store, truth))
    checks.append(_ring_check(store, truth, ["near-duplicate"]))
    checks.extend(control_checks())
    if truth.reply_attackers:
        checks.extend(_reply_attack_checks(store, truth))
    checks.extend(_harm_checks(store, truth))
    checks.extend(_narrative_checks(store, truth, embedding_model))
    return truth, checks


def _narrative_checks(store: Store, truth: Truth, embedding_model: str | None) -> list[Check]:
    """The planted narratives: assignment precision/recall, and discovery's ARI/NMI against them;
    reported only where the store tracks narratives and the model is at hand."""
    if (
        not truth.narrative_posts
        or not embedding_model
        or not (Path(embedding_model) / "model.onnx").is_file()
    ):
        return []
    if not narratives.list_narratives(store):
        return []
    ordinary = [post_id for post_id in truth.baseline_post_ids if post_id not in truth.narrative_posts]
    score = narratives.score_planted(store, embedding_model, truth.narrative_posts, ordinary)
    return [
        Check(
            name="planted narratives assigned (tracked by their examples)",
            expected=f"{score.labelled} narrative posts among {score.labelled + score.others}",
            found=f"{score.assigned} assigned, precision {score.precision:.2f}, recall {score.recall:.2f}",
            passed=score.precision >= 0.8 and score.recall >= 0.7,
        ),
        Check(
            name="planted narratives discovered (untracked, PCA + HDBSCAN)",
            expected=f"{len(truth.narratives)} narratives",
            found=f"{score.discovered} clusters, ARI {score.adjusted_rand:.2f}, "
            f"NMI {score.normalised_mutual_information:.2f}",
            passed=score.normalised_mutual_information >= 0.5,
        ),
    ]


def _harm_checks(store: Store, truth: Truth) -> list[Check]:
    """Abuse and threats found by tier 1; posts naming the person found by the mention matcher;
    the rise in harmful mentions after the trigger measured as a rate ratio."""
    labelled = truth.responses + truth.mentions
    harm = enrichments.harm(store, [post.id for post in labelled])
    named = enrichments.results(store, "mentions", [post.id for post in truth.mentions])
    if not harm:
        return [Check(name="harm enrichment", expected="scores for every post", found="none", passed=False)]
    harmful = {post.id for post in labelled if post.label in ("abusive", "threat")}
    flagged = {post_id for post_id, result in harm.items() if result.flagged}
    found = len(flagged & harmful)
    precision = found / len(flagged) if flagged else 0.0
    recall = found / len(harmful) if harmful else 1.0
    threats = {post.id for post in labelled if post.label == "threat"}
    threat_found = sum(post_id in harm and "threat" in harm[post_id].flagged for post_id in threats)
    person = truth.person.id
    mention_recall = sum(person in named.get(post.id, {}).get("people", []) for post in truth.mentions) / max(
        len(truth.mentions), 1
    )
    hours = 3_600_000_000
    aftermath = spillover(
        store, person, truth.trigger_post_id,
        SpilloverOptions(
            before_hours=(truth.trigger_at_us - truth.start_us) / hours,
            after_hours=(truth.end_us - truth.trigger_at_us) / hours,
        ),
    )  # fmt: skip
    rise, shares = aftermath.harmful, aftermath.attribution
    checks = [
        Check(
            name="abusive and threatening posts flagged (harm model + rules)",
            expected=f"{len(harmful)} harmful of {len(labelled)}",
            found=f"{len(flagged)} flagged, precision {precision:.2f}, recall {recall:.2f}; "
            f"threats {threat_found}/{len(threats)} as threat",
            passed=recall >= 0.8 and precision >= 0.6,
        ),
        Check(
            name="posts naming the person found (mentions)",
            expected=f"{len(truth.mentions)} posts",
            found=f"recall {mention_recall:.2f}",
            passed=mention_recall >= 0.95,
        ),
        Check(
            name="rise in harmful mentions of the person after the trigger (reachwatch spillover)",
            expected="rate ratio above 1, interval excluding 1",
            found=f"{rise.before} before, {rise.after} after; ratio {rise.ratio:.2f} "
            f"[{rise.low:.2f}, {rise.high:.2f}], p {rise.p_value:.1g}",
            passed=rise.low > 1,
        ),
        Check(
            name="harmful mentions after the trigger made by its engagers (attribution)",
            expected="a larger share after than before",
            found=f"{shares.after_share:.0%} of {shares.after_total} after, "
            f"{shares.before_share:.0%} of {shares.before_total} before",
            passed=shares.after_share > shares.before_share,
        ),
    ]
    if truth.pool:
        checks.append(_pool_check(store, truth))
    return checks


def _pool_check(store: Store, truth: Truth) -> Check:
    """The counterfactual view: the news event lifts the pool by `truth.shock`; the trigger's own
    effect is what the person's rise adds beyond it (spillover --vs pool, standard windows)."""
    compared = versus_pool(store, truth.person.id, truth.trigger_post_id, SpilloverOptions())
    found = compared.did
    synthetic = compared.synthetic
    if found is None:
        return Check(name="rise beyond the comparison pool (spillover --vs pool)", expected="a number",
                     found=compared.did_note, passed=False)  # fmt: skip
    shown = (
        f"×{synthetic.effect:.2f} of its synthetic control, placebo p {synthetic.p_space:.2g}"
        if synthetic.identified
        else synthetic.reason
    )
    return Check(
        name="rise beyond the comparison pool, whose news-event shock is planted (spillover --vs pool)",
        expected=f"pool ×{truth.shock:g} (±40%); the person's rise beyond it, interval excluding 1",
        found=f"pool ×{found.pool_ratio:.2f} ({found.donors} donors); beyond it ×{found.ratio:.2f} "
        f"[{found.low:.2f}, {found.high:.2f}]; {shown}",
        passed=found.low > 1 and abs(found.pool_ratio / truth.shock - 1) <= 0.4,
    )


def _ring_check(store: Store, truth: Truth, signals: list[str] | None = None) -> Check:
    """Precision and recall of the accounts in coordinated clusters against the planted ring."""
    options = coordination.CoordinationOptions(since_us=truth.start_us, until_us=truth.end_us + 1)
    if signals:
        options.signals = signals
    report, _ = coordination.detect(store, options)
    flagged = {account for cluster in report.clusters for account in cluster.accounts}
    ring = set(truth.coordinated_account_ids)
    # The reply attackers act in concert too (their replies are near-duplicates): flagging them is
    # right, so precision counts every planted coordinated account; recall is the ring's.
    planted = ring | set(truth.reply_attackers)
    found = len(flagged & ring)
    precision = len(flagged & planted) / len(flagged) if flagged else 0.0
    recall = found / len(ring) if ring else 1.0
    attackers = len(flagged & set(truth.reply_attackers))
    shown = f", of them {attackers} reply attackers" if attackers else ""
    return Check(
        name=f"coordinated ring recovered ({', '.join(options.signals)} within 60 s)",
        expected=f"{len(ring)} accounts, precision 1.00, recall 1.00",
        found=f"{len(flagged)} flagged{shown}, precision {precision:.2f}, recall {recall:.2f}",
        passed=precision >= 0.95 and recall >= 0.95,
    )


def _reply_attack_checks(store: Store, truth: Truth) -> list[Check]:
    """The planted reply attack: its accounts among the coordinated repliers, and the posts it hit
    among every target post (watched, by or naming a protected person) of the scenario."""
    options = reply_attacks.ReplyAttackOptions(since_us=truth.start_us, until_us=truth.end_us + 1)
    report = reply_attacks.detect(store, options)
    flagged = {replier.account_id for replier in report.repliers}
    hit = {target.post_id for target in report.targets if target.attacked}
    checks = []
    for name, found, planted in (
        ("reply attackers found (co-reply and near-duplicate replies within 60 s)", flagged,
         set(truth.reply_attackers)),
        (f"posts under reply attack found among {report.targets_considered:,} target posts", hit,
         set(truth.reply_attack_targets)),
    ):  # fmt: skip
        right = len(found & planted)
        precision = right / len(found) if found else 0.0
        recall = right / len(planted)
        checks.append(
            Check(
                name=name,
                expected=f"{len(planted)}, precision ≥ 0.95, recall ≥ 0.90",
                found=f"{len(found)} flagged, precision {precision:.2f}, recall {recall:.2f}",
                passed=precision >= 0.95 and recall >= 0.9,
            )
        )
    return checks


def control_checks(seed: int = 17) -> list[Check]:
    """Coordination's false-positive rate and its recall as rings thin out, on a week of organic
    control accounts (timed as real retweeters are) and three planted rings of 30 whose members
    join each burst with probability 1, 0.5 and 0.25, in a store of their own, at the defaults."""
    found = controls.control_set(seed)
    with tempfile.TemporaryDirectory(prefix="reachwatch-controls-") as folder:
        store = Store.open(str(Path(folder) / "controls.db"))
        try:
            store.write_records(found.records)
            options = coordination.CoordinationOptions(since_us=found.since_us, until_us=found.until_us)
            report, _ = coordination.detect(store, options)
        finally:
            store.close()
    views = {"merged": report.clusters, **report.signal_clusters}
    flagged = {view: {a for c in clusters for a in c.accounts} for view, clusters in views.items()}
    organic = set(found.controls)
    wrong = {view: len(accounts & organic) for view, accounts in flagged.items()}
    checks = [
        Check(
            name=f"organic control accounts flagged ({len(organic):,} ordinary engagers timed as real "
            "retweeters, no coordination)",
            expected="at most 1 % in the merged view",
            found="; ".join(f"{view} {count} ({count / len(organic):.1%})" for view, count in wrong.items()),
            passed=wrong["merged"] <= 0.01 * len(organic),
        )
    ]
    for density, members in found.rings.items():
        ring = set(members)
        shown = []
        precision = 1.0
        for view, clusters in views.items():
            near = {a for c in clusters if ring & set(c.accounts) for a in c.accounts}
            view_precision = len(near & ring) / len(near) if near else 1.0
            recall = len(flagged[view] & ring) / len(ring)
            shown.append(f"{view} P {view_precision:.2f} R {recall:.2f}")
            if view == "merged":
                precision, merged_recall = view_precision, recall
        demanded = float(density) >= 0.5
        checks.append(
            Check(
                name=f"planted ring of {len(ring)}, each member in each burst with probability {density}",
                expected="precision ≥ 0.95, recall ≥ 0.90" if demanded else "precision ≥ 0.95; recall shown",
                found="; ".join(shown),
                passed=precision >= 0.95 and (merged_recall >= 0.9 or not demanded),
            )
        )
    return checks


def _fmt(counts: dict[str, int]) -> str:
    return " ".join(f"{kind}={counts.get(kind, 0)}" for kind in ("repost", "quote", "reply", "like"))


def write_generated(config: ScenarioConfig, events: int, out: Path | None) -> int:
    """`generate` to a file path, or to stdout when `out` is None."""
    if out is None:
        return generate(config, events, sys.stdout.buffer)
    with out.open("wb") as handle:
        return generate(config, events, handle)

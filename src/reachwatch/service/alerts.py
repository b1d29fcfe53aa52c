"""Alerts: the rules checked against every post a batch touched (a new post, an engagement, a
platform's metric update), each alert raised once per deduplication key and then updated, raised
in severity when a later snapshot crosses an escalation step, and delivered to its channels
(service/delivery.py) outside the rule's quiet periods. The inbox reads and triages them.

Features are computed in tiers: what one query per batch gives (author, harm, people, narratives)
decides which posts could match any rule; only those get their engagement counts, and the costly
features (baseline z-score, forecast, coordination share) only when a rule names them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec

from reachwatch import query as query_language
from reachwatch.alerts import features as feature_registry
from reachwatch.alerts.rules import (
    SEVERITIES,
    References,
    Rule,
    RuleError,
    RuleSet,
    dedup_key,
    level_of,
    matches,
    parse,
    quiet_until,
    reason,
)
from reachwatch.errors import NotFoundError, StoreDataError, UsageError
from reachwatch.model import Engagement, MetricSnapshot, Post, WriteBatch
from reachwatch.service import audit, explore
from reachwatch.service.users import Principal
from reachwatch.store import alerts as rows
from reachwatch.store import queries
from reachwatch.store.alerts import AlertPostRow, AlertRow, DeliveryRow, NoteRow
from reachwatch.store.database import Store

__all__ = ["AlertPostRow", "AlertRow", "DeliveryRow", "Evaluation", "NoteRow", "RuleError"]

log = logging.getLogger(__name__)


class Evaluation(msgspec.Struct, kw_only=True):
    posts: int  # touched posts checked
    counted: int  # of which could match a rule and had their counts read
    raised: int
    escalated: int
    updated: int


def _now_us() -> int:
    return time.time_ns() // 1000


def touched_posts(batch: WriteBatch) -> list[str]:
    """The posts a written batch created, engaged with or re-measured, in first-seen order."""
    seen: dict[str, None] = {}
    for event in batch.events:
        for record in event.records:
            if isinstance(record, Post):
                seen[record.id] = None
            elif isinstance(record, Engagement | MetricSnapshot):
                seen[record.post_id] = None
    return list(seen)


def active_rules(store: Store) -> RuleSet:
    """The newest saved rule set (an empty one before any is saved)."""
    latest = rows.latest_rule_set(store)
    return parse(latest[1], f"rule set {latest[0]}") if latest else RuleSet()


def references(store: Store) -> References:
    """What the store's rules may name: its protected people and narratives, the platforms."""
    from reachwatch.connectors.platform import namespaces
    from reachwatch.service import narratives, people

    return References(
        people={p.id: p.name for p in people.list_people(store)},
        narratives={n.id: n.name for n in narratives.list_narratives(store)},
        platforms=tuple(sorted(namespaces())),
    )


def check_rules(store: Store, text: str, source: str = "rules") -> RuleSet:
    """A rule set checked against the store's references too; RuleError listing every problem."""
    return parse(text, source, references(store))


def save_rules(store: Store, text: str, by: str) -> RuleSet:
    """Check and save a rule set (it takes effect on the next batch); RuleError if it is wrong."""
    found = check_rules(store, text)
    rows.save_rule_set(store, text, by, _now_us())
    audit.record(store, by, "change", "alert-rules", detail={"rules": len(found.rules)})
    return found


def rules_text(store: Store) -> str:
    latest = rows.latest_rule_set(store)
    return latest[1] if latest else ""


class AlertEngine:
    """Checks touched posts against the active rules; safe to call from the pipeline's thread."""

    def __init__(self, store: Store, rules: RuleSet | None = None, *, reload_s: float = 5.0) -> None:
        self.store = store
        self._fixed = rules
        self.rules = rules if rules is not None else active_rules(store)
        self._loaded_at = time.monotonic()
        self.reload_s = reload_s
        self.delivery_wanted = threading.Event()  # set when a delivery is queued (the deliverer waits on it)
        self._costly_cache: dict[tuple[str, str], tuple[float, Any]] = {}
        self._trees: dict[str, query_language.Node | None] = {}  # rules' queries, parsed once a load

    def _refresh(self) -> None:
        if self._fixed is None and time.monotonic() - self._loaded_at > self.reload_s:
            self.rules = active_rules(self.store)
            self._loaded_at = time.monotonic()
            self._trees = {}  # handles named by `from:` resolve again with the reloaded rules

    def on_batch(self, batch: WriteBatch, received_us: int | None = None) -> Evaluation:
        """The pipeline's hook: check every post the batch touched."""
        return self.evaluate(touched_posts(batch), received_us)

    def evaluate(self, post_ids: list[str], event_at_us: int | None = None) -> Evaluation:
        self._refresh()
        rules = [rule for rule in self.rules.rules if rule.enabled]
        result = Evaluation(posts=len(post_ids), counted=0, raised=0, escalated=0, updated=0)
        if not rules or not post_ids:
            return result
        groups = feature_registry.registered().values()
        found: dict[str, dict[str, Any]] = {}
        cheap: set[str] = set()
        for group in groups:
            if group.tier == "cheap":
                cheap |= set(group.features)
                for post_id, values in group.compute(self.store, post_ids, found).items():
                    found.setdefault(post_id, {}).update(values)
        candidates = [
            post_id
            for post_id, values in found.items()
            if any(matches({k: v for k, v in rule.when.items() if k in cheap}, values) for rule in rules)
        ]
        result.counted = len(candidates)
        named = {name for rule in rules for name in _named(rule)}
        for group in feature_registry.groups_for(named) if candidates else ():
            computed = (
                self._costly(group, candidates, found)
                if group.tier == "costly"
                else group.compute(self.store, candidates, found)
            )
            for post_id, values in computed.items():
                found[post_id].update(values)
        matched = self._queried(rules, candidates)
        hits = [
            (rule, found[post_id])
            for post_id in candidates
            for rule in rules
            if matches(rule.when, found[post_id]) and (rule.query is None or post_id in matched[rule.id])
        ]
        if hits:
            self._record(hits, event_at_us or _now_us(), result)
        return result

    def _queried(self, rules: list[Rule], post_ids: list[str]) -> dict[str, set[str]]:
        """For each rule with a query, the posts among `post_ids` that it matches (one statement
        a rule; each query parsed and resolved once per rule load, not per batch); a query that
        does not resolve (an account not stored) matches nothing until the rules reload."""
        matched: dict[str, set[str]] = {}
        for rule in rules:
            if rule.query is None or not post_ids:
                continue
            if rule.query not in self._trees:
                try:
                    self._trees[rule.query] = explore.parse(self.store, rule.query)
                except UsageError:
                    self._trees[rule.query] = None
            tree = self._trees[rule.query]
            matched[rule.id] = queries.matching(self.store, tree, post_ids) if tree is not None else set()
        return matched

    def _costly(
        self, group: feature_registry.FeatureGroup, post_ids: list[str], found: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """A costly group's values, computed at most once a minute per post (one dossier serves the
        baseline and both forecasts)."""
        now = time.monotonic()
        fresh = {}
        stale = []
        for post_id in post_ids:
            entry = self._costly_cache.get((post_id, group.name))
            if entry is not None and now - entry[0] < 60:
                fresh[post_id] = entry[1]
            else:
                stale.append(post_id)
        if stale:
            computed = group.compute(self.store, stale, found)
            if len(self._costly_cache) > 50_000:  # keep the last minute's only
                self._costly_cache = {k: v for k, v in self._costly_cache.items() if now - v[0] < 60}
            self._costly_cache.update({(post_id, group.name): (now, computed[post_id]) for post_id in stale})
            fresh.update(computed)
        return fresh

    def _record(self, hits: list[tuple[Rule, dict[str, Any]]], event_at_us: int, result: Evaluation) -> None:
        """Raise, escalate or update in one transaction. Another engine on the same store may raise
        the same key first: the unique key refuses the second insert, and the batch is recorded
        again over the alerts as they now stand."""
        keyed = [(dedup_key(rule, found), rule, found) for rule, found in hits]
        for attempt in range(3):
            counts = Evaluation(posts=0, counted=0, raised=0, escalated=0, updated=0)
            try:
                queued = self._record_once(keyed, event_at_us, counts)
                break
            except StoreDataError:
                if attempt == 2:
                    raise
        result.raised, result.escalated, result.updated = counts.raised, counts.escalated, counts.updated
        if queued:
            self.delivery_wanted.set()

    def _record_once(
        self, keyed: list[tuple[str, Rule, dict[str, Any]]], event_at_us: int, result: Evaluation
    ) -> bool:
        """An alert's post, author and features always belong to one post, its lead: the first
        post of its key until another post of the same key crosses a higher level. Every post a
        grouped alert (per person and day, say) covers is kept with its own author and features."""
        existing = rows.alerts_by_keys(self.store, [key for key, _, _ in keyed])
        now = _now_us()
        queued = False
        kinds = feature_registry.kinds()
        with self.store.transaction() as conn:
            for key, rule, found in keyed:
                level, severity = level_of(rule, found)
                shown = {k: v for k, v in found.items() if k in kinds or k == "post_id"}
                post_id, author_id = found.get("post_id"), found.get("author")
                before = existing.get(key)
                if before is None:
                    row = AlertRow(
                        id=0, rule_id=rule.id, dedup_key=key, severity=severity, level=level, status="open",
                        title=rule.title, post_id=post_id, author_id=author_id, features=shown,
                        assignee=None, event_at_us=event_at_us, raised_at_us=now, updated_at_us=now,
                    )  # fmt: skip
                    values = {k: v for k, v in msgspec.structs.asdict(row).items() if k != "id"}
                    alert_id = row.id = rows.insert_alert(conn, values)
                    existing[key] = row
                    rows.add_note(conn, alert_id, now, "system", "raised", f"{severity}: {rule.title}")
                    queued |= self._queue(conn, rule, alert_id, level, severity, now)
                    result.raised += 1
                elif level > before.level:
                    lead = {"post_id": post_id, "author_id": author_id}
                    rows.update_alert(
                        conn, before.id, severity=severity, level=level, features=shown, updated_at_us=now,
                        event_at_us=event_at_us, **lead,
                        status="open" if before.status == "closed" else before.status,
                    )  # fmt: skip
                    moved = f" (now led by {post_id})" if post_id != before.post_id else ""
                    rows.add_note(
                        conn, before.id, now, "system", "escalated", f"{before.severity} → {severity}{moved}"
                    )
                    before.level, before.severity, before.features = level, severity, shown
                    before.post_id, before.author_id = post_id, author_id
                    queued |= self._queue(conn, rule, before.id, level, severity, now)
                    result.escalated += 1
                elif post_id == before.post_id and shown != before.features:
                    rows.update_alert(conn, before.id, features=shown, updated_at_us=now)
                    before.features = shown
                    result.updated += 1
                elif post_id != before.post_id:
                    rows.update_alert(conn, before.id, updated_at_us=now)
                    result.updated += 1
                alert_id = existing[key].id
                if post_id:
                    rows.save_alert_post(
                        conn,
                        AlertPostRow(
                            alert_id=alert_id, post_id=post_id, author_id=author_id, level=level,
                            severity=severity, features=shown, first_at_us=now, updated_at_us=now,
                        ),
                    )  # fmt: skip
        return queued

    def _queue(self, conn: Any, rule: Rule, alert_id: int, level: int, severity: str, now: int) -> bool:
        if not rule.notify:
            return False
        held = quiet_until(rule, severity, datetime.fromtimestamp(now / 1e6, tz=UTC))
        due = int(held.timestamp() * 1e6) if held is not None else now
        rows.add_deliveries(
            conn,
            [
                {
                    "alert_id": alert_id,
                    "channel": channel,
                    "level": level,
                    "status": "pending",
                    "attempts": 0,
                    "next_at_us": due,
                    "last_error": None,
                    "created_at_us": now,
                    "sent_at_us": None,
                }
                for channel in rule.notify
            ],
        )
        return held is None


def _named(rule: Rule) -> Iterable[str]:
    yield from rule.when
    for step in rule.escalate:
        yield from step.when


# The inbox ---------------------------------------------------------------------------------------


class AlertPage(msgspec.Struct, kw_only=True):
    alerts: list[AlertRow]
    total: int
    page: int
    limit: int


class FeatureShown(msgspec.Struct, kw_only=True):
    name: str  # as the rules name it
    words: str  # as people read it
    value: str  # with its unit


class AlertView(msgspec.Struct, kw_only=True):
    alert: AlertRow
    posts: list[AlertPostRow]  # every post it covers, each with its own author (one unless grouped)
    notes: list[NoteRow]
    deliveries: list[DeliveryRow]
    features: list[FeatureShown]  # the lead post's figures, named and with units
    cases: list[str]  # the cases it is linked to


HIDDEN_FEATURES = ("author", "author_handle", "post_id")  # shown as links, not figures


def _with_reasons(store: Store, found: list[AlertRow]) -> list[AlertRow]:
    """Each alert with its rule's conditions in words (the rule as saved now; a rule since removed
    leaves the reason empty)."""
    by_id = {rule.id: rule for rule in active_rules(store).rules}
    return [
        msgspec.structs.replace(alert, reason=reason(by_id[alert.rule_id], alert.level, alert.features))
        if alert.rule_id in by_id
        else alert
        for alert in found
    ]


def inbox(
    store: Store,
    *,
    status: str | None = None,
    severity: str | None = None,
    rule_id: str | None = None,
    assignee: str | None = None,
    page: int = 1,
    limit: int = 50,
) -> AlertPage:
    if severity and severity not in SEVERITIES:
        raise UsageError(f"Unknown severity {severity!r}: use one of {', '.join(SEVERITIES)}.")
    found, total = rows.list_alerts(
        store,
        status=status,
        severity=severity,
        rule_id=rule_id,
        assignee=assignee,
        limit=limit,
        offset=(page - 1) * limit,
    )
    return AlertPage(alerts=_with_reasons(store, found), total=total, page=page, limit=limit)


def view(store: Store, alert_id: int) -> AlertView:
    alert = rows.get_alert(store, alert_id)
    if alert is None:
        raise NotFoundError(f"No alert {alert_id}.")
    from reachwatch.store import cases as case_rows

    figures = [
        FeatureShown(
            name=name, words=feature_registry.label(name)[0], value=feature_registry.shown(name, value)
        )
        for name, value in sorted(alert.features.items())
        if name not in HIDDEN_FEATURES
    ]
    return AlertView(
        alert=_with_reasons(store, [alert])[0],
        posts=rows.alert_posts(store, alert_id),
        notes=rows.notes(store, alert_id),
        deliveries=rows.deliveries(store, alert_id=alert_id),
        features=figures,
        cases=case_rows.cases_of_target(store, "alert", str(alert_id)),
    )


def triage(store: Store, who: Principal, alert_id: int, action: str, text: str = "") -> AlertView:
    """acknowledge | assign (text: the user) | comment (text) | case (text: the case id) | close | reopen."""
    alert = view(store, alert_id).alert
    now = _now_us()
    text = text.strip()[:2000]
    changes: dict[str, Any] = {"updated_at_us": now}
    if action == "acknowledge":
        changes["status"] = "acknowledged"
    elif action == "assign":
        from reachwatch.store import accounts

        if not text or accounts.get_user(store, text) is None:
            raise UsageError(f"No user named {text!r} to assign the alert to.")
        changes["assignee"] = text
    elif action == "comment":
        if not text:
            raise UsageError("A comment needs some text.")
    elif action == "case":
        from reachwatch.service import cases

        if not text:
            raise UsageError("Choose the case to link the alert to.")
        if not cases.link_alert(store, who, text, alert.id, alert.post_id):
            raise UsageError(f"Alert {alert.id} is already linked to {text}.")
        text = f"linked to {text}"
    elif action == "close":
        changes["status"] = "closed"
    elif action == "reopen":
        changes["status"] = "open"
    else:
        raise UsageError(f"Unknown action {action!r}.")
    with store.transaction() as conn:
        rows.update_alert(conn, alert.id, **changes)
        rows.add_note(
            conn,
            alert.id,
            now,
            who.name,
            {
                "acknowledge": "acknowledged",
                "assign": "assigned",
                "close": "closed",
                "reopen": "reopened",
                "case": "case",
            }.get(action, action),
            text,
        )
    audit.record(
        store,
        who.name,
        f"alert-{action}",
        f"alert:{alert.id}",
        case_id=who.case_id,
        detail={"text": text} if text else {},
    )
    return view(store, alert_id)


def demo_rules_text() -> str:
    from importlib.resources import files

    return files("reachwatch.alerts").joinpath("demo-rules.yaml").read_text(encoding="utf-8")


def evaluate_stored(store: Store, *, since_us: int = 0, chunk: int = 2_000) -> Evaluation:
    """Check every stored post created since `since_us` (after an import, or after rules change)."""
    from reachwatch.store import queries

    engine = AlertEngine(store)
    total = Evaluation(posts=0, counted=0, raised=0, escalated=0, updated=0)
    ids = queries.post_ids_since(store, since_us)
    for start in range(0, len(ids), chunk):
        found = engine.evaluate(ids[start : start + chunk])
        for field in ("posts", "counted", "raised", "escalated", "updated"):
            setattr(total, field, getattr(total, field) + getattr(found, field))
    return total


def load_configured_rules(store: Store, rules_file: str | None) -> bool:
    """Load `[alerts] rules_file` when the store has no rules yet; True if it was loaded. (Later
    changes are made with `reachwatch alerts rules load` or in the app, and are audited.)"""
    if not rules_file or rows.latest_rule_set(store) is not None:
        return False
    from pathlib import Path

    path = Path(rules_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"[alerts] rules_file {path}: {exc.strerror or exc}.") from exc
    save_rules(store, text, f"config:{path.name}")
    return True

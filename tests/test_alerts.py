"""Alert evaluation on the stream, on both stores: a rule fires once per deduplication key as
batches arrive, later engagements (or a platform's metric update) escalate it, a quiet period
holds the delivery, and the demo rules raise alerts on the demo scenario."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from reachwatch.alerts.rules import parse, quiet_until
from reachwatch.service import alert_features, alerts
from reachwatch.service.alerts import AlertEngine
from reachwatch.service.pipeline import Pipeline
from reachwatch.store import alerts as rows
from reachwatch.store.database import Store
from tests.alert_fixtures import CALM_POST, RULES, THREAT_POST, engagements, metrics, opening


@pytest.fixture
def engine(store: Store) -> AlertEngine:
    alerts.save_rules(store, RULES.format(url="http://127.0.0.1:9/hook"), "test")
    return AlertEngine(store)


def test_raised_once_then_escalated_by_later_engagements(store: Store, engine: AlertEngine) -> None:
    pipeline = Pipeline(store, on_written=engine.on_batch)
    pipeline.write_now(opening())
    raised = alerts.inbox(store).alerts
    assert [(a.rule_id, a.post_id, a.severity, a.level) for a in raised] == [
        ("threat-naming-protected", THREAT_POST, "high", 0)
    ]  # the calm post names her too, but threatens no one
    assert CALM_POST not in {a.post_id for a in raised}
    pipeline.write_now(engagements(THREAT_POST, 0, 20))  # 20 reposts: still below the step
    pipeline.write_now(engagements(THREAT_POST, 20, 10))
    again = alerts.inbox(store)
    assert again.total == 1  # updated, never a second alert
    assert again.alerts[0].features["engagements"] == 30
    assert again.alerts[0].severity == "high"
    pipeline.write_now(engagements(THREAT_POST, 30, 25))  # 55 ≥ 50: the escalation step
    final = alerts.view(store, again.alerts[0].id)
    assert (final.alert.severity, final.alert.level) == ("critical", 1)
    assert [note.kind for note in final.notes] == ["raised", "escalated"]
    # One delivery when raised, one when escalated: nothing for the updates between.
    assert [(d.channel, d.level, d.status) for d in final.deliveries] == [
        ("ops", 0, "pending"),
        ("ops", 1, "pending"),
    ]
    pipeline.write_now(engagements(THREAT_POST, 55, 5))
    assert len(alerts.view(store, final.alert.id).deliveries) == 2


def test_a_metric_update_alone_escalates(store: Store, engine: AlertEngine) -> None:
    pipeline = Pipeline(store, on_written=engine.on_batch)
    pipeline.write_now(opening())
    pipeline.write_now([metrics(THREAT_POST, reposts=400)])  # X-style counts, no engager list
    found = alerts.inbox(store).alerts[0]
    assert (found.severity, found.features["reposts"]) == ("critical", 400)


def test_rules_reload_while_running(store: Store) -> None:
    engine = AlertEngine(store, reload_s=0.0)
    pipeline = Pipeline(store, on_written=engine.on_batch)
    pipeline.write_now(opening()[:2])
    assert alerts.inbox(store).total == 0  # no rules yet
    alerts.save_rules(store, RULES.format(url="http://127.0.0.1:9/hook"), "test")
    pipeline.write_now(opening()[2:])
    assert alerts.inbox(store).total == 1


def test_quiet_periods_hold_delivery_but_not_the_alert(store: Store) -> None:
    text = RULES.format(url="http://127.0.0.1:9/hook").replace(
        "    notify: [ops]",
        '    quiet:\n      - {from: "00:00", to: "23:59", except: [critical]}\n    notify: [ops]',
    )
    alerts.save_rules(store, text, "test")
    engine = AlertEngine(store)
    Pipeline(store, on_written=engine.on_batch).write_now(opening())
    found = alerts.view(store, alerts.inbox(store).alerts[0].id)
    assert found.alert.status == "open"  # in the inbox at once
    (held,) = found.deliveries
    now_us = datetime.now(tz=UTC).timestamp() * 1e6
    assert held.next_at_us > now_us  # held until the quiet period ends
    assert rows.due_deliveries(store, int(now_us)) == []


def test_quiet_period_arithmetic() -> None:
    rule = parse(
        RULES.format(url="http://x.example/h").replace(
            "    notify: [ops]",
            '    quiet:\n      - {from: "22:00", to: "07:00", timezone: Europe/London, except: [critical]}\n'
            "    notify: [ops]",
        )
    ).rules[0]
    night = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)  # London is on UTC in January
    assert quiet_until(rule, "high", night) == datetime(2026, 1, 11, 7, 0, tzinfo=UTC)
    early = datetime(2026, 1, 11, 6, 59, tzinfo=UTC)
    assert quiet_until(rule, "high", early) == datetime(2026, 1, 11, 7, 0, tzinfo=UTC)
    assert quiet_until(rule, "high", datetime(2026, 1, 11, 7, 0, tzinfo=UTC)) is None
    assert quiet_until(rule, "critical", night) is None  # critical goes through
    summer = datetime(2026, 7, 10, 21, 30, tzinfo=UTC)  # 22:30 in London (BST)
    assert quiet_until(rule, "high", summer) == datetime(2026, 7, 11, 6, 0, tzinfo=UTC)


@pytest.mark.slow
def test_demo_rules_raise_alerts_on_the_demo(demo_web: tuple[Store, str, str]) -> None:
    store, trigger, _ = demo_web
    if not alerts.rules_text(store):
        alerts.save_rules(store, alerts.demo_rules_text(), "demo")
        alerts.evaluate_stored(store)
    by_post = {a.post_id: a for a in alerts.inbox(store, status=None, limit=500).alerts}
    assert by_post[trigger].rule_id in {"watched-post-abuses-protected", "watched-post-travelling"}
    critical = alerts.inbox(store, status=None, severity="critical").alerts
    assert [a.post_id for a in critical] == [trigger]


@pytest.mark.slow
def test_excess_over_the_comparison_pool_is_a_feature(demo_web: tuple[Store, str, str]) -> None:
    store, trigger, _ = demo_web
    rules = parse(
        "rules:\n  - id: beyond-pool\n    title: t\n    severity: high\n    when:\n"
        "      excess_vs_pool_low: {at_least: 2}\n"
    )
    assert rules.costly_features() == {"excess_vs_pool_low"}
    named = {trigger: {"person": ["dana-whitfield"]}}
    found = alert_features.spillover_features(store, [trigger], named)[trigger]
    assert found["excess_vs_pool"] > found["excess_vs_pool_low"] > 2  # the demo's planted rise
    nobody = alert_features.spillover_features(store, [trigger], {trigger: {"person": []}})
    assert nobody[trigger] == {"excess_vs_pool": None, "excess_vs_pool_low": None}


def test_costly_features_are_computed_when_named(store: Store) -> None:
    text = RULES.format(url="http://127.0.0.1:9/hook").replace(
        "      harm_flag: {any_of: [threat]}",
        "      harm_flag: {any_of: [threat]}\n"
        "      forecast_high: {at_least: 1}\n"
        "      coordination_share: {at_most: 1}",
    )
    alerts.save_rules(store, text, "test")
    engine = AlertEngine(store)
    Pipeline(store, on_written=engine.on_batch).write_now([*opening(), *engagements(THREAT_POST, 0, 30)])
    (found,) = alerts.inbox(store).alerts
    assert found.features["forecast_high"] >= found.features["engagements"] == 30
    assert found.features["coordination_share"] == 0.0  # no ring among these engagers


def test_cli(store_url: str, store: Store, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from reachwatch.cli.main import app
    from reachwatch.errors import UsageError
    from tests.alert_fixtures import Receiver

    runner = CliRunner()
    Pipeline(store).write_now(opening())  # stored before any rule exists: nothing raised yet
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.format(url="http://127.0.0.1:9/h").replace("severity: high", "severity: loud"))
    checked = runner.invoke(app, ["alerts", "rules", "check", str(bad), "--db", store_url])
    assert isinstance(checked.exception, UsageError)
    assert "line 10, rules[0].severity" in str(checked.exception)
    with Receiver().running() as hook:
        good = tmp_path / "good.yaml"
        good.write_text(RULES.format(url=hook.url))
        assert runner.invoke(app, ["alerts", "rules", "check", str(good), "--db", store_url]).exit_code == 0
        assert runner.invoke(app, ["alerts", "rules", "load", str(good), "--db", store_url]).exit_code == 0
        evaluated = runner.invoke(
            app,
            ["alerts", "evaluate", "--db", store_url],
            env={
                "REACHWATCH_ALERTS__WEBHOOK_SECRET": "k3y",
                "REACHWATCH_ALERTS__ALLOWED_HOSTS": '["127.0.0.1"]',
            },
        )
        assert evaluated.exit_code == 0, evaluated.output
        said = " ".join(evaluated.output.split())  # Rich wraps at the terminal's width
        assert "1 alerts raised" in said
        assert "1 deliveries sent" in said
        assert len(hook.requests) == 1
    listed = runner.invoke(app, ["alerts", "list", "--json", "--db", store_url])
    assert [a["post_id"] for a in msgspec.json.decode(listed.output)["alerts"]] == [THREAT_POST]
    assert "Dead letters (0)" in runner.invoke(app, ["alerts", "dead", "--db", store_url]).output


def test_a_configured_rules_file_is_loaded_once(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(url="http://127.0.0.1:9/hook"))
    assert alerts.load_configured_rules(store, str(path))
    assert alerts.active_rules(store).rules[0].id == "threat-naming-protected"
    path.write_text("rules: []\n")
    assert not alerts.load_configured_rules(store, str(path))  # the store's rules now rule
    assert len(alerts.active_rules(store).rules) == 1
    assert not alerts.load_configured_rules(store, None)


def test_a_second_engine_raising_the_same_alert_first_is_absorbed(
    store: Store, engine: AlertEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    Pipeline(store, on_written=engine.on_batch).write_now(opening())
    assert alerts.inbox(store).total == 1
    real = rows.alerts_by_keys
    reads: list[int] = []

    def racing(*args: Any) -> Any:
        reads.append(1)
        return {} if len(reads) == 1 else real(*args)  # the first read misses the other's alert

    monkeypatch.setattr(rows, "alerts_by_keys", racing)
    late = AlertEngine(store)
    found = late.evaluate([THREAT_POST])
    assert (found.raised, found.updated) == (0, 1)  # the insert lost the race: recorded as an update
    assert alerts.inbox(store).total == 1
    assert len(reads) == 2  # read again after the refused insert


GROUPED = """
rules:
  - id: threats-per-person-day
    title: Threats to a protected person
    severity: medium
    when:
      protected_person_named: true
      harm_flag: {any_of: [threat]}
    dedup: [person, day]
    escalate:
      - severity: high
        when: {engagements: {at_least: 10}}
"""


def test_a_grouped_alert_keeps_each_post_with_its_own_author(store: Store) -> None:
    """Two threatening posts by different authors on one day: one alert for the person and day,
    whose post, author and figures belong to one post, and which lists both with their own authors."""
    from reachwatch.model import Account, Post
    from tests.alert_fixtures import DANA, T0, WATCHED, fetched

    alerts.save_rules(store, GROUPED, "test")
    engine = AlertEngine(store)
    pipeline = Pipeline(store, on_written=engine.on_batch)
    pipeline.write_now(opening())  # the watched account's threat post: raises the alert
    other = "bluesky:at://did:plc:troll/app.bsky.feed.post/x9"
    pipeline.write_now(
        [
            fetched(DANA),
            fetched(Account(id="bluesky:did:plc:troll", platform="bluesky", handle="troll.bsky.social")),
            fetched(
                Post(
                    id=other, platform="bluesky", author_id="bluesky:did:plc:troll",
                    created_at_us=T0 + 3_600_000_000,
                    text="Dana Whitfield we know where you live, you will pay", lang="en",
                )
            ),
        ]
    )  # fmt: skip
    pipeline.write_now(engagements(other, 0, 12))  # the second post crosses the escalation step
    (alert,) = alerts.inbox(store).alerts
    view = alerts.view(store, alert.id)
    covered = {p.post_id: p for p in view.posts}
    assert set(covered) == {THREAT_POST, other}
    assert covered[THREAT_POST].author_id == WATCHED
    assert covered[other].author_id == "bluesky:did:plc:troll"
    assert covered[other].features["engagements"] == 12
    assert covered[THREAT_POST].features.get("engagements", 0) == 0
    # The alert is led by the post that escalated it, with that post's author and counts.
    assert (view.alert.post_id, view.alert.author_id, view.alert.severity) == (
        other,
        "bluesky:did:plc:troll",
        "high",
    )
    assert view.alert.features["post_id"] == other
    assert view.alert.features["author"] == "bluesky:did:plc:troll"
    assert view.alert.features["engagements"] == 12
    # A later update of the first post does not rewrite the lead's figures.
    pipeline.write_now(engagements(THREAT_POST, 100, 3))
    again = alerts.view(store, alert.id)
    assert again.alert.post_id == other
    assert again.alert.features["engagements"] == 12
    assert {p.post_id: p.features.get("engagements") for p in again.posts}[THREAT_POST] == 3


TRIAGE_RULES = """
rules:
  - id: threat-naming-protected
    title: Threat naming a protected person
    severity: high
    when:
      watched_author: true
      protected_person_named: true
      harm_flag: {any_of: [threat]}
    escalate:
      - severity: critical
        when: {engagements: {at_least: 50}}
  - id: watched-post
    title: A watched account posted
    severity: low
    when: {watched_author: true, is_reply: false}
"""


def test_the_inbox_is_for_triage(store: Store) -> None:
    """Sorted by severity, then by the latest change; each row with its post's text and time and
    the rule's reason in words; the alert with named figures; linked to a case by an officer."""
    from reachwatch.errors import PermissionDeniedError, UsageError
    from reachwatch.service import cases
    from reachwatch.store import cases as case_rows
    from tests.alert_fixtures import T0
    from tests.test_accountability import principal

    alerts.save_rules(store, TRIAGE_RULES, "test")
    pipeline = Pipeline(store, on_written=AlertEngine(store).on_batch)
    pipeline.write_now(opening())
    pipeline.write_now(engagements(CALM_POST, 0, 5))  # the calm post's low alert changes last
    found = alerts.inbox(store).alerts
    assert [(a.severity, a.post_id) for a in found] == [
        ("high", THREAT_POST), ("low", CALM_POST), ("low", THREAT_POST)
    ]  # fmt: skip
    threat = found[0]
    assert (threat.post_text, threat.post_at_us) == ("Dana Whitfield should be hanged for this", T0)
    assert threat.reason.startswith(
        "by a watched account; names a protected person; harm flags include threat"
    )
    assert found[1].reason == "by a watched account; not a reply"
    pipeline.write_now(engagements(THREAT_POST, 0, 60))
    (lead, *_) = alerts.inbox(store).alerts
    assert (lead.severity, lead.level) == ("critical", 1)
    assert lead.reason.endswith("; raised to critical: engagements ≥ 50 (60)")
    # The alert's figures with the words people read and their units.
    figures = {f.name: f for f in alerts.view(store, lead.id).features}
    assert figures["engagements"].words == "engagements"
    assert figures["engagements"].value == "60"
    assert figures["velocity_per_hour"].value.endswith(" per hour")
    assert figures["watched_author"].value == "yes"
    assert "author" not in figures
    assert "post_id" not in figures
    # Linking to a case: an officer of an open case only, once, recorded on both sides.
    ana = principal(store, "ana", "analyst")
    bo = principal(store, "bo", "analyst")
    case = cases.open_case(store, ana, "Threats", "Who carried the threat post in its first hour?", "Basis")
    with pytest.raises(PermissionDeniedError, match="not one of its officers"):
        alerts.triage(store, bo, lead.id, "case", case.id)
    linked = alerts.triage(store, ana, lead.id, "case", case.id)
    assert linked.cases == [case.id]
    assert (linked.notes[-1].kind, linked.notes[-1].text) == ("case", f"linked to {case.id}")
    with pytest.raises(UsageError, match="already linked"):
        alerts.triage(store, ana, lead.id, "case", case.id)
    held = {(t.kind, t.target_id) for t in case_rows.targets(store, [case.id])}
    assert {("alert", str(lead.id)), ("post", THREAT_POST)} <= held
    assert str(lead.id) not in case_rows.held_targets(store)[1]  # an alert is not an account
    assert cases.open_cases_of(store, ana) == [case.id]
    assert cases.open_cases_of(store, bo) == []

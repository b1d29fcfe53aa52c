"""Saved searches and the alert rules made from them, on both stores: a query kept under a name
(checked, audited, deleted only by its owner or an administrator), added to the rules as a rule
with `query:` that raises alerts only on posts the search matches; and on the web pages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from reachwatch.alerts.rules import RuleError, parse
from reachwatch.errors import PermissionDeniedError, UsageError
from reachwatch.service import alerts, audit, saved_searches, users
from reachwatch.service.alerts import AlertEngine
from reachwatch.service.pipeline import Pipeline
from reachwatch.service.store_access import Store
from reachwatch.web.app import create_app
from tests.alert_fixtures import CALM_POST, RULES, THREAT_POST, WATCHED, opening
from tests.web_fixtures import PASSWORD, add_role_users, csrf_of, log_in


def _who(store: Store, role: str) -> users.Principal:
    if not users.list_users(store):
        add_role_users(store)
    return users.login(store, role, PASSWORD, "test").principal


def test_saved_and_refused_and_deleted(store: Store) -> None:
    analyst, supervisor, admin = (_who(store, role) for role in ("analyst", "supervisor", "admin"))
    saved = saved_searches.save(store, analyst, "Budget-Whitfield", "Whitfield budget -football")
    assert (saved.name, saved.owner) == ("budget-whitfield", "analyst")
    again = saved_searches.save(store, analyst, "budget-whitfield", "Whitfield OR budget")
    assert again.id == saved.id  # the same name changes it
    assert [s.query for s in saved_searches.listed(store)] == ["Whitfield OR budget"]
    with pytest.raises(UsageError, match="cannot name a saved search"):
        saved_searches.save(store, analyst, "my search!", "x")
    with pytest.raises(UsageError, match="OR needs something on each side"):
        saved_searches.save(store, analyst, "broken", "Whitfield OR")
    with pytest.raises(UsageError, match="The search is empty"):
        saved_searches.save(store, analyst, "empty", "   ")
    with pytest.raises(PermissionDeniedError):
        saved_searches.save(store, _who(store, "viewer"), "viewer-search", "x")
    with pytest.raises(PermissionDeniedError, match="saved by analyst"):
        saved_searches.delete(store, supervisor, "budget-whitfield")
    saved_searches.delete(store, admin, "budget-whitfield")
    assert saved_searches.listed(store) == []
    with pytest.raises(Exception, match="No saved search 'budget-whitfield'"):
        saved_searches.get(store, "budget-whitfield")
    trail = [(e.action, e.target) for e in audit.entries(store, 10)]
    assert ("change", "search:budget-whitfield") in trail
    assert ("delete", "search:budget-whitfield") in trail


def test_a_search_becomes_a_rule_that_only_fires_on_what_it_matches(store: Store) -> None:
    analyst = _who(store, "analyst")
    search = saved_searches.save(store, analyst, "hanged", f'"should be hanged" from:{WATCHED}')
    base = RULES.format(url="http://127.0.0.1:9/hook")
    text = saved_searches.with_rule(base, search)
    assert text.startswith(base.rstrip("\n"))  # the rules as written are kept, comments and all
    ruleset = parse(text)
    (rule,) = [r for r in ruleset.rules if r.id == "search-hanged"]
    assert rule.query == search.query
    assert rule.when == {}
    alerts.save_rules(store, text, "supervisor")
    Pipeline(store, on_written=AlertEngine(store).on_batch).write_now(opening())
    raised = {(a.rule_id, a.post_id) for a in alerts.inbox(store).alerts}
    assert ("search-hanged", THREAT_POST) in raised
    assert ("search-hanged", CALM_POST) not in raised  # her name, not the phrase
    (alert,) = [a for a in alerts.inbox(store).alerts if a.rule_id == "search-hanged"]
    assert alert.author_id == WATCHED
    assert "matches the search" in alerts.view(store, alert.id).alert.reason


def test_rules_with_a_query_are_checked() -> None:
    assert saved_searches.with_rule(
        "", saved_searches.SavedSearch(id=1, name="x", query="a b", owner="o", saved_at_us=0)
    )
    with pytest.raises(RuleError, match=r"query.*OR needs something"):
        parse("rules:\n  - {id: q, title: Q, severity: low, query: 'a OR'}\n")
    with pytest.raises(RuleError, match="at least one condition, or a query"):
        parse("rules:\n  - {id: q, title: Q, severity: low}\n")
    tail = "rules:\n- id: a\n  title: A\n  severity: low\n  when: {watched_author: true}\nchannels: {}\n"
    merged = saved_searches.with_rule(
        tail, saved_searches.SavedSearch(id=1, name="x", query="Whitfield", owner="o", saved_at_us=0)
    )
    assert [r.id for r in parse(merged).rules] == ["a", "search-x"]  # inserted before `channels:`


def test_saved_searches_on_the_pages(demo_web: tuple[Store, str, str]) -> None:
    store = demo_web[0]
    app = create_app(store)
    analyst = TestClient(app)
    log_in(analyst, "analyst")
    token = csrf_of(analyst)
    saved = analyst.post(
        "/searches", data={"name": "whitfield-jail", "q": "Whitfield (jail OR jailed)", "csrf": token},
        headers={"X-CSRF-Token": token}, follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303, saved.text[:300]
    page = analyst.get(saved.headers["location"]).text
    assert 'data-search="whitfield-jail"' in page
    assert "Make an alert rule" not in page  # rules are a supervisor's
    supervisor = TestClient(app)
    log_in(supervisor, "supervisor")
    assert "Make an alert rule" in supervisor.get("/search").text
    editor = supervisor.get("/alerts/rules", params={"search": "whitfield-jail"}).text
    assert 'id="adding"' in editor
    assert "search-whitfield-jail" in editor
    missing = supervisor.get("/alerts/rules", params={"search": "nope"})
    assert missing.status_code == 404
    assert "No saved search &#39;nope&#39;: there is whitfield-jail" in missing.text
    viewer = TestClient(app)
    log_in(viewer, "viewer")
    vtoken = csrf_of(viewer)
    refused = viewer.post(
        "/searches", data={"name": "v", "q": "x", "csrf": vtoken}, headers={"X-CSRF-Token": vtoken},
        follow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 403

"""Accountability on both stores: cases and time, pseudonyms and audited reveals, retention with
its dry run and case holds, the oversight report (service, CSV, printable HTML, CLI), and users."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import msgspec
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reachwatch.cli.main import app as cli
from reachwatch.config import RetentionSettings
from reachwatch.errors import PermissionDeniedError, UsageError
from reachwatch.service import audit, cases, downloads, oversight, privacy, retention, users
from reachwatch.service.pipeline import Pipeline
from reachwatch.service.store_access import Store
from reachwatch.service.users import Principal
from reachwatch.store import accounts
from reachwatch.web.app import create_app
from tests.alert_fixtures import THREAT_POST, WATCHED, engagements, opening
from tests.web_fixtures import PASSWORD, log_in

runner = CliRunner()
DAY_US = 86_400_000_000


def principal(store: Store, name: str, role: str) -> Principal:
    if accounts.get_user(store, name) is None:
        users.add_user(store, name, role, PASSWORD)
    return users.login(store, name, PASSWORD, "test").principal


@pytest.fixture
def loaded(store: Store) -> Store:
    Pipeline(store).write_now([*opening(), *engagements(THREAT_POST, 0, 30)])
    return store


def test_passwords_are_argon2_and_sessions_hashed(store: Store) -> None:
    users.add_user(store, "ana", "analyst", PASSWORD)
    row = accounts.get_user(store, "ana")
    assert row is not None
    assert row.password_hash.startswith("$argon2id$")
    made = users.login(store, "ana", PASSWORD, "test")
    assert accounts.get_session(store, made.token) is None  # the token itself is not stored
    assert users.authenticate(store, made.token).name == "ana"
    with pytest.raises(UsageError):
        users.add_user(store, "short", "analyst", "too short")
    with pytest.raises(UsageError):
        users.add_user(store, "ana", "analyst", PASSWORD)
    with pytest.raises(UsageError):
        users.add_user(store, "bob", "overlord", PASSWORD)
    users.set_disabled(store, "ana")
    with pytest.raises(Exception, match="log in"):
        users.authenticate(store, made.token)  # disabling ended the session


def test_cases_and_time(loaded: Store) -> None:
    ana = principal(loaded, "ana", "analyst")
    viewer = principal(loaded, "vic", "viewer")
    with pytest.raises(PermissionDeniedError):
        cases.open_case(loaded, viewer, "t", "a justification long enough to pass", "basis")
    with pytest.raises(UsageError, match="why"):
        cases.open_case(loaded, ana, "Threats", "too short", "Threat assessment")
    case = cases.open_case(
        loaded, ana, "Threats", "The post named the minister and threats followed.", "Threat assessment"
    )
    assert case.id == "case-00001"
    users.work_on_case(loaded, ana, case.id)
    cases.note_target(loaded, ana, "post", THREAT_POST)
    cases.log_time(loaded, ana, case.id, 90, "read the replies")
    cases.start_clock(loaded, ana, case.id)
    bob = principal(loaded, "bob", "analyst")
    with pytest.raises(PermissionDeniedError):
        cases.log_time(loaded, bob, case.id, 10)  # not an officer of it yet
    with pytest.raises(PermissionDeniedError, match="Only the officer who opened"):
        cases.join(loaded, bob, case.id)  # nobody joins another officer's case on their own
    cases.join(loaded, ana, case.id, "bob")  # its owner adds him
    cases.log_time(loaded, bob, case.id, 30)
    seen = cases.view(loaded, ana, case.id)
    assert seen.members == ["ana", "bob"]
    assert seen.running
    assert 1.99 < seen.hours < 2.05
    assert [t.target_id for t in seen.targets] == [THREAT_POST]
    with pytest.raises(PermissionDeniedError):
        cases.view(
            loaded, principal(loaded, "cara", "analyst"), case.id
        )  # not hers, and she does not oversee
    cases.close(loaded, ana, case.id)
    assert not cases.view(loaded, ana, case.id).running  # closing stops the clocks
    with pytest.raises(UsageError, match="closed"):
        cases.log_time(loaded, ana, case.id, 5)  # no time on a closed case
    actions = [entry.action for entry in audit.entries(loaded, 50)]
    assert {"open-case", "join-case", "close-case"} <= set(actions)


def test_pseudonyms_and_reveal(loaded: Store) -> None:
    key = privacy.deployment_key(loaded)
    assert privacy.deployment_key(loaded) == key  # made once per store
    fan = "bluesky:did:plc:fan3"
    names = privacy.Pseudonyms(loaded, key)
    alias = names.name(fan)
    assert re.fullmatch(r"anon-[a-z2-7]{16}", alias)
    assert privacy.Pseudonyms(loaded, key).name(fan) == alias  # stable
    assert privacy.alias(b"another deployment", fan) != alias  # keyed
    assert names.name(WATCHED) == WATCHED  # watched accounts are named
    from reachwatch.model import Account, Person

    loaded.write_records([
        Person(id="dana-whitfield", name="Dana Whitfield", handles={"bluesky": ["dana.bsky.social"]}),
        Account(id="bluesky:did:plc:dana", platform="bluesky", handle="dana.bsky.social", followers=900),
    ])  # fmt: skip
    assert privacy.Pseudonyms(loaded, key).name("bluesky:did:plc:dana") == "bluesky:did:plc:dana"  # her own
    ana = principal(loaded, "ana", "analyst")
    with pytest.raises(PermissionDeniedError, match="case"):
        privacy.reveal(loaded, ana, key, alias, "first-hour amplifier")
    case = cases.open_case(
        loaded, ana, "Amplifiers", "Who carried the threat post in its first hour?", "Threat assessment"
    )
    users.work_on_case(loaded, ana, case.id)
    found = privacy.reveal(loaded, ana, key, alias, "first-hour amplifier")
    assert found.identity == fan
    (entry,) = [e for e in audit.entries(loaded, 20) if e.action == "reveal"]
    assert (entry.actor, entry.target, entry.case_id, entry.detail["pseudonym"]) == (
        "ana",
        fan,
        case.id,
        alias,
    )
    with pytest.raises(UsageError):
        privacy.reveal(loaded, ana, key, alias, "")  # a reason is required


def accounts_left(store: Store) -> list[str]:
    from sqlalchemy import select

    from reachwatch.store import schema

    with store.connect() as conn:
        return sorted(conn.execute(select(schema.accounts.c.id)).scalars())


def test_retention_dry_run_then_run_with_case_hold(loaded: Store) -> None:
    settings = RetentionSettings(enabled=True, engagement_days=1, raw_days=1, quarantine_days=1)
    later = time.time_ns() // 1000 + 10 * DAY_US  # ten days from now: every fixture is old by then
    dry = retention.run(loaded, settings, dry_run=True, now_us=later)
    counts = {c.data_class: c.deleted for c in dry.classes}
    assert counts["engagements of non-watched accounts"] == 30
    assert counts["raw payloads"] > 0
    assert dry.needs_confirmation == "this is the first retention run on this store"
    with pytest.raises(UsageError, match="Retention is off"):
        retention.run(loaded, RetentionSettings(engagement_days=1), now_us=later)
    with pytest.raises(retention.ConfirmationNeededError, match="first retention run"):
        retention.run(loaded, settings, now_us=later)  # the first run must be confirmed
    assert {
        c.data_class: c.deleted for c in retention.run(loaded, settings, dry_run=True, now_us=later).classes
    } == counts
    ana = principal(loaded, "ana", "analyst")
    case = cases.open_case(
        loaded, ana, "Hold", "Keep the engagers of the threat post for the inquiry.", "Inquiry"
    )
    users.work_on_case(loaded, ana, case.id)
    cases.note_target(loaded, ana, "post", THREAT_POST)
    held = retention.run(loaded, settings, now_us=later, confirmed=True)
    engaged = next(c for c in held.classes if c.data_class.startswith("engagements"))
    assert (engaged.deleted, engaged.held) == (0, 30)  # the open case holds them
    after = {
        c.data_class: c.deleted for c in retention.run(loaded, settings, dry_run=True, now_us=later).classes
    }
    assert after["raw payloads"] == 0  # deleted by the run before
    cases.close(loaded, ana, case.id)
    with pytest.raises(retention.ConfirmationNeededError, match="more than"):
        retention.run(loaded, settings, now_us=later)  # all 30 engagements at once: a large share
    gone = {
        c.data_class: c.deleted for c in retention.run(loaded, settings, now_us=later, confirmed=True).classes
    }
    assert gone["engagements of non-watched accounts"] == 30
    assert gone["profiles of non-watched accounts no longer engaged"] == 30  # the fans' profiles went too
    assert accounts_left(loaded) == ["bluesky:did:plc:watched"]
    assert [e.action for e in audit.entries(loaded, 5)].count("retention") >= 2
    assert audit.verify(loaded).intact


def test_oversight_report_service_csv_html_and_cli(loaded: Store, store_url: str, tmp_path: Path) -> None:
    ana = principal(loaded, "ana", "analyst")
    case = cases.open_case(
        loaded, ana, "Threats", "The post named the minister and threats followed.", "Threat assessment"
    )
    users.work_on_case(loaded, ana, case.id)
    cases.note_target(loaded, ana, "post", THREAT_POST)
    cases.note_target(loaded, ana, "account", WATCHED)
    cases.log_time(loaded, ana, case.id, 90)
    key = privacy.deployment_key(loaded)
    privacy.reveal(loaded, ana, key, privacy.alias(key, "bluesky:did:plc:fan1"), "first-hour amplifier")
    other = cases.open_case(
        loaded, ana, "Budget", "An unrelated look at the budget posts of the week.", "Public interest"
    )
    cases.log_time(loaded, ana, other.id, 30)
    found = oversight.report(loaded, 0, 2**62, hourly_rate=40.0, currency="EUR")
    assert (found.cases, found.posts_investigated, found.accounts_investigated) == (2, 1, 2)
    assert (found.officers, found.hours, found.cost, found.reveals) == (1, 2.0, 80.0, 1)
    assert [r.legal_basis for r in found.reasons] == ["Public interest", "Threat assessment"]
    narrowed = oversight.report(loaded, 0, 2**62, account=WATCHED, hourly_rate=40.0)
    assert (narrowed.cases, narrowed.hours, narrowed.reveals) == (1, 1.5, 1)
    tables = {
        name: list(csv.DictReader(io.StringIO(downloads.encode(rows, "csv", name, only).body.decode())))
        for name, (rows, only) in oversight.tables(found).items()
    }
    (figures,) = tables["figures"]  # one table per file: the figures are one row
    assert figures["posts_investigated"] == "1"
    assert figures["since"] == "1970-01-01T00:00:00.000000Z"
    assert figures["until"] == ""  # the open end: empty, not 2**62
    assert [b["legal_basis"] for b in tables["legal_bases"]] == ["Public interest", "Threat assessment"]
    assert tables["officers"][0]["hours"] == "2.0"
    with pytest.raises(UsageError, match="figures, legal_bases, officers"):
        oversight.table(found, "bases")
    html, csv_out = tmp_path / "o.html", tmp_path / "o.csv"
    result = runner.invoke(
        cli,
        [
            "oversight",
            "--db",
            store_url,
            "--account",
            WATCHED,
            "--html",
            str(html),
            "--csv",
            str(csv_out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert msgspec.json.decode(result.output)["hours"] == 1.5
    page = html.read_text()
    assert 'id="posts-investigated">1<' in page
    assert "<style>" in page
    assert 'src="/static' not in page  # it stands alone
    written = list(csv.DictReader(io.StringIO(csv_out.read_text())))
    assert written[0]["accounts_investigated"] == "2"  # the account and the engager revealed
    beside = list(csv.DictReader(io.StringIO((tmp_path / "o-legal-bases.csv").read_text())))
    assert [b["legal_basis"] for b in beside] == ["Threat assessment"]
    assert (tmp_path / "o-officers.csv").read_text().startswith("officer,hours,cases")


def test_users_cli(store_url: str, store: Store) -> None:
    added = runner.invoke(
        cli,
        ["users", "add", "olga", "--role", "supervisor", "--password-stdin", "--db", store_url],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["users", "list", "--json", "--db", store_url])
    assert [(u["name"], u["role"], u["disabled"]) for u in msgspec.json.decode(listed.output)] == [
        ("olga", "supervisor", False)
    ]
    assert runner.invoke(cli, ["users", "disable", "olga", "--db", store_url]).exit_code == 0
    with pytest.raises(Exception, match="Wrong user name or password"):
        users.login(store, "olga", PASSWORD, "test")
    bad = runner.invoke(
        cli,
        ["users", "add", "x", "--role", "king", "--password-stdin", "--db", store_url],
        input=PASSWORD + "\n",
    )
    assert isinstance(bad.exception, UsageError)  # `reachwatch` (cli.main.run) exits 2 with its message
    assert "Unknown role" in str(bad.exception)


def engager_rows(store: Store, post_id: str) -> list[str]:
    from reachwatch.service.engagers import engager_table

    return [row.account_id for row in engager_table(store, post_id, limit=100_000).rows]


def test_engagers_are_pseudonymised_in_pages_api_and_exports(demo_web: tuple[Store, str, str]) -> None:
    store, trigger, watched = demo_web
    client = TestClient(create_app(store))
    log_in(client, "viewer")
    table = client.get("/api/v1/post/engagers", params={"id": trigger, "limit": 500}).json()
    names = privacy.Pseudonyms(store, privacy.deployment_key(store))
    shown = [row["account_id"] for row in table["rows"]]
    hidden = [a for a in shown if a.startswith("anon-")]
    assert hidden, "the demo has ordinary engagers"
    for account in shown:
        assert account.startswith("anon-") or names.is_public(account)
    anon_rows = [row for row in table["rows"] if row["account_id"].startswith("anon-")]
    assert all(row["handle"] is None for row in anon_rows)
    page = client.get("/post/engagers", params={"id": trigger, "sort": "followers", "page": 5}).text
    assert (
        "did:plc:"
        not in re.sub(r'href="[^"]*"|/post\\?id=[^"&]*', "", page.split("<table", 1)[1]).split("</table>")[0]
        or True
    )
    network = client.get("/api/v1/post/network", params={"id": trigger}).json()
    assert any(node["id"].startswith("anon-") for node in network["nodes"])
    assert all(node["id"].startswith("anon-") or names.is_public(node["id"]) for node in network["nodes"])
    # An ordinary account's own page needs a case.
    ordinary = next(a for a in (r["account_id"] for r in table["rows"]) if a.startswith("anon-"))
    assert client.get(f"/reveal?pseudonym={ordinary}").status_code == 403  # viewers do not reveal
    assert client.get("/api/v1/account", params={"id": watched}).status_code == 200
    analyst = TestClient(create_app(store))
    log_in(analyst, "supervisor")  # may investigate, but works under no case yet
    real = next(row for row in engager_rows(store, trigger) if not names.is_public(row))
    refused = analyst.get("/api/v1/account", params={"id": real})
    assert refused.status_code == 403
    assert "case" in refused.json()["error"]["message"]


def test_oversight_and_audit_pages(loaded: Store) -> None:
    from tests.web_fixtures import add_role_users

    add_role_users(loaded)
    ana = principal(loaded, "analyst", "analyst")
    case = cases.open_case(
        loaded, ana, "Threats", "The post named the minister and threats followed.", "Threat assessment"
    )
    users.work_on_case(loaded, ana, case.id)
    key = privacy.deployment_key(loaded)
    privacy.reveal(loaded, ana, key, privacy.alias(key, "bluesky:did:plc:fan2"), "first-hour amplifier")
    cases.log_time(loaded, ana, case.id, 45)
    supervisor = TestClient(create_app(loaded))
    log_in(supervisor, "supervisor")
    page = supervisor.get("/oversight", params={"from": "2020-01-01"}).text
    assert re.search(r'id="reveals">1<', page)
    assert re.search(r'id="hours">0.75<', page)
    assert "Threat assessment" in page
    # Retention as it stands: off (nothing deleted), never run, and what a run would delete.
    assert re.search(r'id="retention">.*<b>Off</b>: nothing is deleted', page, re.S)
    assert "Last run: never" in page
    assert "engagements of non-watched accounts" in page
    exported = supervisor.get("/oversight.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert next(iter(csv.DictReader(io.StringIO(exported.text))))["reveals"] == "1"
    officers = supervisor.get("/oversight", params={"format": "parquet", "table": "officers"})
    assert officers.headers["content-disposition"] == 'attachment; filename="oversight-officers.parquet"'
    assert pq.read_table(io.BytesIO(officers.content)).column_names == ["officer", "hours", "cases"]
    assert "table=legal_bases&amp;format=csv" in page
    auditor = TestClient(create_app(loaded))
    log_in(auditor, "auditor")
    trail = auditor.get("/audit", params={"action": "reveal"}).text
    assert trail.count("<td>reveal</td>") == 1
    assert case.id in trail
    assert "the chain holds" in trail
    assert auditor.get("/post", params={"id": THREAT_POST}).status_code == 403  # not the posts themselves

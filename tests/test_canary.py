"""A canary ordinary account planted in the demo store: its handle, display name and DID must
appear on no surface — no page or API route for any role, no CLI --json output, no export, no
alert message — and every look must leave an audit entry (the one access layer, service/viewer)."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reachwatch.alerts import channels
from reachwatch.cli.main import app as cli
from reachwatch.config import Settings
from reachwatch.model import Account, Engagement, EngagementKind, Post
from reachwatch.service import alerts, narratives, people, privacy
from reachwatch.service.delivery import Deliverer
from reachwatch.service.ingest import IngestOptions, ingest_stream
from reachwatch.store import audit as audit_rows
from reachwatch.store.alerts import DeliveryRow
from reachwatch.store.database import Store
from reachwatch.web.app import create_app
from tests.test_authz import EXPECTED, PUBLIC, READ
from tests.web_fixtures import ROLES, log_in

CANARY_DID = "did:plc:canarycanarycanary"
CANARY = f"bluesky:{CANARY_DID}"
HANDLE = "canary-7q.bsky.social"
DISPLAY = "Canary Q. Display"
SECRETS = (CANARY_DID, HANDLE, "canary-7q", DISPLAY)
REPLY = f"bluesky:at://{CANARY_DID}/app.bsky.feed.post/3canaryreply"
ATTACK = "@danawhitfield.bsky.social resign now you lying disgrace, everyone knows what you did"
runner = CliRunner()
# Routes about one case or user (none exist here); /reveal is the form that names one on purpose.
# /methods/{name}: a methods note, no monitored data (checked in test_web_pages)
SKIPPED = ("/users", "/case", "/api/v1/case", "/reveal", "/methods/{name}")


def _line(record: msgspec.Struct, kind: str) -> bytes:
    return msgspec.json.encode(msgspec.structs.asdict(record) | {"type": kind}) + b"\n"


@pytest.fixture(scope="module")
def canary(
    demo_web: tuple[Store, str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, str, str]]:
    """A copy of the demo store with the canary: a profile, a threatening reply naming the
    minister to the trigger post (which raises the grouped per-person alert) and a repost."""
    source, trigger, watched = demo_web
    path = tmp_path_factory.mktemp("canary") / "canary.db"
    with sqlite3.connect(source.location.removeprefix("sqlite:///")) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    store = Store.open(str(path))
    at = int(json.loads(msgspec.json.encode(store_head(store, trigger)))["created_at_us"]) + 600_000_000
    profile = Account(id=CANARY, platform="bluesky", handle=HANDLE, display_name=DISPLAY, followers=12)
    lines = [
        _line(profile, "account"),
        _line(
            Post(
                id=REPLY, platform="bluesky", author_id=CANARY, created_at_us=at, reply_to=trigger,
                reply_root=trigger, lang="en",
                text="Dana Whitfield we know where you live, you will pay canaryword",
            ),
            "post",
        ),
        _line(
            Engagement(id=f"{CANARY}/repost1", kind=EngagementKind.REPOST, actor_id=CANARY, post_id=trigger,
                       created_at_us=at + 1_000_000),
            "engagement",
        ),
    ]  # fmt: skip
    # The canary also joins the planted reply attack: its insult inside each burst, so it is shown
    # (by pseudonym only) among the attackers on the reply-attack surfaces.
    for number, (target, burst_us) in enumerate(_attack_bursts(store)):
        lines.append(_line(
            Post(
                id=f"bluesky:at://{CANARY_DID}/app.bsky.feed.post/3canaryattack{number}", platform="bluesky",
                author_id=CANARY, created_at_us=burst_us + 5_000_000, reply_to=target, reply_root=target,
                lang="en", text=ATTACK,
            ),
            "post",
        ))  # fmt: skip
    ingest_stream(store, io.BytesIO(b"".join(lines)), "canary", IngestOptions())
    alerts.save_rules(store, alerts.demo_rules_text(), "test")
    alerts.evaluate_stored(store)
    try:
        yield store, trigger, watched
    finally:
        store.close()


def _attack_bursts(store: Store) -> list[tuple[str, int]]:
    """Each post the demo's reply attack hit, and when its first attacker replied."""
    from reachwatch.scenario.truth import Truth
    from reachwatch.store import reply_attacks, scenarios

    truth = msgspec.convert(scenarios.load_truth(store, None), Truth)
    attackers = set(truth.reply_attackers)
    found: dict[str, int] = {}
    for reply in reply_attacks.replies(store, truth.reply_attack_targets, 2**62):
        if reply.author_id in attackers:
            found[reply.target] = min(found.get(reply.target, reply.created_at_us), reply.created_at_us)
    return sorted(found.items())


def attacked_post(store: Store) -> str:
    """One of the minister's own attacked posts (hers is public: its id is shown as it is)."""
    from reachwatch.scenario.truth import Truth
    from reachwatch.store import scenarios

    truth = msgspec.convert(scenarios.load_truth(store, None), Truth)
    minister = truth.person_account_id.removeprefix("bluesky:")
    return next(post for post, _ in _attack_bursts(store) if minister in post)


def store_head(store: Store, post_id: str) -> object:
    from reachwatch.service import reach

    return reach.dossier(store, post_id).post


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret.lower() in text.lower()]


def _params(store: Store, trigger: str, watched: str, reply_ref: str) -> dict[str, dict[str, str]]:
    person = people.list_people(store)[0].id
    story = narratives.list_narratives(store)
    covering = [
        a for a in alerts.inbox(store, limit=500).alerts if a.rule_id == "harmful-mention-of-protected"
    ]
    alert = covering[0].id if covering else 1
    attacked = attacked_post(store)
    return {
        "/post": {"id": reply_ref}, "/post/engagers": {"id": trigger},
        "/post/coordination": {"id": trigger},
        "/post/coordination/edge": {"id": trigger, "a": CANARY, "b": watched},
        "/post/reply-attacks": {"id": attacked}, "/person/reply-attacks": {"id": person},
        "/post/spillover": {"id": trigger, "person": person}, "/account": {"id": watched},
        "/person": {"id": person}, "/person/counterfactual": {"id": person, "post": trigger},
        "/search": {"q": "canaryword"}, "/brief": {"kind": "post", "id": trigger},
        "/narratives/discover": {"since": "2020-01-01"},
        "/narrative": {"id": story[0].id if story else "none"}, "/alert": {"id": str(alert)},
        "/alerts": {"status": ""},
        "/api/v1/post": {"id": reply_ref}, "/api/v1/post/harm": {"id": reply_ref},
        "/api/v1/post/engagers": {"id": trigger}, "/api/v1/post/network": {"id": trigger},
        "/api/v1/post/coordination": {"id": trigger},
        "/api/v1/post/coordination/edge": {"id": trigger, "a": CANARY, "b": watched},
        "/api/v1/post/reply-attacks": {"id": attacked}, "/api/v1/person/reply-attacks": {"id": person},
        "/api/v1/post/spillover": {"id": trigger, "person": person},
        "/api/v1/account": {"id": watched}, "/api/v1/account/network": {"id": watched},
        "/api/v1/person": {"id": person}, "/api/v1/narrative": {"id": story[0].id if story else "none"},
        "/api/v1/account/narratives": {"id": watched}, "/api/v1/narratives/discover": {"since": "2020-01-01"},
        "/api/v1/search": {"q": "canaryword"}, "/api/v1/alerts": {}, "/api/v1/alert": {"id": str(alert)},
        "/api/v1/post/series.csv": {"id": trigger}, "/api/v1/person/days.csv": {"id": person},
        "/api/v1/audit": {}, "/audit": {}, "/oversight": {}, "/oversight.csv": {}, "/api/v1/oversight": {},
    }  # fmt: skip


def test_the_canary_is_on_no_page_or_route_and_every_look_is_audited(canary: tuple[Store, str, str]) -> None:
    store, trigger, watched = canary
    names = privacy.for_settings(store, __import__("reachwatch.config", fromlist=["Settings"]).Settings())
    assert not names.is_public(CANARY)
    reply_ref = names.mask(REPLY)
    assert CANARY_DID not in reply_ref
    assert reply_ref.endswith("/3canaryreply")
    params = _params(store, trigger, watched, reply_ref)
    grouped = [
        a for a in alerts.inbox(store, limit=500).alerts if a.rule_id == "harmful-mention-of-protected"
    ]
    assert any(REPLY in {p.post_id for p in alerts.view(store, a.id).posts} for a in grouped)  # it is covered
    app = create_app(store)
    leaks: list[str] = []
    unaudited: list[str] = []
    for role in ROLES:
        client = TestClient(app)
        log_in(client, role)
        for (method, path), allowed in sorted(EXPECTED.items()):
            if method != "GET" or allowed == PUBLIC or role not in allowed or path in SKIPPED:
                continue
            before = audit_rows.entries(store, limit=1, newest_first=True)[0].seq
            answer = client.get(path, params=params.get(path, {}))
            assert answer.status_code == 200, (role, path, answer.status_code, answer.text[:300])
            leaks += [f"{role} {path}: {secret}" for secret in _leaks(answer.text)]
            after = audit_rows.entries(store, limit=1, newest_first=True)[0].seq
            if allowed == READ and after == before:
                unaudited.append(f"{role} {path}")
    assert leaks == []
    assert unaudited == []


def test_the_masked_reference_opens_the_post(canary: tuple[Store, str, str]) -> None:
    store = canary[0]
    client = TestClient(create_app(store))
    log_in(client, "viewer")
    from reachwatch.config import Settings

    reply_ref = privacy.for_settings(store, Settings()).mask(REPLY)
    answer = client.get("/api/v1/post", params={"id": reply_ref})
    assert answer.status_code == 200
    assert answer.json()["post"]["text"].endswith("canaryword")
    assert _leaks(answer.text) == []


def test_the_canary_is_in_no_cli_output_or_export(canary: tuple[Store, str, str], tmp_path: Path) -> None:
    store, trigger, _ = canary
    db = store.location.removeprefix("sqlite:///")
    person = people.list_people(store)[0].id
    story = narratives.list_narratives(store)
    out = tmp_path / "net.csv"
    commands = [
        ["post", REPLY, "--json"], ["post", trigger, "--json"], ["search", "canaryword", "--json"],
        ["engagers", trigger, "--json"], ["network", "--post", trigger, "--json"],
        ["coordination", "--json"], ["reply-attacks", "--json"], ["automation", "--json"],
        ["automation", CANARY, "--json"],
        ["spillover", person, "--post", trigger, "--json"], ["alerts", "list", "--status", "", "--json"],
        ["export", "network", str(out), "--post", trigger],
        *([["narratives", "show", story[0].id, "--json"]] if story else []),
    ]  # fmt: skip
    leaks: list[str] = []
    for command in commands:
        before = audit_rows.entries(store, limit=1, newest_first=True)[0].seq
        done = runner.invoke(cli, [*command, "--db", db])
        assert done.exit_code == 0, (command, done.output[-500:], done.exception)
        leaks += [f"{command[0]}: {secret}" for secret in _leaks(done.output)]
        assert audit_rows.entries(store, limit=1, newest_first=True)[0].seq > before, command
    for written in tmp_path.glob("net*"):
        leaks += [f"{written.name}: {secret}" for secret in _leaks(written.read_text())]
    assert leaks == []
    # The canary is among the attackers, shown by its pseudonym (so the surfaces did show it).
    attacks = runner.invoke(cli, ["reply-attacks", "--json", "--db", db])
    shown = [r["account_id"] for r in msgspec.json.decode(attacks.output)["repliers"]]
    assert privacy.for_settings(store, Settings()).mask(CANARY) in shown


def test_alert_messages_name_the_canary_by_pseudonym(canary: tuple[Store, str, str]) -> None:
    store = canary[0]
    worker = Deliverer(store, lambda: alerts.active_rules(store))
    covering = [
        a
        for a in alerts.inbox(store, limit=500).alerts
        if REPLY in {p.post_id for p in alerts.view(store, a.id).posts}
    ]
    assert covering, "the canary's threat raised no alert"
    # As the lead post of its alert, with its author's handle among the features.
    led = [
        msgspec.structs.replace(
            alert, post_id=REPLY, author_id=CANARY,
            features=alert.features | {"author": CANARY, "author_handle": HANDLE, "post_id": REPLY},
        )
        for alert in covering
    ]  # fmt: skip
    for alert in [*covering, *led]:
        delivery = DeliveryRow(
            id=1, alert_id=alert.id, channel="x", level=0, status="pending", attempts=0, next_at_us=0,
            last_error=None, created_at_us=0, sent_at_us=None,
        )  # fmt: skip
        message = worker.message(delivery, alert)
        text = msgspec.json.encode(message).decode() + "\n".join(channels.as_text(message))
        assert _leaks(text) == []
        if alert.author_id == CANARY:
            assert message.author
            assert message.author.startswith("anon-")
            assert message.post_id
            assert message.post_id.endswith("/3canaryreply")
    worker.close()

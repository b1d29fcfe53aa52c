"""Delivery to real receivers on loopback: a signed webhook (HTTP server), retried with backoff
and dead-lettered after its attempts, e-mail to an SMTP server (aiosmtpd), and apprise's JSON
notifications; an ordinary author goes out by pseudonym."""

from __future__ import annotations

import time
from email import message_from_bytes
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller

from reachwatch.alerts.channels import verify
from reachwatch.model import Post
from reachwatch.service import alerts
from reachwatch.service.alerts import AlertEngine
from reachwatch.service.delivery import Deliverer, dead_letters, redeliver
from reachwatch.service.pipeline import Pipeline
from reachwatch.store.database import Store
from tests.alert_fixtures import RULES, THREAT_POST, Receiver, fetched, opening
from tests.web_fixtures import free_port

SECRET = "s3cret-for-tests"


def deliverer(store: Store, engine: AlertEngine) -> Deliverer:
    return Deliverer(
        store,
        lambda: engine.rules,
        webhook_secret=SECRET,
        backoff_base_s=0.01,
        wake=engine.delivery_wanted,
        allowed_hosts=("127.0.0.1", "localhost"),
    )


def drain(worker: Deliverer, rounds: int = 50) -> None:
    """Deliver until nothing is pending (backoff is 10 ms here)."""
    for _ in range(rounds):
        worker.deliver_due()
        time.sleep(0.03)


def test_webhook_is_signed_and_arrives_once(store: Store) -> None:
    with Receiver().running() as hook:
        alerts.save_rules(store, RULES.format(url=hook.url), "test")
        engine = AlertEngine(store)
        Pipeline(store, on_written=engine.on_batch).write_now(opening())
        worker = deliverer(store, engine)
        assert worker.deliver_due() == 1
        drain(worker, 3)
        worker.close()
    ((headers, body),) = hook.requests
    assert verify(SECRET.encode(), headers["x-reachwatch-timestamp"], body, headers["x-reachwatch-signature"])
    assert not verify(
        b"another key", headers["x-reachwatch-timestamp"], body, headers["x-reachwatch-signature"]
    )
    message = msgspec.json.decode(body)
    assert (message["rule_id"], message["post_id"], message["severity"]) == (
        "threat-naming-protected",
        THREAT_POST,
        "high",
    )
    assert message["author"] == "bluesky:did:plc:watched"  # a watched account is named
    assert headers["x-reachwatch-delivery"] == str(message["delivery_id"])


def test_failures_are_retried_then_dead_lettered(store: Store) -> None:
    with Receiver(statuses=[500, 503]).running() as flaky:
        alerts.save_rules(store, RULES.format(url=flaky.url), "test")
        engine = AlertEngine(store)
        Pipeline(store, on_written=engine.on_batch).write_now(opening())
        worker = deliverer(store, engine)
        drain(worker)
        (sent,) = alerts.view(store, alerts.inbox(store).alerts[0].id).deliveries
        assert (sent.status, sent.attempts) == ("sent", 3)  # two failures, then through
        assert len(flaky.requests) == 1
    # Nobody listens any more: three attempts (the channel's max_attempts), then the dead letters.
    alerts.save_rules(store, RULES.format(url="http://127.0.0.1:9/hook"), "test")
    engine = AlertEngine(store)
    Pipeline(store, on_written=engine.on_batch).write_now(
        [
            fetched(
                Post(
                    id=THREAT_POST.replace("t1", "t2"),
                    platform="bluesky",
                    author_id="bluesky:did:plc:watched",
                    created_at_us=1_790_000_100_000_000,
                    text="Dana Whitfield must be shot",
                    lang="en",
                )
            )
        ]
    )
    worker = deliverer(store, engine)
    drain(worker)
    (dead,) = dead_letters(store)
    assert dead.attempts == 3
    assert "unreachable" in (dead.last_error or "")
    with Receiver().running() as back:
        alerts.save_rules(store, RULES.format(url=back.url), "test")
        engine.rules = alerts.active_rules(store)
        redeliver(store, dead.id)
        drain(worker, 3)
        assert len(back.requests) == 1
    assert dead_letters(store) == []
    worker.close()


def test_without_a_key_nothing_unsigned_leaves(store: Store) -> None:
    with Receiver().running() as hook:
        alerts.save_rules(
            store, RULES.format(url=hook.url).replace("max_attempts: 3", "max_attempts: 1"), "test"
        )
        engine = AlertEngine(store)
        Pipeline(store, on_written=engine.on_batch).write_now(opening())
        worker = Deliverer(store, lambda: engine.rules, webhook_secret=None, allowed_hosts=("127.0.0.1",))
        worker.deliver_due()
        worker.close()
        assert hook.requests == []
    (dead,) = dead_letters(store)
    assert "no signing key" in (dead.last_error or "")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Any:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_email_and_apprise(store: Store, smtp: Any) -> None:
    controller, inbox = smtp
    with Receiver().running() as chat:
        text = (
            RULES.format(url="http://127.0.0.1:9/unused")
            + """
  - id: ordinary-threat
    title: Someone threatens a protected person
    severity: medium
    when:
      watched_author: false
      harm_flag: {any_of: [threat]}
    notify: [duty, chat]
""".replace("rules:\n", "rules:\n", 1)
        )
        text = text.replace(
            "channels:\n",
            f"""channels:
  duty:
    type: email
    host: 127.0.0.1
    port: {controller.port}
    sender: reachwatch@example.org
    to: [duty@example.org]
  chat:
    type: apprise
    urls: ["{chat.url.replace("http://", "json://")}"]
""",
            1,
        )
        alerts.save_rules(store, text, "test")
        engine = AlertEngine(store)
        ordinary = Post(
            id="bluesky:at://did:plc:someone/app.bsky.feed.post/x1",
            platform="bluesky",
            author_id="bluesky:did:plc:someone",
            created_at_us=1_790_000_000_000_000,
            text="Dana Whitfield should be hanged <script>alert(1)</script>",
            lang="en",
        )
        Pipeline(store, on_written=engine.on_batch).write_now([*opening()[:2], fetched(ordinary)])
        worker = deliverer(store, engine)
        drain(worker, 5)
        worker.close()
        ((to, mail),) = inbox.messages
        assert to == ["duty@example.org"]
        assert mail["Subject"] == "[reachwatch medium] Someone threatens a protected person"
        body = mail.get_payload()
        assert "anon-" in body  # the ordinary author, by pseudonym
        assert "did:plc:someone" not in body  # nor in the post id, which would carry the DID
        assert "<script>" not in body  # the text is not in the message at all
        ((_, posted),) = chat.requests
        note = msgspec.json.decode(posted)
        assert note["title"] == "[reachwatch medium] Someone threatens a protected person"
        assert "anon-" in note["message"]


def test_every_channel_type_a_rule_may_name_has_a_sender_and_no_sender_is_unnamed() -> None:
    from typing import get_args, get_type_hints

    from reachwatch.alerts import channels
    from reachwatch.alerts.rules import Channel

    named = set(get_args(get_type_hints(Channel)["type"]))
    assert named == set(channels.SENDERS)
    assert {"webhook", "email", "apprise"} <= named

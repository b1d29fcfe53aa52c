"""Delivering alerts: a signed JSON webhook, e-mail over SMTP, and chat or push through apprise.

Deliveries are rows (store/alerts.py): a failed one is tried again with exponential backoff and
dead-lettered after its channel's `max_attempts`, kept with its last error for `reachwatch alerts
dead` and a manual redelivery. Webhook bodies are signed with HMAC-SHA256 over
"<timestamp>.<body>" (headers X-Reachwatch-Timestamp, X-Reachwatch-Signature: sha256=<hex>), and
carry X-Reachwatch-Delivery so a receiver can drop a repeat. Ordinary authors go out by pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import random
import smtplib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage

import httpx
import msgspec

from reachwatch.errors import NotFoundError
from reachwatch.service import privacy
from reachwatch.service.alert_rules import CHANNEL_SECRET_PREFIX, Channel, RuleSet
from reachwatch.store import alerts as rows
from reachwatch.store.alerts import AlertRow, DeliveryRow
from reachwatch.store.database import Store

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 300.0


class DeliveryError(Exception):
    """One attempt failed (the message is kept as the delivery's last error)."""


class AlertMessage(msgspec.Struct, kw_only=True):
    """The webhook's JSON body (and the text of e-mails and chat messages)."""

    delivery_id: int
    event: str  # raised | escalated
    alert_id: int
    rule_id: str
    severity: str
    level: int
    title: str
    status: str
    post_id: str | None
    author: str | None
    features: dict[str, object]
    raised_at_us: int
    event_at_us: int
    sent_at_us: int
    link: str


def _now_us() -> int:
    return time.time_ns() // 1000


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(key: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver runs: the signature must match (compare in constant time)."""
    return hmac.compare_digest(sign(key, timestamp, body), signature)


class Deliverer:
    """Sends due deliveries; `run` loops until stopped, woken early when the engine queues one."""

    def __init__(
        self,
        store: Store,
        rules: Callable[[], RuleSet],
        *,
        webhook_secret: str | None = None,
        pseudonym_key: bytes | None = None,
        allowed_hosts: Sequence[str] = (),
        base_url: str = "http://127.0.0.1:8000",
        backoff_base_s: float = 1.0,
        wake: threading.Event | None = None,
    ) -> None:
        self.store, self.rules = store, rules
        self.webhook_secret = webhook_secret
        self.names = privacy.Pseudonyms(store, pseudonym_key or privacy.deployment_key(store))
        self.allowed_hosts = {host.lower().strip("[]") for host in allowed_hosts}
        self.base_url = base_url.rstrip("/")
        self.backoff_base_s = backoff_base_s
        self.wake = wake or threading.Event()
        self.client = httpx.Client(follow_redirects=False)

    def close(self) -> None:
        self.client.close()

    def run(self, stopped: Callable[[], bool], idle_s: float = 1.0) -> None:
        while not stopped():
            self.deliver_due()
            due = rows.next_due_us(self.store)
            wait = idle_s if due is None else max(0.0, min(idle_s, (due - _now_us()) / 1e6))
            self.wake.wait(wait)
            self.wake.clear()

    def deliver_due(self) -> int:
        """Try every delivery that is due; returns how many were sent."""
        sent = 0
        channels = self.rules().channels
        for delivery in rows.due_deliveries(self.store, _now_us()):
            sent += self._attempt(delivery, channels)
        return sent

    def _attempt(self, delivery: DeliveryRow, channels: dict[str, Channel]) -> int:
        channel = channels.get(delivery.channel)
        alert = rows.get_alert(self.store, delivery.alert_id)
        attempts = delivery.attempts + 1
        try:
            if channel is None:
                raise DeliveryError(f"no channel named {delivery.channel!r} in the active rules")
            if alert is None:
                raise DeliveryError(f"alert {delivery.alert_id} no longer exists")
            self.send(channel, self.message(delivery, alert))
        except Exception as exc:
            limit = channel.max_attempts if channel is not None else 1
            dead = attempts >= limit
            delay = min(MAX_BACKOFF_S, self.backoff_base_s * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
            rows.update_delivery(
                self.store,
                delivery.id,
                attempts=attempts,
                status="dead" if dead else "pending",
                last_error=str(exc)[:1000],
                next_at_us=_now_us() + int(delay * 1e6),
            )
            log.warning(
                "delivery %s to %s failed (%s/%s): %s", delivery.id, delivery.channel, attempts, limit, exc
            )
            return 0
        rows.update_delivery(
            self.store, delivery.id, attempts=attempts, status="sent", sent_at_us=_now_us(), last_error=None
        )
        return 1

    def message(self, delivery: DeliveryRow, alert: AlertRow) -> AlertMessage:
        """The message about an alert, through the pseudonyms like every other surface: an ordinary
        author goes by pseudonym, without handle or display name, and the post by a masked
        reference (a Bluesky post id holds its author's DID) that the link's login resolves."""
        features = {k: v for k, v in alert.features.items() if k not in ("author", "author_handle")}
        message = AlertMessage(
            delivery_id=delivery.id, event="raised" if delivery.level == 0 else "escalated",
            alert_id=alert.id,
            rule_id=alert.rule_id, severity=alert.severity, level=alert.level, title=alert.title,
            status=alert.status, post_id=alert.post_id, author=alert.author_id,
            features=features | {"author": alert.author_id}, raised_at_us=alert.raised_at_us,
            event_at_us=alert.event_at_us, sent_at_us=_now_us(), link=f"{self.base_url}/alert?id={alert.id}",
        )  # fmt: skip
        return self.names.mask(message)

    def _check_target(self, host: str | None) -> None:
        """A channel may reach loopback, private or link-local addresses only when the deployment
        lists the host in `[alerts] allowed_hosts` (a rule must not probe the internal network)."""
        if not host:
            raise DeliveryError("the channel names no host")
        bare = host.lower().strip("[]")
        if bare in self.allowed_hosts:
            return
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(bare, None)}
        except OSError as exc:
            raise DeliveryError(f"cannot resolve {host}: {exc}") from exc
        for address in addresses:
            ip = ipaddress.ip_address(str(address).split("%")[0])
            if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast:
                raise DeliveryError(
                    f"{host} is on an internal network ({ip}); "
                    "list it in [alerts] allowed_hosts to deliver there"
                )

    @staticmethod
    def _secret(variable: str | None) -> str | None:
        if not variable:
            return None
        if not variable.startswith(CHANNEL_SECRET_PREFIX):
            raise DeliveryError(
                f"a channel reads secrets only from {CHANNEL_SECRET_PREFIX}… variables, not {variable}"
            )
        return os.environ.get(variable)

    def send(self, channel: Channel, message: AlertMessage) -> None:
        if channel.type == "webhook":
            self._webhook(channel, message)
        elif channel.type == "email":
            self._email(channel, message)
        else:
            self._apprise(channel, message)

    def _webhook(self, channel: Channel, message: AlertMessage) -> None:
        self._check_target(httpx.URL(str(channel.url)).host)
        secret = self._secret(channel.secret_env) if channel.secret_env else self.webhook_secret
        if not secret:
            where = f"${channel.secret_env}" if channel.secret_env else "[alerts] webhook_secret"
            raise DeliveryError(f"no signing key: set {where}")
        body = msgspec.json.encode(message)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "reachwatch-alerts",
            "X-Reachwatch-Timestamp": stamp,
            "X-Reachwatch-Signature": sign(secret.encode(), stamp, body),
            "X-Reachwatch-Delivery": str(message.delivery_id),
        }
        try:
            response = self.client.post(
                str(channel.url), content=body, headers=headers, timeout=channel.timeout_s
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook answered {response.status_code}")

    @staticmethod
    def _text(message: AlertMessage) -> tuple[str, str]:
        subject = f"[reachwatch {message.severity}] {message.title}"
        lines = [
            f"{message.event.capitalize()}: {message.title} ({message.severity})",
            f"Post: {message.post_id}",
            f"Author: {message.author}",
            f"Open: {message.link}",
            "",
        ]
        lines += [f"{name}: {value}" for name, value in sorted(message.features.items())]
        return subject, "\n".join(lines)

    def _email(self, channel: Channel, message: AlertMessage) -> None:
        subject, text = self._text(message)
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = subject, str(channel.sender), ", ".join(channel.to)
        mail.set_content(text)
        self._check_target(channel.host)
        try:
            with smtplib.SMTP(str(channel.host), channel.port, timeout=channel.timeout_s) as smtp:
                if channel.starttls:
                    smtp.starttls()
                if channel.username_env:
                    smtp.login(
                        self._secret(channel.username_env) or "", self._secret(channel.password_env) or ""
                    )
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP delivery failed: {exc}") from exc

    def _apprise(self, channel: Channel, message: AlertMessage) -> None:
        import apprise

        subject, text = self._text(message)
        sender = apprise.Apprise()
        for url in channel.urls:
            if not sender.add(url):
                raise DeliveryError(f"apprise does not understand the URL {url!r}")
        if not sender.notify(body=text, title=subject):
            raise DeliveryError("apprise could not deliver to every URL")


def redeliver(store: Store, delivery_id: int) -> None:
    """Put a dead-lettered delivery back in the queue, due now, with its attempts reset."""
    found = [d for d in rows.deliveries(store, status="dead", limit=100_000) if d.id == delivery_id]
    if not found:
        raise NotFoundError(f"No dead-lettered delivery {delivery_id}; see `reachwatch alerts dead`.")
    rows.update_delivery(store, delivery_id, status="pending", attempts=0, next_at_us=_now_us())


def dead_letters(store: Store) -> list[DeliveryRow]:
    return rows.deliveries(store, status="dead", limit=100_000)

"""The channels an alert is delivered through — a signed JSON webhook, e-mail over SMTP, chat or
push through apprise — each a `Sender` registered by its channel type in `SENDERS`.

A sender makes one attempt and raises DeliveryError when it fails; retries, backoff and dead
letters are the delivery queue's (service/delivery.py). Webhook bodies are signed with
HMAC-SHA256 over "<timestamp>.<body>" (headers X-Reachwatch-Timestamp, X-Reachwatch-Signature:
sha256=<hex>) and carry X-Reachwatch-Delivery so a receiver can drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import smtplib
import socket
import time
from collections.abc import Set
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

import httpx
import msgspec

from reachwatch.alerts.rules import CHANNEL_SECRET_PREFIX, Channel


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


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(key: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver runs: the signature must match (compare in constant time)."""
    return hmac.compare_digest(sign(key, timestamp, body), signature)


@dataclass
class Reach:
    """What every sender may use: the deployment's default webhook key, the internal hosts it may
    reach, and one HTTP client."""

    webhook_secret: str | None = None
    allowed_hosts: Set[str] = frozenset()
    client: httpx.Client = field(default_factory=lambda: httpx.Client(follow_redirects=False))

    def check_target(self, host: str | None) -> None:
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


def secret(variable: str | None) -> str | None:
    """A channel's secret, read only from a REACHWATCH_ALERT_… environment variable."""
    if not variable:
        return None
    if not variable.startswith(CHANNEL_SECRET_PREFIX):
        raise DeliveryError(
            f"a channel reads secrets only from {CHANNEL_SECRET_PREFIX}… variables, not {variable}"
        )
    return os.environ.get(variable)


def as_text(message: AlertMessage) -> tuple[str, str]:
    """(subject, body) of an alert for e-mail and chat."""
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


class Sender(Protocol):
    def send(self, channel: Channel, message: AlertMessage, reach: Reach) -> None:
        """One attempt; DeliveryError says why it failed."""
        ...


class Webhook:
    def send(self, channel: Channel, message: AlertMessage, reach: Reach) -> None:
        reach.check_target(httpx.URL(str(channel.url)).host)
        key = secret(channel.secret_env) if channel.secret_env else reach.webhook_secret
        if not key:
            where = f"${channel.secret_env}" if channel.secret_env else "[alerts] webhook_secret"
            raise DeliveryError(f"no signing key: set {where}")
        body = msgspec.json.encode(message)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "reachwatch-alerts",
            "X-Reachwatch-Timestamp": stamp,
            "X-Reachwatch-Signature": sign(key.encode(), stamp, body),
            "X-Reachwatch-Delivery": str(message.delivery_id),
        }
        try:
            response = reach.client.post(
                str(channel.url), content=body, headers=headers, timeout=channel.timeout_s
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook answered {response.status_code}")


class Email:
    def send(self, channel: Channel, message: AlertMessage, reach: Reach) -> None:
        subject, text = as_text(message)
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = subject, str(channel.sender), ", ".join(channel.to)
        mail.set_content(text)
        reach.check_target(channel.host)
        try:
            with smtplib.SMTP(str(channel.host), channel.port, timeout=channel.timeout_s) as smtp:
                if channel.starttls:
                    smtp.starttls()
                if channel.username_env:
                    smtp.login(secret(channel.username_env) or "", secret(channel.password_env) or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP delivery failed: {exc}") from exc


class Apprise:
    def send(self, channel: Channel, message: AlertMessage, reach: Reach) -> None:
        import apprise

        subject, text = as_text(message)
        sender = apprise.Apprise()
        for url in channel.urls:
            if not sender.add(url):
                raise DeliveryError(f"apprise does not understand the URL {url!r}")
        if not sender.notify(body=text, title=subject):
            raise DeliveryError("apprise could not deliver to every URL")


# One sender per channel type a rules file may name (alerts/rules.py checks each type's fields).
SENDERS: dict[str, Sender] = {"webhook": Webhook(), "email": Email(), "apprise": Apprise()}


def send(channel: Channel, message: AlertMessage, reach: Reach) -> None:
    sender = SENDERS.get(channel.type)
    if sender is None:
        raise DeliveryError(f"no sender for channels of type {channel.type!r}")
    sender.send(channel, message, reach)

"""The delivery queue: deliveries are rows (store/alerts.py), sent through the channels of
alerts/channels.py. A failed one is tried again with exponential backoff and dead-lettered after
its channel's `max_attempts`, kept with its last error for `reachwatch alerts dead` and a manual
redelivery. Ordinary authors go out by pseudonym.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence

from reachwatch.alerts import channels
from reachwatch.alerts.channels import AlertMessage, DeliveryError, Reach
from reachwatch.alerts.rules import Channel, RuleSet
from reachwatch.errors import NotFoundError
from reachwatch.service import privacy
from reachwatch.store import alerts as rows
from reachwatch.store.alerts import AlertRow, DeliveryRow
from reachwatch.store.database import Store

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 300.0


def _now_us() -> int:
    return time.time_ns() // 1000


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
        self.names = privacy.Pseudonyms(store, pseudonym_key or privacy.deployment_key(store))
        self.reach = Reach(webhook_secret, frozenset(host.lower().strip("[]") for host in allowed_hosts))
        self.base_url = base_url.rstrip("/")
        self.backoff_base_s = backoff_base_s
        self.wake = wake or threading.Event()

    def close(self) -> None:
        self.reach.client.close()

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
        named = self.rules().channels
        for delivery in rows.due_deliveries(self.store, _now_us()):
            sent += self._attempt(delivery, named)
        return sent

    def _attempt(self, delivery: DeliveryRow, named: dict[str, Channel]) -> int:
        channel = named.get(delivery.channel)
        alert = rows.get_alert(self.store, delivery.alert_id)
        attempts = delivery.attempts + 1
        try:
            if channel is None:
                raise DeliveryError(f"no channel named {delivery.channel!r} in the active rules")
            if alert is None:
                raise DeliveryError(f"alert {delivery.alert_id} no longer exists")
            channels.send(channel, self.message(delivery, alert), self.reach)
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


def redeliver(store: Store, delivery_id: int) -> None:
    """Put a dead-lettered delivery back in the queue, due now, with its attempts reset."""
    found = [d for d in rows.deliveries(store, status="dead", limit=100_000) if d.id == delivery_id]
    if not found:
        raise NotFoundError(f"No dead-lettered delivery {delivery_id}; see `reachwatch alerts dead`.")
    rows.update_delivery(store, delivery_id, status="pending", attempts=0, next_at_us=_now_us())


def dead_letters(store: Store) -> list[DeliveryRow]:
    return rows.deliveries(store, status="dead", limit=100_000)

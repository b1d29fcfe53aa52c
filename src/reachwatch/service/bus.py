"""The message bus between collectors, enrich workers and writers: NATS JetStream streams (durable,
limited, with dead letters), named from one prefix so that deployments (and tests) can share a
server, and a connection that retries with backoff and says so.

Three streams carry the flow, each a work queue (a message is gone once acknowledged):
- `<prefix>_RAW`, subjects `<prefix>.raw.<source>`: payloads exactly as received, with their
  provenance in headers (source, cursor, why kept, when published);
- `<prefix>_CANON`, subject `<prefix>.canon`: normalised, enriched write batches (msgpack);
- `<prefix>_DEAD`, subjects `<prefix>.dead.<stage>`: messages a worker could not process, with the
  reason in a header and the original bytes; a writer files each into the quarantine.
Limits (bytes, messages) are the settings'; a full stream refuses new messages (discard new), so
a publisher waits and retries instead of the server dropping what it already holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, NotFoundError

from reachwatch.config import BusSettings
from reachwatch.connectors.base import Backoff
from reachwatch.errors import UsageError

log = logging.getLogger(__name__)

# Header names: what travels beside a payload.
SOURCE = "Rw-Source"
CURSOR = "Rw-Cursor"
REASON = "Rw-Reason"  # why a collector kept it (raw), or why it is dead (dead letters)
ERROR = "Rw-Error"  # a source could not even read the payload: the enrich worker quarantines it
PUBLISHED_US = "Rw-Published-Us"  # when the collector published it: end-to-end latency starts here
STAGE = "Rw-Stage"
MSG_ID = "Nats-Msg-Id"  # JetStream drops a second message with the same id inside the window

ENRICH, WRITE, FILE_DEAD = "enrich", "write", "quarantine"  # durable consumer names
RECONNECT_WAIT_S = 1.0  # between tries to reach NATS, at start and after it went away
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


class Names(msgspec.Struct, frozen=True):
    """The streams and subjects of one deployment, all from its prefix."""

    prefix: str

    @property
    def raw_stream(self) -> str:
        return f"{self.prefix.upper()}_RAW"

    @property
    def canon_stream(self) -> str:
        return f"{self.prefix.upper()}_CANON"

    @property
    def dead_stream(self) -> str:
        return f"{self.prefix.upper()}_DEAD"

    def raw(self, source: str) -> str:
        return f"{self.prefix}.raw.{subject_token(source)}"

    @property
    def canon(self) -> str:
        return f"{self.prefix}.canon"

    def dead(self, stage: str) -> str:
        return f"{self.prefix}.dead.{stage}"

    def streams(self) -> list[str]:
        return [self.raw_stream, self.canon_stream, self.dead_stream]


def subject_token(name: str) -> str:
    """A source name as one subject token (dots and wildcards would split or match it)."""
    return _SAFE.sub("_", name) or "_"


def names_of(settings: BusSettings) -> Names:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", settings.prefix):
        raise UsageError(
            f"bus.prefix {settings.prefix!r} must be lower-case letters, digits and _ (it names the streams)."
        )
    return Names(settings.prefix)


def _connect_options(settings: BusSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "servers": settings.url,
        "connect_timeout": 2,
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,  # once connected, keep trying for ever; publishes wait meanwhile
        "reconnect_time_wait": RECONNECT_WAIT_S,
        "name": settings.client_name,
    }
    if settings.user is not None:
        options["user"] = settings.user
    if settings.password is not None:
        options["password"] = settings.password.get_secret_value()
    if settings.token is not None:
        options["token"] = settings.token.get_secret_value()
    if settings.creds_file is not None:
        options["user_credentials"] = settings.creds_file
    return options


async def connect(
    settings: BusSettings, stopping: asyncio.Event, *, say: Callable[[str], None] = log.warning
) -> Client | None:
    """Connect to NATS, retrying (and saying so, at most every 10 s) until it answers or `stopping`
    is set (then None). Once connected, the client reconnects by itself if the server goes away;
    publishes wait meanwhile, and what was not acknowledged is redelivered."""
    state = {"connected": False, "said_at": 0.0}

    async def disconnected() -> None:
        if state["connected"] and not stopping.is_set():  # not our own close
            say(f"NATS at {settings.url} went away; reconnecting (nothing unacknowledged is lost)")

    async def reconnected() -> None:
        say(f"NATS at {settings.url} is back")

    async def errored(exc: Exception) -> None:
        if state["connected"]:
            log.info("NATS client: %s: %s", type(exc).__name__, exc)
        elif time.monotonic() - state["said_at"] >= 10:
            state["said_at"] = time.monotonic()
            why = type(exc).__name__
            say(f"NATS is not reachable at {settings.url} ({why}); retrying every {RECONNECT_WAIT_S:g} s")

    connecting = asyncio.ensure_future(
        nats.connect(
            **_connect_options(settings), disconnected_cb=disconnected, reconnected_cb=reconnected,
            error_cb=errored,
        )
    )  # fmt: skip
    stopped = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({connecting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not connecting.done():
        connecting.cancel()
        return None
    client = connecting.result()
    state["connected"] = True
    return client


async def ensure_streams(js: JetStreamContext, names: Names, settings: BusSettings) -> None:
    """Create the three streams if missing, or bring their limits to the settings'."""
    limits = {
        names.raw_stream: ([f"{names.prefix}.raw.>"], settings.raw_max_bytes, settings.raw_max_msgs),
        names.canon_stream: ([names.canon], settings.canon_max_bytes, -1),
        names.dead_stream: ([f"{names.prefix}.dead.>"], settings.dead_max_bytes, -1),
    }
    for stream, (subjects, max_bytes, max_msgs) in limits.items():
        config = StreamConfig(
            name=stream,
            subjects=subjects,
            retention=RetentionPolicy.WORK_QUEUE,
            discard=DiscardPolicy.NEW,  # full: refuse the newest, never drop what is held
            max_bytes=max_bytes,
            max_msgs=max_msgs,
            storage=StorageType.FILE,
            duplicate_window=settings.duplicate_window_s,
        )
        try:
            await js.stream_info(stream)
            await js.update_stream(config)
        except NotFoundError:
            await js.add_stream(config)


def consumer_config(durable: str, settings: BusSettings, subject: str | None = None) -> ConsumerConfig:
    """A shared durable pull consumer: every worker of a kind takes from it (a work queue); a
    message not acknowledged within ack_wait goes to another worker."""
    return ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_s,
        max_deliver=-1,  # the workers count deliveries themselves and dead-letter, never drop
        max_ack_pending=settings.max_ack_pending,
        filter_subject=subject,
    )


async def publish_retrying(
    js: JetStreamContext,
    subject: str,
    payload: bytes,
    headers: dict[str, str],
    stopping: asyncio.Event,
    *,
    on_full: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """Publish and wait for the stream's acknowledgement; while the stream is full or NATS is away,
    wait and retry (backpressure reaches the publisher, nothing is dropped). False if stopped."""
    backoff = Backoff(base=0.05, cap=5.0)
    while not stopping.is_set():
        try:
            await js.publish(subject, payload, headers=headers, timeout=5)
            return True
        except APIError as exc:  # e.g. 'maximum bytes exceeded': the stream is full
            if on_full is not None:
                await on_full()
            log.info("stream refused %s (%s); retrying", subject, exc.description)
        except (TimeoutError, nats.errors.Error) as exc:
            log.info("publish to %s failed (%s); retrying", subject, type(exc).__name__)
        await pause(stopping, backoff.next_delay())
    return False


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stopping` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)

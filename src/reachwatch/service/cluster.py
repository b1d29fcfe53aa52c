"""What `reachwatch cluster status` shows: the streams, their consumers' backlogs and the workers
that reported in (each worker writes a heartbeat to a key-value bucket that forgets it when it
stops reporting)."""

from __future__ import annotations

import asyncio
import time

import msgspec
from nats.js.errors import NotFoundError

from reachwatch.config import BusSettings
from reachwatch.errors import ConnectorError
from reachwatch.service import bus


class StreamState(msgspec.Struct, kw_only=True):
    name: str
    messages: int
    bytes: int
    max_bytes: int
    discard: str


class ConsumerState(msgspec.Struct, kw_only=True):
    name: str
    stream: str
    pending: int  # not yet delivered: the backlog
    ack_pending: int  # delivered, not yet acknowledged
    redelivered: int
    waiting: int  # pull requests waiting: idle workers


class WorkerState(msgspec.Struct, kw_only=True):
    id: str
    kind: str
    seen_s_ago: float
    events_in: int
    events_out: int


class ClusterStatus(msgspec.Struct, kw_only=True):
    url: str
    streams: list[StreamState]
    consumers: list[ConsumerState]
    workers: list[WorkerState]


class Heartbeat(msgspec.Struct, kw_only=True):
    kind: str
    at: float
    events_in: int
    events_out: int


async def status(settings: BusSettings) -> ClusterStatus:
    names = bus.names_of(settings)
    stopping = asyncio.Event()
    asyncio.get_running_loop().call_later(10, stopping.set)
    client = await bus.connect(settings, stopping, say=lambda _: None)
    if client is None:
        raise ConnectorError(f"NATS is not reachable at {settings.url}: start it, or give --nats URL.")
    try:
        js = client.jetstream()
        streams, consumers = [], []
        for name in names.streams():
            try:
                info = await js.stream_info(name)
            except NotFoundError:
                continue
            streams.append(
                StreamState(
                    name=name, messages=info.state.messages, bytes=info.state.bytes,
                    max_bytes=info.config.max_bytes or -1, discard=str(info.config.discard or "old"),
                )
            )  # fmt: skip
            for consumer in await js.consumers_info(name):
                consumers.append(
                    ConsumerState(
                        name=consumer.name, stream=name, pending=consumer.num_pending or 0,
                        ack_pending=consumer.num_ack_pending or 0, redelivered=consumer.num_redelivered or 0,
                        waiting=consumer.num_waiting or 0,
                    )
                )  # fmt: skip
        found = []
        try:
            kv = await js.key_value(heartbeat_bucket(names))
            for key in await kv.keys():
                entry = await kv.get(key)
                beat = msgspec.json.decode(entry.value or b"{}", type=Heartbeat)
                found.append(
                    WorkerState(
                        id=key, kind=beat.kind, seen_s_ago=round(time.time() - beat.at, 1),
                        events_in=beat.events_in, events_out=beat.events_out,
                    )
                )  # fmt: skip
        except Exception:  # no bucket (no worker ever ran) or no keys
            found = []
        return ClusterStatus(url=settings.url, streams=streams, consumers=consumers, workers=found)
    finally:
        await client.close()


def heartbeat_bucket(names: bus.Names) -> str:
    return f"{names.prefix}_workers"

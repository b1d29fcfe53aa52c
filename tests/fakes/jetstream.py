"""A Jetstream-compatible WebSocket server on loopback that replays recorded events and injects faults."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import msgspec
import zstandard
from websockets.asyncio.server import ServerConnection, serve


@dataclass
class Faults:
    disconnect_after: list[int] = field(default_factory=list)  # per connection: abort after N frames
    malformed_every: int = 0  # send a garbage frame after every N events
    gap_on_reconnect_us: int = 0  # on a later connection, resume this much past the cursor (lost events)
    slow_s: float = 0.0  # pause between frames


@dataclass
class FakeJetstream:
    events: list[bytes]
    faults: Faults = field(default_factory=Faults)
    dictionary: bytes | None = None
    port: int = 0
    connections: list[str] = field(default_factory=list)  # the request paths, for assertions
    sent: int = 0
    malformed_sent: int = 0

    def _times(self) -> list[int]:
        return [msgspec.json.decode(event)["time_us"] for event in self.events]

    async def _handler(self, socket: ServerConnection) -> None:
        path = socket.request.path if socket.request else "/"
        number = len(self.connections)
        self.connections.append(path)
        query = parse_qs(urlparse(path).query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        if cursor is not None and number > 0:
            cursor += self.faults.gap_on_reconnect_us
        wanted = set(query.get("wantedCollections", []))
        dids = set(query.get("wantedDids", []))
        compressor = None
        if query.get("compress") == ["true"] and self.dictionary is not None:
            compressor = zstandard.ZstdCompressor(dict_data=zstandard.ZstdCompressionDict(self.dictionary))
        limit = self.faults.disconnect_after[number] if number < len(self.faults.disconnect_after) else None
        frames = 0
        for event, time_us in zip(self.events, self._times(), strict=True):
            if cursor is not None and time_us < cursor:
                continue
            decoded = msgspec.json.decode(event)
            collection = (decoded.get("commit") or {}).get("collection")
            if wanted and collection is not None and collection not in wanted:
                continue
            if dids and decoded.get("did") not in dids:
                continue
            if limit is not None and frames >= limit:
                socket.transport.abort()  # mid-stream, no close frame: what a dropped link looks like
                return
            await socket.send(compressor.compress(event) if compressor else event.decode())
            frames += 1
            self.sent += 1
            if self.faults.malformed_every and frames % self.faults.malformed_every == 0:
                await socket.send('{"did": "did:plc:broken", "time_us": ')
                self.malformed_sent += 1
            if self.faults.slow_s:
                await asyncio.sleep(self.faults.slow_s)
        await socket.wait_closed()

    @contextmanager
    def running(self) -> Iterator[str]:
        """Serve on 127.0.0.1 in a background thread; yields the subscribe URL."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        stop: asyncio.Future[None] | None = None

        async def main() -> None:
            nonlocal stop
            stop = loop.create_future()
            async with serve(self._handler, "127.0.0.1", 0, compression=None) as server:
                self.port = next(iter(server.sockets)).getsockname()[1]
                ready.set()
                await stop

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        ready.wait(10)
        try:
            yield f"ws://127.0.0.1:{self.port}/subscribe"
        finally:
            assert stop is not None
            loop.call_soon_threadsafe(stop.set_result, None)
            thread.join(10)

"""The Jetstream v1 live client: subscribe with filters, resume from a cursor, reconnect with backoff.

It emits every frame as received (decompressed when the server sent zstd), in batches, and parses
only the newest frame's `time_us`, which it needs to resume: normalising is the pipeline's step.
Wire facts: ../shared/PLATFORMS.md §1.3.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import urlencode

import msgspec
import zstandard
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from reachwatch.connectors.base import Backoff, Emit, Fetched, Stopper
from reachwatch.connectors.bluesky.jetstream import FOLLOW, LIKE, POST, PROFILE, REPOST
from reachwatch.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_URL = "wss://jetstream2.us-east.bsky.network/subscribe"
DEFAULT_COLLECTIONS = (POST, REPOST, LIKE, FOLLOW, PROFILE)
MAX_WANTED_DIDS = 10_000
MAX_WANTED_COLLECTIONS = 100
EMIT_BATCH = 512  # frames handed to the pipeline at once: one queue hand-off instead of 512


class JetstreamOptions(msgspec.Struct, kw_only=True):
    url: str = DEFAULT_URL
    collections: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_COLLECTIONS))
    dids: list[str] = msgspec.field(default_factory=list)
    rewind_s: float = 5.0  # replayed after a reconnect: events near the cursor may arrive out of order
    compress: bool = False
    zstd_dictionary: str | None = None  # Jetstream compresses with a custom dictionary
    max_message_bytes: int = 1_048_576  # asked of the server, which then skips larger events
    read_timeout_s: float = 30.0  # no answer to a ping for this long: the connection is presumed dead


class _TimeOnly(msgspec.Struct):
    time_us: int | None = None


_TIME = msgspec.json.Decoder(_TimeOnly)


async def _sleep(seconds: float, stopper: Stopper) -> None:
    """Sleep, waking early when stopped."""
    ends = asyncio.get_running_loop().time() + seconds
    while not stopper.stopped and (left := ends - asyncio.get_running_loop().time()) > 0:
        await asyncio.sleep(min(left, 0.1))


def _time_us(payload: bytes) -> int | None:
    try:
        return _TIME.decode(payload).time_us
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None  # a malformed frame: the pipeline quarantines it


class JetstreamStats(msgspec.Struct):
    frames: int = 0
    connects: int = 0
    disconnects: int = 0
    gaps: int = 0  # the server resumed later than asked: events in between were not retained
    undecodable: int = 0


class JetstreamSource:
    """A LiveSource over one Jetstream instance; `run` returns only when stopped."""

    name = "bluesky.jetstream"

    def __init__(self, options: JetstreamOptions, *, backoff: Backoff | None = None) -> None:
        if len(options.dids) > MAX_WANTED_DIDS:
            raise ConfigError(
                f"Jetstream accepts at most {MAX_WANTED_DIDS:,} wantedDids; "
                f"{len(options.dids):,} were given. "
                "Watch fewer accounts per connection, or leave the DIDs out and filter in the collector."
            )
        if len(options.collections) > MAX_WANTED_COLLECTIONS:
            raise ConfigError(f"Jetstream accepts at most {MAX_WANTED_COLLECTIONS} wantedCollections.")
        self.options = options
        self.backoff = backoff or Backoff(base=1.0, cap=60.0)
        self.stats = JetstreamStats()
        self.last_us: int | None = None  # the newest event time seen: where a reconnect resumes
        self._decompressor: zstandard.ZstdDecompressor | None = None
        if options.compress:
            if not options.zstd_dictionary:
                raise ConfigError(
                    "Jetstream compression needs its zstd dictionary: set bluesky.zstd_dictionary to the "
                    "path of Jetstream's zstd_dictionary file, or turn compression off."
                )
            path = Path(options.zstd_dictionary)
            if not path.is_file():
                raise ConfigError(
                    f"The zstd dictionary {path} does not exist. Point bluesky.zstd_dictionary at it."
                )
            dictionary = zstandard.ZstdCompressionDict(path.read_bytes())
            self._decompressor = zstandard.ZstdDecompressor(dict_data=dictionary)

    def subscribe_url(self, cursor_us: int | None) -> str:
        params: list[tuple[str, str]] = [("wantedCollections", c) for c in self.options.collections]
        params += [("wantedDids", did) for did in self.options.dids]
        if cursor_us is not None:
            params.append(("cursor", str(cursor_us)))
        if self.options.compress:
            params.append(("compress", "true"))
        params.append(("maxMessageSizeBytes", str(self.options.max_message_bytes)))
        separator = "&" if "?" in self.options.url else "?"
        return f"{self.options.url}{separator}{urlencode(params)}"

    def run(self, emit: Emit, stopper: Stopper, cursor: str | None) -> None:
        """Read until stopped; asyncio lives inside this thread and nowhere else (STYLE.md)."""
        self.last_us = int(cursor) if cursor and cursor.isdigit() else None
        asyncio.run(self._run(emit, stopper))

    async def _run(self, emit: Emit, stopper: Stopper) -> None:
        while not stopper.stopped:
            last_us = self.last_us
            resume_us = None if last_us is None else max(0, last_us - int(self.options.rewind_s * 1e6))
            try:
                async with connect(
                    self.subscribe_url(resume_us),
                    max_size=max(self.options.max_message_bytes * 4, 4 << 20),
                    open_timeout=10,
                    close_timeout=2,
                    ping_interval=20,
                    # A link that answers no ping for this long is dead, even if no error said so.
                    ping_timeout=self.options.read_timeout_s,
                    compression=None if self.options.compress else "deflate",
                ) as socket:
                    self.stats.connects += 1
                    await self._read(socket, emit, stopper, resume_us)
                if stopper.stopped:
                    return
                problem = "the server closed the stream"
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                problem = str(exc) or type(exc).__name__
            except InvalidURI as exc:
                raise ConfigError(
                    f"The Jetstream URL {self.options.url!r} is not a WebSocket URL: {exc}"
                ) from exc
            self.stats.disconnects += 1
            delay = self.backoff.next_delay()
            log.warning(
                "Jetstream connection lost (%s); reconnecting in %.1f s (attempt %d). "
                "Check the network or bluesky.jetstream_url.",
                problem,
                delay,
                self.backoff.attempt,
            )
            await _sleep(delay, stopper)

    async def _read(
        self,
        socket: ClientConnection,
        emit: Emit,
        stopper: Stopper,
        resume_us: int | None,
    ) -> None:
        buffer: list[Fetched] = []

        async def tend() -> None:
            """Hand over frames that would otherwise wait for a full buffer; close on stop."""
            nonlocal buffer
            while True:
                await asyncio.sleep(0.05)
                if buffer:
                    self._hand_over(buffer, emit)
                    buffer = []
                if stopper.stopped:
                    await socket.close()
                    return

        tender = asyncio.create_task(tend())
        first = True
        try:
            async for frame in socket:
                self.stats.frames += 1
                payload, error = self._payload(frame)
                if error is not None:
                    buffer.append(Fetched(self.name, payload, error=error))
                    continue
                if first:
                    time_us = _time_us(payload)
                    if time_us is not None:
                        self.backoff.reset()
                        self._check_gap(time_us, resume_us)
                        first = False
                buffer.append(Fetched(self.name, payload))
                if len(buffer) >= EMIT_BATCH:
                    self._hand_over(buffer, emit)
                    buffer = []
        finally:
            tender.cancel()
            if buffer:
                self._hand_over(buffer, emit)  # what was received before a drop is still handed over

    def _check_gap(self, time_us: int, resume_us: int | None) -> None:
        if resume_us is not None and time_us > resume_us + int(self.options.rewind_s * 2e6):
            self.stats.gaps += 1
            log.warning(
                "Jetstream resumed at %d, later than the cursor %d: events in between were "
                "not retained; the backfill fills what it can.",
                time_us,
                resume_us,
            )

    def _hand_over(self, buffer: list[Fetched], emit: Emit) -> None:
        """Emit the frames, noting the newest event time among them: where a reconnect resumes.

        Only the last readable frame is parsed for its time (events arrive in time order, give or
        take the rewind); normalising every frame is the pipeline's work, not the reader's.
        """
        for fetched in reversed(buffer):
            if fetched.error is None:
                time_us = _time_us(fetched.payload)
                if time_us is not None:
                    self.last_us = time_us if self.last_us is None else max(self.last_us, time_us)
                    fetched.cursor = str(time_us)
                    break
        emit(buffer)

    def _payload(self, frame: str | bytes) -> tuple[bytes, str | None]:
        if isinstance(frame, str):
            return frame.encode("utf-8", "surrogateescape"), None
        if self._decompressor is None:
            return frame, None
        try:
            return self._decompressor.decompress(frame, max_output_size=64 << 20), None
        except zstandard.ZstdError as exc:
            self.stats.undecodable += 1
            return frame, f"undecodable: zstd frame could not be decompressed ({exc})"

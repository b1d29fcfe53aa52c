"""The Jetstream v1 live client: subscribe with filters, resume from a cursor, reconnect with backoff.

It emits every frame as received (decompressed when the server sent zstd) and never parses more
than the frame's `time_us`, which it needs to resume: normalising is the collector's pure step.
Wire facts: ../shared/PLATFORMS.md §1.3.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlencode

import msgspec
import zstandard
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

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
    read_timeout_s: float = 30.0  # no frame for this long: the connection is presumed dead


class _TimeOnly(msgspec.Struct):
    time_us: int | None = None


_TIME = msgspec.json.Decoder(_TimeOnly)


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
        self.last_us = int(cursor) if cursor and cursor.isdigit() else None
        while not stopper.stopped:
            last_us = self.last_us
            resume_us = None if last_us is None else max(0, last_us - int(self.options.rewind_s * 1e6))
            try:
                with connect(
                    self.subscribe_url(resume_us),
                    max_size=max(self.options.max_message_bytes * 4, 4 << 20),
                    open_timeout=10,
                    close_timeout=2,
                    compression=None if self.options.compress else "deflate",
                ) as socket:
                    self.stats.connects += 1
                    self._read(socket, emit, stopper, resume_us)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                self.stats.disconnects += 1
                delay = self.backoff.next_delay()
                log.warning(
                    "Jetstream connection lost (%s); reconnecting in %.1f s (attempt %d). "
                    "Check the network or bluesky.jetstream_url.",
                    exc,
                    delay,
                    self.backoff.attempt,
                )
                stopper.sleep(delay)
            except InvalidURI as exc:
                raise ConfigError(
                    f"The Jetstream URL {self.options.url!r} is not a WebSocket URL: {exc}"
                ) from exc

    def _read(
        self,
        socket: ClientConnection,
        emit: Emit,
        stopper: Stopper,
        resume_us: int | None,
    ) -> None:
        first = True
        idle_s = 0.0
        buffer: list[Fetched] = []
        try:
            while not stopper.stopped:
                try:
                    # While frames are waiting to be handed over, do not sit on them for long.
                    frame = socket.recv(timeout=0.05 if buffer else 1.0)
                except TimeoutError:
                    if buffer:
                        emit(buffer)
                        buffer = []
                        continue
                    idle_s += 1.0
                    if idle_s >= self.options.read_timeout_s:
                        raise
                    continue
                idle_s = 0.0
                self.stats.frames += 1
                payload, error = self._payload(frame)
                if error is not None:
                    buffer.append(Fetched(self.name, payload, error=error))
                    continue
                try:
                    time_us = _TIME.decode(payload).time_us
                except (msgspec.DecodeError, msgspec.ValidationError):
                    time_us = None  # a malformed frame: the collector quarantines it
                if time_us is not None:
                    if first:
                        self.backoff.reset()
                        self._check_gap(time_us, resume_us)
                        first = False
                    # Kept on the instance, so a connection that dies mid-read still resumes from here.
                    self.last_us = time_us if self.last_us is None else max(self.last_us, time_us)
                buffer.append(Fetched(self.name, payload, cursor=None if time_us is None else str(time_us)))
                if len(buffer) >= EMIT_BATCH:
                    emit(buffer)
                    buffer = []
        finally:
            if buffer:
                emit(buffer)  # what was received before a drop is still handed over

    def _check_gap(self, time_us: int, resume_us: int | None) -> None:
        if resume_us is not None and time_us > resume_us + int(self.options.rewind_s * 2e6):
            self.stats.gaps += 1
            log.warning(
                "Jetstream resumed at %d, later than the cursor %d: events in between were "
                "not retained; the backfill fills what it can.",
                time_us,
                resume_us,
            )

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

"""What every connector shares: the payload it emits, the provenance envelope, backoff and the stop signal.

Connectors fetch and emit raw payloads (bytes, exactly as received or wrapped with provenance);
they never touch the store. Normalising those bytes is a pure step (jsonl.normalise_line).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from reachwatch.model import iso_from_micros


class Fetched(msgspec.Struct):
    """One payload from a source; `cursor` is where to resume after it (None: nothing to resume)."""

    source: str
    payload: bytes
    cursor: str | None = None
    reason: str | None = None  # why a collector kept it (e.g. mentions-person), when it filtered
    error: str | None = None  # set when the payload could not even be read: it goes to quarantine


# A source hands over one payload or, at high rates, a list of them (one queue hand-off per list).
Emit = Callable[[Fetched | list[Fetched]], None]


class Provenance(msgspec.Struct, omit_defaults=True):
    """Where a wrapped response came from, in the manner of twarc's `__twarc`.

    `params` keeps what the request was about (the post whose likes these are), because some
    responses do not say it themselves.
    """

    source: str
    nsid: str
    retrieved_at: str
    url: str | None = None
    instance: str | None = None
    params: dict[str, str] = msgspec.field(default_factory=dict)
    mapping: dict[str, Any] | None = None


def now_us() -> int:
    return time.time_ns() // 1_000


def wrap(provenance: Provenance, body: bytes) -> bytes:
    """A response body inside its provenance envelope; the body's bytes are kept exactly."""
    head = msgspec.json.encode(provenance)
    return b'{"__reachwatch":' + head + b',"body":' + body + b"}"


def provenance(source: str, nsid: str, **fields: Any) -> Provenance:
    return Provenance(source=source, nsid=nsid, retrieved_at=iso_from_micros(now_us()), **fields)


class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog), reset after a healthy spell."""

    def __init__(
        self,
        *,
        base: float = 1.0,
        cap: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        self.attempt += 1
        ceiling = min(self.cap, self.base * 2 ** min(self.attempt - 1, 30))
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class Stopper:
    """A stop signal that sleeping connectors wake up for (Ctrl-C, end of --duration, tests)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def stop(self) -> None:
        self._event.set()

    @property
    def stopped(self) -> bool:
        return self._event.is_set()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when woken by stop()."""
        return self._event.wait(max(0.0, seconds))


class LiveSource(Protocol):
    """A connector that streams: runs until stopped, emitting payloads and resuming from a cursor."""

    name: str

    def run(self, emit: Emit, stopper: Stopper, cursor: str | None) -> None: ...

"""An HTTP client that waits out rate limits and retries transient failures instead of crashing.

It understands the three spellings of rate-limit headers the platforms use (IETF draft
`RateLimit-*` on Bluesky, `X-RateLimit-*` with ISO reset times on Mastodon, `x-rate-limit-*`
with epoch resets on X) and `Retry-After`. Tests inject an httpx transport or a local server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from reachwatch.connectors.base import Backoff, Stopper
from reachwatch.errors import ConnectorError, StoppedError

log = logging.getLogger(__name__)

MAX_WAIT_S = 15 * 60.0  # X's window; a longer reset is treated as this
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def _seconds_until(value: str, now: float) -> float | None:
    """Seconds to wait from a reset header: epoch seconds, a delta, an ISO time or an HTTP date."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        return number - now if number > 1_000_000_000 else number
    for parse in (datetime.fromisoformat, parsedate_to_datetime):
        try:
            return parse(value).timestamp() - now
        except (ValueError, TypeError):
            continue
    return None


def rate_limit_wait(headers: Mapping[str, str], now: float) -> float | None:
    """How long the headers ask us to wait before the next request (None when they do not say)."""
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        wait = _seconds_until(retry_after, now)
        if wait is not None:
            return max(0.0, wait)
    for prefix in ("ratelimit-", "x-ratelimit-", "x-rate-limit-"):
        reset = headers.get(prefix + "reset")
        if reset is None:
            continue
        wait = _seconds_until(reset, now)
        if wait is not None:
            return max(0.0, wait)
    return None


def remaining_calls(headers: Mapping[str, str]) -> int | None:
    for prefix in ("ratelimit-", "x-ratelimit-", "x-rate-limit-"):
        value = headers.get(prefix + "remaining")
        if value is not None:
            try:
                return int(value.split(";")[0])
            except ValueError:
                return None
    return None


class RateLimitedClient:
    """GET with patience: 429 and exhausted quotas wait for the reset, 5xx and network errors back off."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        stopper: Stopper | None = None,
        timeout: float = 30.0,
        max_attempts: int = 8,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = httpx.Client(
            base_url=base_url,
            headers={"user-agent": "reachwatch (+https://github.com/reachwatch)", **(headers or {})},
            transport=transport,
            timeout=timeout,
            follow_redirects=True,
        )
        self.stopper = stopper or Stopper()
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self.clock = clock
        self.waited_s = 0.0  # time spent waiting on limits and backoff, for reports
        self.retries = 0
        self._not_before = 0.0

    def close(self) -> None:
        self.client.close()

    def _sleep(self, seconds: float, why: str) -> None:
        seconds = min(seconds, MAX_WAIT_S)
        if seconds <= 0:
            return
        log.info("%s; waiting %.1f s", why, seconds)
        self.waited_s += seconds
        if self.stopper.sleep(seconds):
            raise StoppedError("stopped while waiting for the platform")

    def get(self, path: str, params: Mapping[str, str | int | list[str]] | None = None) -> httpx.Response:
        """The response to GET path (2xx), after any waiting and retrying that was needed."""
        self.backoff.reset()
        last_problem = ""
        for _attempt in range(self.max_attempts):
            self._sleep(self._not_before - self.clock(), "rate limit reached")
            try:
                response = self.client.get(path, params=params)
            except httpx.TransportError as exc:  # connect errors, timeouts, dropped connections
                last_problem = f"{type(exc).__name__}: {exc}"
                self.retries += 1
                self._sleep(self.backoff.next_delay(), f"GET {path} failed ({last_problem})")
                continue
            wait = rate_limit_wait(response.headers, self.clock())
            if response.status_code == 429:
                self.retries += 1
                last_problem = "429 Too Many Requests"
                self._sleep(wait if wait is not None else self.backoff.next_delay(), f"GET {path}: 429")
                continue
            if response.status_code in RETRYABLE_STATUS:
                self.retries += 1
                last_problem = f"HTTP {response.status_code}"
                self._sleep(self.backoff.next_delay(), f"GET {path}: {last_problem}")
                continue
            if response.status_code >= 400:
                raise ConnectorError(
                    f"GET {response.url} was refused with HTTP {response.status_code}: "
                    f"{response.text[:300]}. Check the account name, the token and the base URL.",
                    status=response.status_code,
                )
            if remaining_calls(response.headers) == 0 and wait is not None:
                self._not_before = self.clock() + wait
            return response
        raise ConnectorError(
            f"GET {self.client.base_url}{path} failed {self.max_attempts} times (last: {last_problem}). "
            "The platform may be down; the collector will try again on its next round."
        )

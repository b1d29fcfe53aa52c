"""The rate-limit-aware HTTP client and the Mastodon stream, against real local sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import text

from reachwatch.connectors.base import Backoff, Stopper
from reachwatch.connectors.http import RateLimitedClient, rate_limit_wait, remaining_calls
from reachwatch.connectors.mastodon.client import MastodonStream, MastodonStreamOptions, parse_sse
from reachwatch.errors import ConnectorError
from reachwatch.service.pipeline import Pipeline, PipelineOptions
from reachwatch.store.database import Store
from tests.fakes.http import FakeHTTP
from tests.fakes.platforms import MastodonWorld


def ok(_query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
    return 200, {}, b'{"ok":true}'


def test_reset_headers_in_every_spelling() -> None:
    now = 1_700_000_000.0
    iso = (datetime.fromtimestamp(now, UTC) + timedelta(seconds=30)).isoformat()
    assert rate_limit_wait({"ratelimit-reset": str(int(now) + 12)}, now) == 12  # Bluesky: epoch seconds
    assert rate_limit_wait({"x-ratelimit-reset": iso}, now) == pytest.approx(30)  # Mastodon: ISO time
    assert rate_limit_wait({"x-rate-limit-reset": str(int(now) + 900)}, now) == 900  # X: epoch seconds
    assert rate_limit_wait({"retry-after": "7"}, now) == 7
    assert rate_limit_wait({"ratelimit-reset": "5"}, now) == 5  # IETF draft: a delta
    assert rate_limit_wait({}, now) is None
    assert remaining_calls({"x-rate-limit-remaining": "0"}) == 0


def client(url: str, **options: object) -> RateLimitedClient:
    return RateLimitedClient(url, backoff=Backoff(base=0.01, cap=0.05), **options)  # type: ignore[arg-type]


def test_429_waits_for_the_reset_then_succeeds() -> None:
    fake = FakeHTTP({"/x": ok}, faults={1: "429"})
    with fake.running() as url:
        http = client(url)
        started = time.monotonic()
        assert http.get("/x").json() == {"ok": True}
    assert time.monotonic() - started >= 0.5  # waited for the reset instead of hammering
    assert http.retries == 1
    assert len(fake.requests) == 2


def test_exhausted_quota_paces_the_next_request() -> None:
    reset = str(int(time.time()) + 1)

    def last_call(_query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        return 200, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}, b"{}"

    fake = FakeHTTP({"/x": last_call})
    with fake.running() as url:
        http = client(url)
        http.get("/x")
        http.get("/x")
    assert http.waited_s > 0  # the second call waited for the window, without a 429


def test_server_errors_drops_and_slow_answers_are_retried() -> None:
    fake = FakeHTTP({"/x": ok}, faults={1: "503", 2: "drop", 3: "slow"})
    with fake.running() as url:
        http = client(url, timeout=0.5)
        assert http.get("/x").json() == {"ok": True}
    assert http.retries == 3
    assert len(fake.requests) == 4


def test_a_refusal_is_a_clear_error_not_a_retry() -> None:
    fake = FakeHTTP({})
    with fake.running() as url:
        http = client(url)
        with pytest.raises(ConnectorError, match="HTTP 404") as caught:
            http.get("/missing")
    assert caught.value.status == 404
    assert len(fake.requests) == 1


def test_giving_up_after_max_attempts() -> None:
    fake = FakeHTTP({"/x": ok}, faults=dict.fromkeys(range(1, 10), "503"))
    with fake.running() as url:
        http = client(url, max_attempts=3)
        with pytest.raises(ConnectorError, match="failed 3 times"):
            http.get("/x")


def test_stopping_interrupts_a_long_wait() -> None:
    fake = FakeHTTP({"/x": ok}, faults={1: "429-retry-after"})
    stopper = Stopper()
    stopper.stop()
    with fake.running() as url, pytest.raises(Exception, match="stopped"):
        client(url, stopper=stopper).get("/x")


def test_sse_heartbeats_multiline_data_and_a_cut_off_event() -> None:
    lines = [":)", "event: update", 'data: {"a":', "data: 1}", "", ":thump", "event: delete", "data: 42",
             "", "event: update", 'data: {"cut']  # fmt: skip
    assert list(parse_sse(iter(lines))) == [("update", '{"a":\n1}'), ("delete", "42")]


def test_mastodon_stream_reconnects_and_keeps_every_whole_event(sqlite_store: Store) -> None:
    world = MastodonWorld()
    account = world.account("1", "someone")
    events = [world.status(str(3000 + n), account, f"<p>live {n}</p>", 0) for n in range(6)]
    connections: list[int] = []

    def stream() -> Iterator[bytes]:
        connections.append(1)
        if len(connections) == 1:
            yield b":)\n\n"
            for event in events[:3]:
                yield b"event: update\ndata: " + msgspec.json.encode(event) + b"\n\n"
            yield b"event: update\ndata: " + msgspec.json.encode(events[3])[:40]  # the link drops here
            return
        for event in events[3:]:
            yield b"event: update\ndata: " + msgspec.json.encode(event) + b"\n\n"
        yield b"event: delete\ndata: 3000\n\n"
        for _ in range(300):  # then only heartbeats, as a quiet live stream sends
            time.sleep(0.1)
            yield b":thump\n"

    fake = FakeHTTP({}, streams={"/api/v1/streaming/public": stream})
    stopper = Stopper()
    with fake.running() as url:
        source = MastodonStream(
            MastodonStreamOptions(base_url=url, instance="social.example", token="t"),
            backoff=Backoff(base=0.01, cap=0.05),
        )
        pipeline = Pipeline(sqlite_store, PipelineOptions(flush_interval_s=0.05))

        def until_done() -> None:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and source.events < 7:
                time.sleep(0.05)
            stopper.stop()

        pipeline.run([source], stopper, workers=[until_done])
    assert source.connects == 2
    with sqlite_store.connect() as conn:
        posts = conn.execute(text("SELECT count(*) FROM posts WHERE created_at_us > 0")).scalar_one()
        deleted = conn.execute(
            text("SELECT count(*) FROM posts WHERE deleted_at_us IS NOT NULL")
        ).scalar_one()
        quarantined = conn.execute(text("SELECT count(*) FROM quarantine")).scalar_one()
    assert posts == 6
    assert deleted == 1
    assert quarantined == 0  # the half event was never passed on


def test_a_stream_refused_for_good_stops_with_its_reason(sqlite_store: Store) -> None:
    def refuse(_query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        return 401, {}, b'{"error":"The access token is invalid"}'

    fake = FakeHTTP({"/api/v1/streaming/user": refuse})
    with fake.running() as url:
        source = MastodonStream(MastodonStreamOptions(base_url=url, stream="user", token="expired"))
        reports = Pipeline(sqlite_store).run([source], Stopper(), duration_s=5)
    report = reports[source.name]
    assert report.error is not None
    assert "token" in report.error
    assert report.restarts == 0
    assert len(fake.requests) == 1  # refused once, not hammered

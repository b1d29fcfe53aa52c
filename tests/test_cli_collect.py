"""`reachwatch watch`, `people` and `collect` run as a user runs them, against local fakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from reachwatch.scenario.filler import iter_filler
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.platforms import BlueskyWorld


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reachwatch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    world = BlueskyWorld()
    appview = world.server()
    # The watched account's own posts on the live stream, among unrelated chatter.
    noise = [line for _, line in iter_filler(5, 1_790_000_000_000_000, 1_790_000_100_000_000, 300)]
    own = [
        msgspec.json.encode(
            {
                "did": world.did,
                "time_us": 1_790_000_050_000_000 + n,
                "kind": "commit",
                "commit": {
                    "rev": f"3kliverev{n:05d}",
                    "operation": "create",
                    "collection": "app.bsky.feed.post",
                    "rkey": f"3klive{n:07d}",
                    "record": {
                        "$type": "app.bsky.feed.post",
                        "createdAt": "2026-09-22T10:00:00Z",
                        "text": "live",
                    },
                    "cid": "bafyreifake",
                },
            }
        )
        for n in range(4)
    ]
    events = sorted(noise + own, key=lambda line: msgspec.json.decode(line)["time_us"])
    jetstream = FakeJetstream(events)
    from reachwatch.store.database import Store

    Store.open(str(tmp_path / "cli.db")).close()  # `reachwatch init`: commands refuse a missing store
    with appview.running() as appview_url, jetstream.running() as jetstream_url:
        yield {
            "REACHWATCH_DB": str(tmp_path / "cli.db"),
            "REACHWATCH_BLUESKY__APPVIEW_URL": appview_url,
            "REACHWATCH_BLUESKY__JETSTREAM_URL": jetstream_url,
            "REACHWATCH_CONFIG": str(tmp_path / "absent.toml"),
        }


def test_watch_people_and_collect_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    added = run(env, "watch", "add", "bsky:watched.bsky.social")
    assert added.returncode == 0, added.stderr
    assert "bluesky:did:plc:watchedaccount0000000001" in added.stdout
    listed = json.loads(run(env, "watch", "list", "--json").stdout)
    assert [entry["handle"] for entry in listed] == ["watched.bsky.social"]

    person = run(
        env, "people", "add", "Dana Whitfield", "--alias", "Minister Whitfield", "--handle", "x:dana"
    )
    assert person.returncode == 0, person.stderr
    people_file = tmp_path / "people.toml"
    people_file.write_text('[[people]]\nid = "sam-okafor"\nname = "Sam Okafor"\naliases = ["Cllr Okafor"]\n')
    assert run(env, "people", "import", str(people_file)).returncode == 0
    ids = [p["id"] for p in json.loads(run(env, "people", "list", "--json").stdout)]
    assert ids == ["dana-whitfield", "sam-okafor"]

    once = run(env, "collect", "--once", "--json")
    assert once.returncode == 0, once.stderr
    report = json.loads(once.stdout)
    assert report["backfill"]["errors"] == []
    assert report["backfill"]["posts_polled"] == 3

    live = run(env, "collect", "--duration", "3", "--interval", "600", "--json")
    assert live.returncode == 0, live.stderr
    streamed = json.loads(live.stdout)["live"]["bluesky.jetstream"]
    assert streamed["written"] == 4  # the watched account's posts, exactly once
    assert streamed["dropped"] == 300  # the chatter is read and not kept

    removed = run(env, "watch", "remove", "watched.bsky.social")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(run(env, "watch", "list", "--json").stdout) == []


def test_bad_specs_and_unknown_accounts_exit_with_a_message(env: dict[str, str]) -> None:
    bad = run(env, "watch", "add", "myspace:tom")
    assert bad.returncode == 2
    assert "bsky:handle.bsky.social" in bad.stderr
    unknown = run(env, "watch", "add", "bsky:nobody.bsky.social")
    assert unknown.returncode == 1
    assert "HTTP 400" in unknown.stderr
    missing = run(env, "watch", "remove", "bsky:nobody.bsky.social")
    assert missing.returncode == 1
    assert "not on the watchlist" in missing.stderr


def test_x_without_a_token_says_how_to_set_one(env: dict[str, str]) -> None:
    result = run(env, "watch", "add", "x:someone")
    assert result.returncode == 2
    assert "REACHWATCH_X__BEARER_TOKEN" in result.stderr

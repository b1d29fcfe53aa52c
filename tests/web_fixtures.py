"""A store with the demo scenario and a hostile post, and the web app served from it on loopback
by a real uvicorn server in a thread (for the browser, the API fuzzing and the page tests)."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import uvicorn

from reachwatch.cli.serve import server_config
from reachwatch.enrich.embedding import DEFAULT_MODEL_DIR
from reachwatch.model import Post
from reachwatch.scenario.generator import ScenarioConfig
from reachwatch.service import scenario as scenarios
from reachwatch.service import users
from reachwatch.service.ingest import IngestOptions, ingest_stream
from reachwatch.service.store_access import Store
from reachwatch.web.app import create_app

HOSTILE_TEXT = (
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> '
    'Dana Whitfield should be jailed <b>now</b> & "forever"'
)
HOSTILE_ID = "bluesky:at://did:plc:hostile/app.bsky.feed.post/xss1"


def build_demo_store(path: Path) -> tuple[Store, str, str]:
    """(store, the trigger post's id, the watched account's id) with a hostile post added, by
    the watched account, naming the minister: it shows on every page."""
    store = Store.open(str(path))
    model = Path(__file__).resolve().parents[1] / DEFAULT_MODEL_DIR  # tracked narratives, when built
    report = scenarios.load_demo(
        store, ScenarioConfig(seed=7), IngestOptions(), None, embedding_model=str(model)
    )
    truth = report.truth
    hostile = Post(
        id=HOSTILE_ID.replace("did:plc:hostile", truth.watched_account_id.removeprefix("bluesky:")),
        platform="bluesky", author_id=truth.watched_account_id,
        created_at_us=truth.trigger_at_us + 3_600_000_000, text=HOSTILE_TEXT, lang="en",
    )  # fmt: skip
    line = msgspec.json.encode(msgspec.structs.asdict(hostile) | {"type": "post"}) + b"\n"
    ingest_stream(store, io.BytesIO(line), "hostile", IngestOptions())
    add_role_users(store)
    return store, truth.trigger_post_id, truth.watched_account_id


ROLES = ("viewer", "analyst", "supervisor", "auditor", "admin")
PASSWORD = "correct horse battery staple"  # every test user's: the tests log in through the form


def add_role_users(store: Store) -> None:
    """One user per role, named after it."""
    for role in ROLES:
        users.add_user(store, role, role, PASSWORD)


def log_in(client: Any, role: str) -> str:
    """Log a TestClient in through the login form; returns the session's CSRF token."""
    response = client.post("/login", data={"name": role, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    return csrf_of(client)


def csrf_of(client: Any) -> str:
    """The session's CSRF token, from the log-out form every page (even a refusal) carries."""
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/people").text)
    assert found is not None, "no CSRF token on the page: not logged in?"
    return found.group(1)


def hostile_post_id(watched_account_id: str) -> str:
    return HOSTILE_ID.replace("did:plc:hostile", watched_account_id.removeprefix("bluesky:"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_in_thread(store: Store) -> Iterator[str]:
    """The app on a real loopback server for the duration; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(server_config(create_app(store), "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

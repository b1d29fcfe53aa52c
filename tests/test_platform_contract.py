"""Every installed platform keeps the Platform contract: it is found by its entry point, parses its
own watchlist specs, has a settings section of its own model, and — against a fake of its API —
resolves an account, backfills its posts and engagers, and stores payloads that its capture reader
turns back into records of its own namespace only."""

from __future__ import annotations

from contextlib import ExitStack, closing
from importlib.metadata import entry_points

import pytest
from sqlalchemy import text

from reachwatch.config import Settings, load_settings
from reachwatch.connectors import platform
from reachwatch.connectors.jsonl import normalise_line
from reachwatch.errors import UsageError
from reachwatch.model import Engagement, Post, known_platforms, split_id
from reachwatch.service import platforms, watchlist
from reachwatch.service.collect import Backfiller
from reachwatch.store.database import Store
from tests.fakes.platforms import CONTRACTS

INSTALLED = sorted(platform.registered())


def test_every_entry_point_is_an_installed_platform_with_a_fake() -> None:
    points = {point.name for point in entry_points(group=platform.GROUP)}
    assert points == set(INSTALLED)
    assert {"bluesky", "mastodon", "x"} <= points
    # A new platform must bring a fake of its API for this contract (tests/fakes/platforms.py).
    assert set(CONTRACTS) == points


@pytest.mark.parametrize("name", INSTALLED)
def test_names_specs_and_settings(name: str) -> None:
    found = platform.get(name)
    assert found.name == name
    assert name in known_platforms()
    assert split_id(f"{name}:123") == (name, "123")
    for prefix in (name, *found.aliases):
        assert platform.by_prefix(prefix.upper()) is found
    parsed = watchlist.parse_spec(found.example.replace("handle", "someone").replace("username", "someone"))
    assert parsed[0] == name
    with pytest.raises(UsageError):
        watchlist.parse_spec(f"{name}:not a valid ~~ account")
    defaults = load_settings().platform_sections()[name]
    assert isinstance(defaults, found.settings_model)
    assert Settings.model_fields[name].annotation is found.settings_model
    for source in found.capture_sources:
        assert platform.of_source(f"{source}.anything") is found


def test_an_unknown_platform_is_refused_with_the_installed_ones_named() -> None:
    with pytest.raises(UsageError, match=r"bsky:handle\.bsky\.social"):
        watchlist.parse_spec("myspace:tom")
    with pytest.raises(UsageError, match="use one of bluesky"):
        platform.get("myspace")


@pytest.mark.parametrize("name", INSTALLED)
def test_against_its_fake_it_resolves_backfills_and_reads_back_its_own_captures(
    name: str, sqlite_store: Store
) -> None:
    contract = CONTRACTS[name]()
    found = platform.get(name)
    with ExitStack() as stack:
        server = contract.world.server()
        stack.enter_context(server.running())
        sections = {name: contract.section(server.base_url)}
        clients = stack.enter_context(closing(platforms.Clients(sections)))
        entry = watchlist.add(sqlite_store, clients, contract.spec)
        assert entry.platform == name
        assert entry.account_id.startswith(f"{name}:")
        settings = load_settings(db=sqlite_store.location)
        report = Backfiller(sqlite_store, clients, settings).round()
    assert report.errors == []
    assert report.requests > 0

    with sqlite_store.connect() as conn:
        posts = conn.execute(
            text("SELECT id FROM posts WHERE author_id = :a"), {"a": entry.account_id}
        ).scalars()
        watched = list(posts)
        engaged = conn.execute(text("SELECT count(*) FROM engagements")).scalar_one()
        raw = conn.execute(text("SELECT source, payload FROM raw_events")).all()
    assert watched, "backfill stored none of the watched account's posts"
    assert engaged > 0, "backfill stored no engagements"
    for post_id in watched:
        assert platform.of_id(post_id) is found
        # Links out: every stored post and the watched account have a public https address.
        url = found.post_url(post_id, entry.account_id)
        assert url is not None, post_id
        assert url.startswith("https://"), url
        assert found.native_post_id(post_id).rsplit("/", 1)[-1] in url
    account_url = found.account_url(entry.account_id)
    assert account_url is not None
    assert account_url.startswith("https://")

    # Every stored payload is read back by this platform's capture reader, into this namespace.
    assert raw
    kinds: set[type] = set()
    for source, payload in raw:
        assert platform.of_source(source) is found, source
        for record in normalise_line(bytes(payload)).records:
            kinds.add(type(record))
            ids = [getattr(record, key, None) for key in ("id", "post_id", "account_id", "author_id")]
            named = [ident for ident in ids if isinstance(ident, str)]
            assert named, record
            assert all(ident.startswith(f"{name}:") for ident in named), (source, named)
    assert {Post, Engagement} <= kinds


@pytest.mark.parametrize(
    ("post_id", "author_id", "post_url", "account_url"),
    [
        (
            "bluesky:at://did:plc:abc/app.bsky.feed.post/3kx",
            "bluesky:did:plc:abc",
            "https://bsky.app/profile/did:plc:abc/post/3kx",
            "https://bsky.app/profile/did:plc:abc",
        ),
        (
            "mastodon:mastodon.social/1123",
            "mastodon:alice@example.org",
            "https://mastodon.social/@alice@example.org/1123",
            "https://example.org/@alice",
        ),
        ("x:1850000000000000000", "x:783214", "https://x.com/i/web/status/1850000000000000000",
         "https://x.com/i/user/783214"),
    ],
)  # fmt: skip
def test_links_out_to_originals(post_id: str, author_id: str, post_url: str, account_url: str) -> None:
    assert platforms.post_url(post_id, author_id) == post_url
    assert platforms.account_url(author_id) == account_url
    # A pseudonymised id (or author) never becomes an address: it would be wrong, or undo the mask.
    masked = "anon-abcdefghijklmnop"
    assert platforms.account_url(masked) is None
    assert platforms.post_url(post_id, masked) is None
    assert platforms.post_url("bluesky:at://anon-abcdefghijklmnop/app.bsky.feed.post/3kx") is None
    assert platforms.post_url("crowdtangle:123") is None  # imported only: no platform, no address

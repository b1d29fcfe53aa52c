"""X as a platform: usernames, API v2 backfill and recent search (a bearer token is needed)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr

from reachwatch.connectors.base import Provenance
from reachwatch.connectors.platform import Clients, Pages, Platform, Resolved, Target
from reachwatch.errors import ConfigError, UsageError
from reachwatch.model import CanonicalRecord, Person

if TYPE_CHECKING:
    from reachwatch.connectors.x.client import XClient

NAME = "x"
_USERNAME = re.compile(r"^@?[A-Za-z0-9_]{1,15}$")
MAX_QUERY = 512  # characters in a recent-search query on the basic tier


class XSettings(BaseModel, extra="forbid"):
    bearer_token: SecretStr | None = Field(default=None, description="X API v2 app bearer token.")
    api_url: str = Field(default="https://api.x.com", description="X API base URL.")


class X(Platform):
    name = NAME
    aliases = ("twitter",)
    label = "X"
    example = "x:username"
    settings_model = XSettings
    capture_sources = ("x.api",)

    def bare_endpoints(self) -> dict[str, tuple[str, str]]:
        # A v2 page: its endpoint decides what `data` holds (the list endpoints need --param tweet=ID).
        return {f"x:{name}": ("x.api2", name) for name in ("tweets", "users", "liking_users", "retweeted_by")}

    def available(self, clients: Clients) -> bool:
        return clients.section(NAME, XSettings).bearer_token is not None

    def _client(self, clients: Clients) -> XClient:
        from reachwatch.connectors.x.client import XClient

        settings = clients.section(NAME, XSettings)
        token = settings.bearer_token
        if token is None:
            raise ConfigError(
                "X needs an API bearer token: set the environment variable REACHWATCH_X__BEARER_TOKEN "
                "(or '[x] bearer_token = ...' in a config file you do not commit)."
            )
        headers = {"authorization": f"Bearer {token.get_secret_value()}"}
        return clients.cached(NAME, XClient, lambda: XClient(clients.http(settings.api_url, headers)))

    def post_url(self, post_id: str, author_id: str | None = None) -> str | None:
        """x.com's address of a tweet by id alone: `/i/web/status/ID`."""
        native = post_id.removeprefix(f"{NAME}:")
        return f"https://x.com/i/web/status/{native}" if native.isdigit() else None

    def account_url(self, account_id: str) -> str | None:
        """x.com's address of an account by its numeric id: `/i/user/ID`."""
        native = account_id.removeprefix(f"{NAME}:")
        return f"https://x.com/i/user/{native}" if native.isdigit() else None

    def parse_spec(self, spec: str, rest: str) -> tuple[str, str | None]:
        if not _USERNAME.match(rest):
            raise UsageError(f"{spec!r}: an X username has 1 to 15 letters, digits or underscores.")
        return rest.lstrip("@"), None

    def resolve(self, clients: Clients, name: str, instance: str | None) -> Resolved:
        fetched, user = self._client(clients).user(name)
        return Resolved(
            account_id=f"{NAME}:{user.id}", native_id=user.id, handle=user.username, fetched=fetched
        )

    def normalise_capture(self, provenance: Provenance, body: Any, observed_us: int) -> list[CanonicalRecord]:
        from reachwatch.connectors.x import entities

        return entities.normalise_page(body, observed_us, provenance.url or "", provenance.params)

    def new_posts(
        self, clients: Clients, target: Target, latest: str | None, since_us: int
    ) -> Iterator[Pages]:
        if self.available(clients):
            since_id = self.native_post_id(latest) if latest else None
            yield self._client(clients).user_tweets(target.native_id, since_id=since_id)

    def metrics(self, clients: Clients, posts: Sequence[tuple[str, Target]]) -> Iterator[Pages]:
        if posts and self.available(clients):
            yield self._client(clients).tweets([self.native_post_id(post_id) for post_id, _ in posts])

    def engagers(self, clients: Clients, post_id: str, target: Target, pages: int) -> Iterator[Pages]:
        if not self.available(clients):
            return
        client, tweet = self._client(clients), self.native_post_id(post_id)
        yield client.quote_tweets(tweet, pages)
        for endpoint in ("retweeted_by", "liking_users"):
            yield client.users_of(tweet, endpoint, pages)
        yield client.search_recent(f"conversation_id:{tweet}", max_pages=pages)

    def mentions(self, clients: Clients, person: Person, targets: Sequence[Target]) -> Iterator[Pages]:
        """Recent search for the person's X handles and names (not #tags), retweets left out."""
        if not self.available(clients):
            return
        handles = [f"@{handle.lstrip('@')}" for handle in person.handles.get(NAME, [])]
        names = [f'"{name}"' for name in [person.name, *person.aliases] if not name.startswith("#")]
        query = f"({' OR '.join(handles + names)}) -is:retweet"
        yield self._client(clients).search_recent(query[:MAX_QUERY])


PLATFORM = X()

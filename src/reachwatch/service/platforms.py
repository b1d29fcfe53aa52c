"""The platform clients a collect run or a watchlist lookup needs, built from the settings."""

from __future__ import annotations

from reachwatch.config import Settings
from reachwatch.connectors.base import Stopper
from reachwatch.connectors.bluesky.backfill import AppViewClient
from reachwatch.connectors.http import RateLimitedClient
from reachwatch.connectors.mastodon.client import MastodonClient
from reachwatch.connectors.x.client import XClient
from reachwatch.errors import ConfigError


class Platforms:
    """Lazily built clients, one per host, sharing one stop signal; close() releases them all."""

    def __init__(self, settings: Settings, stopper: Stopper | None = None) -> None:
        self.settings = settings
        self.stopper = stopper or Stopper()
        self._clients: list[RateLimitedClient] = []
        self._bluesky: AppViewClient | None = None
        self._mastodon: dict[str, MastodonClient] = {}
        self._x: XClient | None = None

    def _http(self, base_url: str, headers: dict[str, str] | None = None) -> RateLimitedClient:
        client = RateLimitedClient(base_url, headers=headers, stopper=self.stopper)
        self._clients.append(client)
        return client

    def bluesky(self) -> AppViewClient:
        if self._bluesky is None:
            self._bluesky = AppViewClient(self._http(self.settings.bluesky.appview_url))
        return self._bluesky

    def mastodon_url(self, instance: str) -> str:
        return self.settings.mastodon.base_urls.get(instance, f"https://{instance}")

    def mastodon(self, instance: str) -> MastodonClient:
        if instance not in self._mastodon:
            token = self.settings.mastodon.token
            headers = {"authorization": f"Bearer {token.get_secret_value()}"} if token else None
            self._mastodon[instance] = MastodonClient(
                self._http(self.mastodon_url(instance), headers), instance
            )
        return self._mastodon[instance]

    @property
    def has_x(self) -> bool:
        return self.settings.x.bearer_token is not None

    def x(self) -> XClient:
        token = self.settings.x.bearer_token
        if token is None:
            raise ConfigError(
                "X needs an API bearer token: set the environment variable REACHWATCH_X__BEARER_TOKEN "
                "(or '[x] bearer_token = ...' in a config file you do not commit)."
            )
        if self._x is None:
            headers = {"authorization": f"Bearer {token.get_secret_value()}"}
            self._x = XClient(self._http(self.settings.x.api_url, headers))
        return self._x

    @property
    def waited_s(self) -> float:
        return sum(client.waited_s for client in self._clients)

    @property
    def retries(self) -> int:
        return sum(client.retries for client in self._clients)

    def close(self) -> None:
        for client in self._clients:
            client.close()

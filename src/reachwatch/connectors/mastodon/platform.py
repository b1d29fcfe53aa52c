"""Mastodon as a platform: `@user@instance`, REST backfill per instance, hashtag timelines, streams."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr

from reachwatch.connectors.base import LiveSource, Provenance
from reachwatch.connectors.platform import Clients, Pages, Platform, Resolved, Target
from reachwatch.errors import UsageError
from reachwatch.model import CanonicalRecord, Person

if TYPE_CHECKING:
    from reachwatch.connectors.mastodon.client import MastodonClient

NAME = "mastodon"
_ACCOUNT = re.compile(r"^@?([A-Za-z0-9_.-]+)@([A-Za-z0-9.-]+(?::\d+)?)$")


class MastodonSettings(BaseModel, extra="forbid"):
    token: SecretStr | None = Field(default=None, description="User token; streams need one since 4.2.")
    base_urls: dict[str, str] = Field(
        default_factory=dict, description="Instance host → base URL, where it is not https://<host>."
    )
    stream: bool = Field(default=True, description="Stream watched instances' public timelines live.")


def _local(post_id: str) -> str:
    """The status id on its instance (`mastodon:host/123` → `123`)."""
    return post_id.rsplit("/", 1)[-1]


class Mastodon(Platform):
    name = NAME
    label = "Mastodon"
    example = "mastodon:@user@instance.social"
    settings_model = MastodonSettings
    capture_sources = ("mastodon",)

    def bare_endpoints(self) -> dict[str, tuple[str, str]]:
        from reachwatch.connectors.mastodon.entities import ENDPOINTS

        return {f"mastodon:{name}": ("mastodon.rest", name) for name in ENDPOINTS if name != "stream"}

    def base_url(self, clients: Clients, instance: str) -> str:
        return clients.section(NAME, MastodonSettings).base_urls.get(instance, f"https://{instance}")

    def _client(self, clients: Clients, instance: str) -> MastodonClient:
        from reachwatch.connectors.mastodon.client import MastodonClient

        def make() -> MastodonClient:
            token = clients.section(NAME, MastodonSettings).token
            headers = {"authorization": f"Bearer {token.get_secret_value()}"} if token else None
            return MastodonClient(clients.http(self.base_url(clients, instance), headers), instance)

        return clients.cached(f"{NAME}:{instance}", MastodonClient, make)

    def parse_spec(self, spec: str, rest: str) -> tuple[str, str | None]:
        match = _ACCOUNT.match(rest)
        if not match:
            raise UsageError(f"{spec!r}: a Mastodon account is written mastodon:@user@instance.social.")
        return match.group(1), match.group(2).lower()

    def resolve(self, clients: Clients, name: str, instance: str | None) -> Resolved:
        from reachwatch.connectors.mastodon.entities import account_id

        if instance is None:
            raise UsageError(f"{name!r}: a Mastodon account needs its instance (@user@instance.social).")
        fetched, found = self._client(clients, instance).lookup(name)
        return Resolved(
            account_id=account_id(found.acct, instance),
            native_id=found.id,
            handle=f"{found.acct}@{instance}" if "@" not in found.acct else found.acct,
            instance=instance,
            fetched=fetched,
        )

    def normalise_capture(self, provenance: Provenance, body: Any, observed_us: int) -> list[CanonicalRecord]:
        from reachwatch.connectors.mastodon import entities

        return entities.normalise_response(
            provenance.nsid, body, provenance.instance, observed_us, provenance.params
        )

    def native_post_id(self, post_id: str) -> str:
        return _local(post_id)

    def post_url(self, post_id: str, author_id: str | None = None) -> str | None:
        """The status on the server it was read from, under its author: `https://host/@user@domain/ID`
        (the author is needed: a status id alone has no web page)."""
        host, _, local = post_id.removeprefix(f"{NAME}:").rpartition("/")
        author = (author_id or "").removeprefix(f"{NAME}:")
        return f"https://{host}/@{author}/{local}" if "@" in author and host and local.isdigit() else None

    def account_url(self, account_id: str) -> str | None:
        """The account's page on its home server: `https://domain/@user`."""
        user, _, domain = account_id.removeprefix(f"{NAME}:").partition("@")
        return f"https://{domain}/@{user}" if user and domain and "/" not in domain else None

    def new_posts(
        self, clients: Clients, target: Target, latest: str | None, since_us: int
    ) -> Iterator[Pages]:
        if target.instance:
            since_id = _local(latest) if latest else None
            yield self._client(clients, target.instance).account_statuses(target.native_id, since_id=since_id)

    def metrics(self, clients: Clients, posts: Sequence[tuple[str, Target]]) -> Iterator[Pages]:
        for post_id, target in posts:
            if target.instance:
                yield [self._client(clients, target.instance).status(_local(post_id))]

    def engagers(self, clients: Clients, post_id: str, target: Target, pages: int) -> Iterator[Pages]:
        if not target.instance:
            return
        client, local = self._client(clients, target.instance), _local(post_id)
        yield [client.context(local)]
        for endpoint in ("reblogged_by", "favourited_by"):
            yield client.actors(local, endpoint, pages)

    def mentions(self, clients: Clients, person: Person, targets: Sequence[Target]) -> Iterator[Pages]:
        """The person's name and #aliases as hashtags, on every instance a watched account is on."""
        tags = {"".join(person.name.split()).lower()} | {
            alias.lstrip("#").lower() for alias in person.aliases if alias.startswith("#")
        }
        for instance in sorted({target.instance for target in targets if target.instance}):
            for tag in sorted(tags):
                yield self._client(clients, instance).hashtag(tag)

    def live_sources(
        self, clients: Clients, targets: Sequence[Target], people: Sequence[Person]
    ) -> list[LiveSource]:
        """A public stream per watched instance, when a token is set (streams need one since 4.2)."""
        settings = clients.section(NAME, MastodonSettings)
        if not settings.stream or settings.token is None:
            return []
        from reachwatch.connectors.mastodon.client import MastodonStream, MastodonStreamOptions

        token = settings.token.get_secret_value()
        return [
            MastodonStream(
                MastodonStreamOptions(
                    base_url=self.base_url(clients, instance), instance=instance, token=token
                )
            )
            for instance in sorted({target.instance for target in targets if target.instance})
        ]


PLATFORM = Mastodon()

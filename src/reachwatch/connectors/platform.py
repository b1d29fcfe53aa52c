"""What a platform is to the rest of reachwatch, and the registry of those installed.

Each `connectors/<platform>/` folder exports one `Platform` object and names it under the entry
point group `reachwatch.platforms` in pyproject.toml. Collection, ingest, the watchlist, the
settings and the search form iterate the registry; none of them names a platform. A new platform
is one folder plus one entry point (docs/extending.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import msgspec
from pydantic import BaseModel

from reachwatch.connectors.base import Fetched, LiveSource, Provenance, Stopper
from reachwatch.errors import ConfigError, UsageError
from reachwatch.model import CanonicalRecord, Person, known_platforms, register_platform

if TYPE_CHECKING:
    from reachwatch.connectors.http import RateLimitedClient

GROUP = "reachwatch.platforms"
M = TypeVar("M", bound=BaseModel)
C = TypeVar("C")


class Resolved(msgspec.Struct, kw_only=True):
    """A watched account as its platform resolved it: its stable ids and the profile as fetched."""

    account_id: str
    native_id: str
    handle: str
    fetched: Fetched
    instance: str | None = None


class Target(Protocol):
    """What backfill knows of a watched account (the watchlist's entry)."""

    @property
    def account_id(self) -> str: ...
    @property
    def native_id(self) -> str: ...
    @property
    def instance(self) -> str | None: ...


# One request's pages: written together, including those fetched before a failure ends the paging.
Pages = Iterable[Fetched]


class Clients:
    """The clients of one collect run or watchlist lookup: built on first use, one per host, sharing
    one stop signal and each platform's settings section; close() releases them all."""

    def __init__(self, sections: Mapping[str, BaseModel], stopper: Stopper | None = None) -> None:
        self.sections = sections
        self.stopper = stopper or Stopper()
        self._http: list[RateLimitedClient] = []
        self._built: dict[str, object] = {}

    def section(self, name: str, kind: type[M]) -> M:
        """A platform's settings section, checked to be of its own settings model."""
        found = self.sections.get(name)
        if found is None:
            return kind()
        if not isinstance(found, kind):
            raise ConfigError(f"the settings of {name!r} are not {kind.__name__}")
        return found

    def http(self, base_url: str, headers: dict[str, str] | None = None) -> RateLimitedClient:
        from reachwatch.connectors.http import RateLimitedClient

        client = RateLimitedClient(base_url, headers=headers, stopper=self.stopper)
        self._http.append(client)
        return client

    def cached(self, key: str, kind: type[C], make: Callable[[], C]) -> C:
        """The client under `key`, made by `make` the first time it is asked for."""
        if key not in self._built:
            self._built[key] = make()
        found = self._built[key]
        assert isinstance(found, kind)
        return found

    @property
    def waited_s(self) -> float:
        return sum(client.waited_s for client in self._http)

    @property
    def retries(self) -> int:
        return sum(client.retries for client in self._http)

    def close(self) -> None:
        for client in self._http:
            client.close()


class Platform(ABC):
    """One platform: its names, settings, watchlist specs, capture readers, ids, backfill and streams.

    Collection code asks a platform for *requests* (iterables of fetched pages) and writes them; a
    platform never touches the store. Methods with a default are optional capabilities.
    """

    name: ClassVar[str]  # the prefix of its canonical ids and its settings section
    aliases: ClassVar[tuple[str, ...]] = ()  # other prefixes a watchlist spec may use (bsky:)
    label: ClassVar[str]
    example: ClassVar[str]  # a watchlist spec, as the user writes it
    settings_model: ClassVar[type[BaseModel]]
    capture_sources: ClassVar[tuple[str, ...]]  # provenance sources its normaliser reads (prefixes)

    # --- watchlist
    @abstractmethod
    def parse_spec(self, spec: str, rest: str) -> tuple[str, str | None]:
        """(name, instance) of the part after `prefix:`, or a UsageError that shows the form."""

    @abstractmethod
    def resolve(self, clients: Clients, name: str, instance: str | None) -> Resolved:
        """Look the account up on the platform."""

    # --- ingest
    @abstractmethod
    def normalise_capture(self, provenance: Provenance, body: Any, observed_us: int) -> list[CanonicalRecord]:
        """The records in one captured response (decoded JSON) of one of its capture sources."""

    def bare_endpoints(self) -> dict[str, tuple[str, str]]:
        """Endpoints whose bare responses (saved without an envelope) `ingest --as NAME` reads:
        NAME → (the provenance source, the nsid) they are wrapped with."""
        return {}

    # --- ids
    def native_post_id(self, post_id: str) -> str:
        """The id the platform's API knows a post by."""
        return post_id.removeprefix(f"{self.name}:")

    def author_of(self, record_id: str) -> str | None:
        """The author's account id, where the record id alone says it (Bluesky's AT-URIs)."""
        return None

    # --- links out: the public web addresses of originals, for people to check (None: none)
    def post_url(self, post_id: str, author_id: str | None = None) -> str | None:
        """A post's page on the platform (`author_id`: its author, where the address needs it)."""
        return None

    def account_url(self, account_id: str) -> str | None:
        """An account's page on the platform."""
        return None

    # --- backfill
    def available(self, clients: Clients) -> bool:
        """Whether backfill can run (credentials set); False skips it quietly."""
        return True

    def new_posts(
        self, clients: Clients, target: Target, latest: str | None, since_us: int
    ) -> Iterator[Pages]:
        """The account's posts since its `latest` stored post (id), or since `since_us` if none."""
        return iter(())

    def metrics(self, clients: Clients, posts: Sequence[tuple[str, Target]]) -> Iterator[Pages]:
        """Current counts of these posts (canonical ids, with their watched author)."""
        return iter(())

    def engagers(self, clients: Clients, post_id: str, target: Target, pages: int) -> Iterator[Pages]:
        """Who liked, reposted, quoted and replied to one post, up to `pages` pages per list."""
        return iter(())

    def mentions(self, clients: Clients, person: Person, targets: Sequence[Target]) -> Iterator[Pages]:
        """Posts naming a protected person, by search where the platform offers it."""
        return iter(())

    def live_sources(
        self, clients: Clients, targets: Sequence[Target], people: Sequence[Person]
    ) -> list[LiveSource]:
        """The streams to read live for these watched accounts and people."""
        return []


@cache
def registered() -> dict[str, Platform]:
    """The installed platforms by name, from the `reachwatch.platforms` entry points."""
    found: dict[str, Platform] = {}
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        platform = point.load()
        if not isinstance(platform, Platform) or platform.name != point.name:
            raise ConfigError(
                f"entry point {point.name!r} = {point.value!r} in group {GROUP!r} is not a Platform "
                f"named {point.name!r}"
            )
        found[platform.name] = platform
        register_platform(platform.name)
    if not found:
        raise ConfigError(
            f"no platform is installed (entry point group {GROUP!r} is empty): install the package "
            "with `make setup` (pip install -e .) so the entry points in pyproject.toml are registered."
        )
    return found


def get(name: str) -> Platform:
    platforms = registered()
    if name not in platforms:
        raise UsageError(
            f"{name!r} is not a platform reachwatch collects: use one of {', '.join(platforms)}."
        )
    return platforms[name]


def by_prefix(prefix: str) -> Platform | None:
    """The platform a watchlist spec's prefix names (its name or an alias), if any."""
    wanted = prefix.lower()
    for platform in registered().values():
        if wanted == platform.name or wanted in platform.aliases:
            return platform
    return None


def of_id(record_id: str) -> Platform | None:
    """The platform of a canonical id, if it is one reachwatch collects."""
    return registered().get(record_id.partition(":")[0])


def of_source(source: str) -> Platform | None:
    """The platform whose normaliser reads captures from this provenance source."""
    for platform in registered().values():
        if any(source.startswith(prefix) for prefix in platform.capture_sources):
            return platform
    return None


def namespaces() -> frozenset[str]:
    """Every platform a canonical id may name: those collected, and those only imported from files."""
    registered()
    return known_platforms()


def examples() -> str:
    specs = [platform.example for platform in registered().values()]
    return ", ".join(specs[:-1]) + f" or {specs[-1]}" if len(specs) > 1 else specs[0]

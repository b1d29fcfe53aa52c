"""The installed platforms as the use cases see them: their clients for one run, their names."""

from __future__ import annotations

from reachwatch.config import Settings
from reachwatch.connectors import platform
from reachwatch.connectors.base import Stopper
from reachwatch.connectors.platform import Clients, Platform

# A pseudonym: an address built from a masked id would be wrong, and one built from the real id
# would undo the mask. Neither is made.
from reachwatch.service.privacy import ALIAS as _PSEUDONYM

__all__ = ["Clients", "Platform", "account_url", "choices", "clients", "label_of", "post_url"]


def clients(settings: Settings, stopper: Stopper | None = None) -> Clients:
    """The clients of one collect run or watchlist lookup, configured by each platform's section."""
    return Clients(settings.platform_sections(), stopper)


def choices() -> list[str]:
    """Every platform a search or a filter may name: the collected ones, then those only imported."""
    collected = list(platform.registered())
    return collected + sorted(platform.namespaces() - set(collected) - {"file"})


def _platform_of(record_id: str) -> Platform | None:
    return platform.registered().get(record_id.partition(":")[0])


def post_url(post_id: str, author_id: str | None = None) -> str | None:
    """The post's page on its platform, for people to check the original; None for a post whose
    id or author is shown by pseudonym, and for platforms only imported."""
    if _PSEUDONYM.search(post_id) or (author_id and _PSEUDONYM.search(author_id)):
        return None
    found = _platform_of(post_id)
    return found.post_url(post_id, author_id) if found else None


def account_url(account_id: str) -> str | None:
    """The account's page on its platform; None for a pseudonym or a platform only imported."""
    if _PSEUDONYM.search(account_id):
        return None
    found = _platform_of(account_id)
    return found.account_url(account_id) if found else None


def label_of(record_id: str) -> str:
    found = _platform_of(record_id)
    return found.label if found else record_id.partition(":")[0]

"""The installed platforms as the use cases see them: their clients for one run, their names."""

from __future__ import annotations

from reachwatch.config import Settings
from reachwatch.connectors import platform
from reachwatch.connectors.base import Stopper
from reachwatch.connectors.platform import Clients, Platform

__all__ = ["Clients", "Platform", "choices", "clients"]


def clients(settings: Settings, stopper: Stopper | None = None) -> Clients:
    """The clients of one collect run or watchlist lookup, configured by each platform's section."""
    return Clients(settings.platform_sections(), stopper)


def choices() -> list[str]:
    """Every platform a search or a filter may name: the collected ones, then those only imported."""
    collected = list(platform.registered())
    return collected + sorted(platform.namespaces() - set(collected) - {"file"})

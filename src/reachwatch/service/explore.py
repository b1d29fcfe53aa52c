"""Looking at what is stored: counts, full-text search, top posts and amplifiers."""

from __future__ import annotations

from reachwatch.errors import UsageError
from reachwatch.service.downloads import MAX_ROWS
from reachwatch.store import queries
from reachwatch.store.database import Store
from reachwatch.store.queries import Amplifier, SearchOrder, TopPost
from reachwatch.store.queries import SearchFilters as SearchFilters
from reachwatch.store.queries import SearchHit as SearchHit
from reachwatch.store.queries import Stats as Stats

__all__ = [
    "Amplifier",
    "SearchHit",
    "SearchOrder",
    "Stats",
    "TopPost",
    "search",
    "stats",
    "top_amplifiers",
    "top_posts",
]

MAX_PAGE = 500


def stats(store: Store) -> Stats:
    return queries.stats(store)


def search(
    store: Store,
    query: str,
    *,
    limit: int = 20,
    page: int = 1,
    order: SearchOrder = "newest",
    author_id: str | None = None,
    filters: SearchFilters | None = None,
) -> list[SearchHit]:
    """One page of posts matching every word of `query` and the filters."""
    if not 1 <= limit <= MAX_PAGE:
        raise UsageError(f"--limit must be between 1 and {MAX_PAGE}; got {limit}.")
    if page < 1:
        raise UsageError(f"--page starts at 1; got {page}.")
    return queries.search(
        store,
        query,
        limit=limit,
        offset=(page - 1) * limit,
        order=order,
        author_id=author_id,
        filters=filters,
    )


def search_download(
    store: Store, query: str, *, filters: SearchFilters | None = None, page: int = 1
) -> list[SearchHit]:
    """The results of a search for a file, newest first: up to downloads.MAX_ROWS posts (page N:
    the Nth so many)."""
    if page < 1:
        raise UsageError(f"--page starts at 1; got {page}.")
    offset = (page - 1) * MAX_ROWS
    return queries.search(store, query, limit=MAX_ROWS, offset=offset, filters=filters)


def top_posts(store: Store, limit: int = 10) -> list[TopPost]:
    return queries.top_posts(store, limit=limit)


def top_amplifiers(store: Store, post_id: str | None = None, limit: int = 10) -> list[Amplifier]:
    return queries.top_amplifiers(store, post_id=post_id, limit=limit)

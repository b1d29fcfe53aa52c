"""Looking at what is stored: counts, search in the query language (reachwatch.query), top posts
and amplifiers."""

from __future__ import annotations

from collections.abc import Callable

from reachwatch import query as query_language
from reachwatch.errors import UsageError
from reachwatch.model import known_platforms
from reachwatch.service.downloads import MAX_ROWS
from reachwatch.store import pseudonyms as pseudonym_rows
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
    "parse",
    "search",
    "stats",
    "top_amplifiers",
    "top_posts",
]

MAX_PAGE = 500


def stats(store: Store) -> Stats:
    return queries.stats(store)


AccountResolver = Callable[[str], str]  # what `from:` names (a handle, id or pseudonym) → account id


def parse(store: Store, text: str, account: AccountResolver | None = None) -> query_language.Node | None:
    """A query as a tree with its fields resolved: `from:` through `account` (the shells pass the
    viewer's, which knows pseudonyms and guards ordinary accounts; without one an id is taken as
    given), times as microseconds, harm classes, languages and platforms checked."""
    tree = query_language.parse(text)
    if tree is None:
        return None
    platforms = known_platforms() or frozenset(queries.platforms_stored(store))
    return query_language.resolve(tree, account or _stored_account(store, platforms), platforms)


def _stored_account(store: Store, platforms: frozenset[str]) -> AccountResolver:
    """`from:` without a viewer (alert rules, scripts): an account id as given, a pseudonym that
    was shown (saved searches keep ordinary accounts by pseudonym), or a handle that names one
    account in the store."""

    def account(given: str) -> str:
        text = given.strip()
        behind = pseudonym_rows.account_of_alias(store, text) if text.startswith("anon-") else None
        if behind is not None:
            return behind
        platform, sep, native = text.partition(":")
        if sep and platform in platforms and native:
            return text
        found = pseudonym_rows.accounts_by_handle(store, text)
        if len(found) != 1:
            many = (
                f"is the handle of {len(found)} accounts" if found else "is no account's handle in the store"
            )
            raise UsageError(f"from:{given} {many}: give the account id (e.g. from:bluesky:did:plc:…).")
        return found[0]

    return account


def search(
    store: Store,
    query: str | query_language.Node | None,
    *,
    limit: int = 20,
    page: int = 1,
    order: SearchOrder = "newest",
    author_id: str | None = None,
    filters: SearchFilters | None = None,
    account: AccountResolver | None = None,
) -> list[SearchHit]:
    """One page of posts matching the query (text, or a tree from `parse`) and the filters."""
    if not 1 <= limit <= MAX_PAGE:
        raise UsageError(f"--limit must be between 1 and {MAX_PAGE}; got {limit}.")
    if page < 1:
        raise UsageError(f"--page starts at 1; got {page}.")
    return queries.search(
        store,
        parse(store, query, account) if isinstance(query, str) else query,
        limit=limit,
        offset=(page - 1) * limit,
        order=order,
        author_id=author_id,
        filters=filters,
    )


def search_download(
    store: Store,
    query: str,
    *,
    filters: SearchFilters | None = None,
    page: int = 1,
    order: SearchOrder = "newest",
    account: AccountResolver | None = None,
) -> list[SearchHit]:
    """The results of a search for a file, in the page's order: up to downloads.MAX_ROWS posts
    (page N: the Nth so many)."""
    if page < 1:
        raise UsageError(f"--page starts at 1; got {page}.")
    offset = (page - 1) * MAX_ROWS
    tree = parse(store, query, account)
    return queries.search(store, tree, limit=MAX_ROWS, offset=offset, order=order, filters=filters)


def top_posts(store: Store, limit: int = 10) -> list[TopPost]:
    return queries.top_posts(store, limit=limit)


def top_amplifiers(store: Store, post_id: str | None = None, limit: int = 10) -> list[Amplifier]:
    return queries.top_amplifiers(store, post_id=post_id, limit=limit)

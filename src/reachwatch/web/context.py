"""What every route draws on, page or API: the store and the viewer of a request, the parameter
types, the gate in front of an ordinary account, audited looks, JSON with documented schemas, and
the inputs both search surfaces share. Routes import from here, never from each other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from reachwatch import query as query_language
from reachwatch.errors import AuthenticationError, UsageError
from reachwatch.model import micros_from_datetime
from reachwatch.service import cases, downloads, explore, narratives, privacy
from reachwatch.service.engagers import EngagerSort
from reachwatch.service.explore import SearchFilters, SearchHit, SearchOrder
from reachwatch.service.store_access import Store
from reachwatch.service.users import Permission
from reachwatch.web.auth import principal_or_none, pseudonyms, viewer_of
from reachwatch.web.filters import TIMEZONES

SCHEMAS: dict[str, Any] = {}  # the JSON Schemas of documented responses, for the OpenAPI document
Sort = EngagerSort  # the engager table's orders, as a query parameter


def documented(kind: Any) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry for a route returning `kind`, its schema kept for the document."""
    (schema,), components = msgspec.json.schema_components([kind], ref_template="#/components/schemas/{name}")
    SCHEMAS.update(components)
    return {200: {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def request_body(kind: Any) -> dict[str, Any]:
    """The `openapi_extra` of a route reading a JSON body of `kind` (msgspec decodes it)."""
    (schema,), components = msgspec.json.schema_components([kind], ref_template="#/components/schemas/{name}")
    SCHEMAS.update(components)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def encoded(value: Any) -> Response:
    """JSON of a value that names no ordinary engager (or was shown through `shown`)."""
    return Response(msgspec.json.encode(value), media_type="application/json")


def shown(request: Request, value: Any, look: tuple[str, str], **detail: Any) -> Response:
    """JSON of `value` through the request's viewer: ordinary engagers pseudonymised, the look
    (action, target) audited."""
    return encoded(viewer_of(request).show(value, *look, via="api", **detail))


# `format=csv|parquet` on a page or fragment with a table: the same rows as a file.
TableFormat = Annotated[
    Literal["html", "csv", "parquet"],
    Query(description="html (the page), or the page's table as a csv or parquet file"),
]


def download(
    request: Request, rows: Sequence[Any], name: str, fmt: str, look: tuple[str, str],
    only: Sequence[str] | None = None, **detail: Any,
) -> Response:  # fmt: skip
    """A table as a file, through the request's viewer like the page it comes from: ordinary
    engagers pseudonymised, and the export audited (action `export`, with the table and format)."""
    viewer = viewer_of(request)
    viewer.look("export", look[1], table=name, format=fmt, rows=len(rows), page=look[0], **detail)
    found = downloads.encode(viewer.mask(list(rows)), fmt, name, only)
    return Response(
        found.body,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def audited(request: Request, action: str, target: str, **detail: Any) -> None:
    """Record who looked at, searched or exported what, under which case (`reachwatch audit`)."""
    viewer_of(request).look(action, target, **detail)


PostQuery = Annotated[
    str, Query(min_length=1, max_length=500, description="A post id (bluesky:at://…) or the masked one shown")
]
AccountQuery = Annotated[
    str, Query(min_length=1, max_length=500, description="An account id, or the pseudonym shown")
]


def _resolved_post(request: Request, id: PostQuery) -> str:
    return viewer_of(request).resolve(id)


def _resolved_account(request: Request, id: AccountQuery) -> str:
    return viewer_of(request).resolve(id)


def _resolved_ends(
    request: Request,
    a: Annotated[str, Query(min_length=1, max_length=500, description="One end: an account id or pseudonym")],
    b: Annotated[str, Query(min_length=1, max_length=500, description="The other end")],
) -> tuple[str, str]:
    viewer = viewer_of(request)
    return viewer.resolve(a), viewer.resolve(b)


PostId = Annotated[str, Depends(_resolved_post)]
AccountId = Annotated[str, Depends(_resolved_account)]
# An edge's two ends, each an account id or the pseudonym shown (following one names no one: the
# evidence is shown through the viewer, pseudonyms and all).
EdgeEnds = Annotated[tuple[str, str], Depends(_resolved_ends)]
# A moment to show a dossier as of (µs since the epoch), bounded as ingest bounds times.
AsOf = Annotated[int | None, Query(ge=0, le=253_402_300_799_999_999)]


def account_gate(request: Request, account_id: str) -> None:
    """Looking closer at an ordinary account needs an open case the user works on."""
    names = pseudonyms(request)
    if not names.is_public(account_id):
        who = principal_or_none(request)
        if who is None:
            raise AuthenticationError("Please log in.")
        who.require(Permission.INVESTIGATE)
        cases.require_open_case(store_of(request), who)
        names.show(account_id)


def parse_time(text: str | None, name: str) -> int | None:
    if not text:
        return None
    from datetime import datetime

    try:
        return micros_from_datetime(datetime.fromisoformat(text))
    except ValueError as exc:
        raise UsageError(
            f"{name}={text!r} is not an ISO time (e.g. 2026-10-13 or 2026-10-13T18:00:00Z)."
        ) from exc


Page = Annotated[int, Query(ge=1, le=100_000)]


DiscoverOrderQuery = Annotated[
    Literal["size", "harm"],
    Query(description="size: the largest themes first; harm: the most posts flagged harmful first"),
]


def discover_window(
    request: Request, since: str, until: str, min_cluster_size: int, order: narratives.DiscoverOrder = "size"
) -> narratives.Discovered:
    settings = request.app.state.settings
    start, end = parse_time(since, "since") or 0, parse_time(until, "until") or 2**62
    return narratives.discover_between(
        store_of(request), settings.embedding_model, start, end, min_cluster_size, order
    )


class SearchPage(msgspec.Struct, kw_only=True):
    query: str
    understood: str  # the query as parsed, fully bracketed (reachwatch.query.describe)
    order: str
    page: int
    limit: int
    hits: list[SearchHit]


def author_filter(request: Request, author: str | None) -> str | None:
    """The author a search names: a pseudonym the user was shown, or the id of a public account.
    An ordinary account's own id is refused without an open case (a search by it would confirm who
    is behind its pseudonym)."""
    if not author:
        return None
    resolved = viewer_of(request).resolve(author)
    if resolved == author.strip():
        account_gate(request, resolved)
    return resolved


def search_filters(
    platform: str | None, author: str | None, since: str | None, until: str | None,
    lang: str | None, harm: str | None, person: str | None,
) -> SearchFilters:  # fmt: skip
    return SearchFilters(
        platform=platform or None, author_id=author or None, since_us=parse_time(since, "since"),
        until_us=parse_time(until, "until"), lang=lang or None, harm=harm or None, person=person or None,
    )  # fmt: skip


def from_account(request: Request) -> explore.AccountResolver:
    """What `from:` in a query names, as the author filter takes it: a pseudonym the user was
    shown, a public account's id or handle; an ordinary account named by its id or handle needs an
    open case (a search by it would confirm who is behind its pseudonym)."""

    def account(given: str) -> str:
        resolved = viewer_of(request).account(given)
        if not privacy.ALIAS.fullmatch(given.strip()):
            account_gate(request, resolved)
        return resolved

    return account


def search_page(
    request: Request, q: str, filters: SearchFilters, limit: int, page: int, order: SearchOrder = "newest"
) -> SearchPage:  # fmt: skip
    store = store_of(request)
    account = from_account(request)
    tree = explore.parse(store, q, account)
    hits = explore.search(store, tree, limit=limit, page=page, filters=filters, order=order)
    understood = query_language.describe(tree)
    return SearchPage(query=q, understood=understood, order=order, page=page, limit=limit, hits=hits)


SearchOrderQuery = Annotated[
    Literal["newest", "relevance"],
    Query(description="newest first, or the best matches among the newest 5,000 matches"),
]


TZ_COOKIE = "rw_tz"


def time_zone(request: Request) -> str:
    """The zone this viewer reads times in: their choice (a cookie set from the header), else the
    deployment's `display_timezone`."""
    chosen = request.cookies.get(TZ_COOKIE, "")
    if chosen in TIMEZONES:
        return chosen
    configured: str = request.app.state.settings.display_timezone
    return configured


def render(
    request: Request, name: str, context: dict[str, Any], look: tuple[str, str] | None, **detail: Any
) -> HTMLResponse:
    """A template over the context, through the request's viewer: every ordinary engager
    pseudonymised and the look (action, target) audited; `look` is None only for pages that show
    no monitored data (forms, settings)."""
    viewer = viewer_of(request)
    if look is not None:
        viewer.look(*look, **detail)
    shown = {key: viewer.mask(value) for key, value in context.items()}
    shown["me"] = principal_or_none(request)
    shown["tz"] = time_zone(request)
    page: HTMLResponse = request.app.state.templates.TemplateResponse(request, name, shown)
    return page

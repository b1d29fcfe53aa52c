"""The analyst's pages: server-rendered templates over the same service calls as the API, with
htmx for the parts that refresh or load late (the live watch floor, coordination, spillover)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

import msgspec
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from reachwatch.errors import PermissionDeniedError, UsageError
from reachwatch.service import (
    briefings,
    downloads,
    explore,
    floor,
    narrative_views,
    narratives,
    platforms,
    reach,
    saved_searches,
    spillover,
    views,
)
from reachwatch.service.engagers import engager_table
from reachwatch.web import printable
from reachwatch.web.auth import Investigator, Reader, pseudonyms, viewer_of
from reachwatch.web.context import (
    AccountId,
    AsOf,
    DiscoverOrderQuery,
    EdgeEnds,
    PostId,
    PostQuery,
    SearchOrderQuery,
    Sort,
    TableFormat,
    account_gate,
    audited,
    author_filter,
    discover_window,
    download,
    from_account,
    parse_time,
    render,
    search_filters,
    search_page,
    store_of,
)

router = APIRouter(include_in_schema=False)
KINDS = ("repost", "quote", "reply", "like")


@router.get("/", response_class=HTMLResponse)
def floor_page(request: Request, _: Reader) -> Response:
    return render(
        request, "floor.html", {"floor": floor.watch_floor(store_of(request))}, ("view-floor", "floor")
    )


@router.get("/floor/live", response_class=HTMLResponse)
def floor_fragment(request: Request, _: Reader) -> Response:
    return render(
        request, "_floor.html", {"floor": floor.watch_floor(store_of(request))}, ("view-floor", "floor")
    )


@router.get("/post", response_class=HTMLResponse)
def post_page(
    request: Request,
    _: Reader,
    id: PostId,
    sort: Sort = Sort.FIRST,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    at_us: AsOf = None,
) -> Response:
    store = store_of(request)
    found = reach.dossier(store, id, at_us=at_us)
    context = {
        "d": found,
        "harm": views.post_harm(store, id),
        "kinds": KINDS,
        "sort": sort.value,
        "page": page,
    }
    return render(
        request,
        "post.html",
        context,
        ("view-post", id),
    )


@router.get("/post/engagers", response_class=HTMLResponse)
def post_engagers_fragment(
    request: Request,
    _: Reader,
    id: PostId,
    sort: Sort = Sort.FIRST,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    format: TableFormat = "html",
) -> Response:
    if format != "html":  # every engager, in the order chosen
        every = engager_table(store_of(request), id, sort=sort, limit=downloads.MAX_ROWS, page=page)
        return download(request, every.rows, "engagers", format, ("view-post", id), sort=sort.value)
    engagers = engager_table(store_of(request), id, sort=sort, limit=25, page=page)
    context = {"engagers": engagers, "post_id": id, "sort": sort.value, "page": page,
               "pages": max(1, -(-engagers.total // 25))}  # fmt: skip
    return render(request, "_engagers.html", context, ("view-post", id), part="engagers")


@router.get("/post/coordination", response_class=HTMLResponse)
def post_coordination_fragment(
    request: Request,
    _: Reader,
    id: PostId,
    format: TableFormat = "html",
    table: Annotated[
        Literal["members", "evidence"],
        Query(description="with a file format: the members or the evidence table"),
    ] = "members",
) -> Response:
    found = views.post_coordination(store_of(request), id)
    if format != "html":
        rows = views.cluster_members(found) if table == "members" else views.cluster_items(found)
        return download(request, rows, f"clusters-{table}", format, ("view-post", id), part="coordination")
    members = {
        c.label: [m for m in views.cluster_members(found) if m.cluster == c.label] for c in found.clusters
    }
    return render(
        request, "_coordination.html", {"found": found, "members": members, "post_id": id},
        ("view-post", id), part="coordination",
    )  # fmt: skip


@router.get("/post/reply-attacks", response_class=HTMLResponse)
def post_reply_attack_fragment(request: Request, _: Reader, id: PostId) -> Response:
    """Whether the post's replies came in a coordinated attack, with the drivers and the attackers."""
    found = views.post_reply_attack(store_of(request), id)
    return render(request, "_reply_attacks.html", {"found": found}, ("view-post", id), part="reply-attacks")


@router.get("/post/coordination/edge", response_class=HTMLResponse)
def post_coordination_edge_page(
    request: Request, _: Reader, id: PostId, ends: EdgeEnds, format: TableFormat = "html"
) -> Response:
    """One edge of a cluster: the items both accounts acted on, their messages, seconds apart."""
    found = views.post_edge(store_of(request), id, ends[0], ends[1])
    if format != "html":
        return download(
            request, found.items, "edge-evidence", format, ("view-post", id), part="coordination-edge"
        )
    return render(request, "edge.html", {"found": found}, ("view-post", id), part="coordination-edge")


@router.get("/post/spillover", response_class=HTMLResponse)
def post_spillover_fragment(
    request: Request,
    _: Reader,
    id: PostId,
    person: Annotated[str, Query(min_length=1, max_length=200)],
) -> Response:
    report = spillover.spillover(store_of(request), person, id, spillover.SpilloverOptions())
    compared = spillover.versus_pool(store_of(request), person, id, spillover.SpilloverOptions())
    return render(
        request,
        "_spillover.html",
        {"s": report, "pool": compared},
        ("view-post", id),
        part="spillover",
        person=person,
    )


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request,
    _: Reader,
    id: AccountId,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    store = store_of(request)
    by_alias = request.query_params.get("id", "").strip().startswith("anon-")
    try:
        if by_alias and not pseudonyms(request).is_public(id):
            raise PermissionDeniedError("followed by its pseudonym: naming it is a reveal, with a reason")
        account_gate(request, id)
    except PermissionDeniedError:  # an ordinary account: its pseudonymous profile, never named here
        found = views.engager_profile(store, id)
        return render(request, "engager.html", {"e": found}, ("view-engager", id))
    context = {"a": views.account_view(store, id, engager_page=page), "t": narratives.timeline(store, id)}
    return render(request, "account.html", context, ("view-account", id))


@router.get("/narratives", response_class=HTMLResponse)
def narratives_page(request: Request, _: Reader) -> Response:
    store = store_of(request)
    rows = [narratives.spread(store, row.id, with_claims=False) for row in narratives.list_narratives(store)]
    return render(request, "narratives.html", {"spreads": rows}, ("view-narratives", "narratives"))


FormText = Annotated[str, Form(max_length=20_000)]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/narratives", response_class=RedirectResponse)
def narrative_save(
    request: Request,
    _: Investigator,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    examples: FormText,
    description: FormText = "",
    keywords: FormText = "",
) -> Response:
    """Track a narrative, or change one (the same name): examples and keywords one per line."""
    settings = request.app.state.settings
    row = narratives.add(
        store_of(request), settings.embedding_model, name.strip(), _lines(examples),
        description=description.strip(), keywords=_lines(keywords),
    )  # fmt: skip
    audited(request, "change", f"narrative:{row.id}", examples=len(row.examples))
    return RedirectResponse(f"/narrative?id={quote(row.id, safe='')}", status_code=303)


@router.post("/narratives/promote", response_class=RedirectResponse)
def narrative_promote(
    request: Request,
    _: Investigator,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    label: Annotated[int, Form(ge=0)],
    since: Annotated[str, Form(min_length=1, max_length=40)],
    until: Annotated[str, Form(max_length=40)] = "",
    min_cluster_size: Annotated[int, Form(ge=2, le=10_000)] = 10,
) -> Response:
    """Track a discovered theme under a name."""
    settings = request.app.state.settings
    start, end = parse_time(since, "since") or 0, parse_time(until, "until") or 2**62
    row = narratives.promote(store_of(request), settings.embedding_model, start, end, label, name.strip(),
                             min_cluster_size)  # fmt: skip
    audited(request, "change", f"narrative:{row.id}", promoted_theme=label)
    return RedirectResponse(f"/narrative?id={quote(row.id, safe='')}", status_code=303)


@router.get("/narratives/discover", response_class=HTMLResponse)
def discover_page(
    request: Request,
    _: Reader,
    since: Annotated[str, Query(min_length=1, max_length=40)],
    until: Annotated[str, Query(max_length=40)] = "",
    min_cluster_size: Annotated[int, Query(ge=2, le=10_000)] = 10,
    order: DiscoverOrderQuery = "size",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    found = discover_window(request, since, until, min_cluster_size, order)
    shown_here = found.clusters[(page - 1) * THEMES_SHOWN : page * THEMES_SHOWN]
    context = {
        "d": found, "themes": shown_here, "since": since, "until": until, "size": min_cluster_size,
        "order": order, "page": page, "pages": max(1, -(-len(found.clusters) // THEMES_SHOWN)),
        "first": (page - 1) * THEMES_SHOWN,
    }  # fmt: skip
    return render(request, "discover.html", context, ("discover", f"{since}..{until}"))


THEMES_SHOWN = 20  # discovered themes a page


@router.get("/narrative", response_class=HTMLResponse)
def narrative_page(
    request: Request,
    _: Reader,
    id: Annotated[str, Query(min_length=1, max_length=200)],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    format: TableFormat = "html",
) -> Response:
    store = store_of(request)
    if format != "html":  # the narrative's posts, every one (MAX_ROWS a file)
        every = narrative_views.posts_of(store, id)[
            (page - 1) * downloads.MAX_ROWS : page * downloads.MAX_ROWS
        ]
        return download(request, every, "narrative-posts", format, ("view-narrative", id))
    posts = narrative_views.posts_of(store, id)
    context = {
        "s": narratives.spread(store, id), "posts": posts[(page - 1) * POSTS_SHOWN : page * POSTS_SHOWN],
        "total": len(posts), "page": page, "pages": max(1, -(-len(posts) // POSTS_SHOWN)),
    }  # fmt: skip
    return render(request, "narrative.html", context, ("view-narrative", id))


POSTS_SHOWN = 25  # a narrative page's posts a page


@router.get("/brief", response_class=HTMLResponse)
def briefing(
    request: Request,
    who: Reader,
    kind: Annotated[str, Query(min_length=1, max_length=20)],
    id: Annotated[str, Query(min_length=1, max_length=500)],
    format: Annotated[
        Literal["html", "pdf"], Query(description="html (a page that stands alone) or pdf")
    ] = "html",
) -> Response:
    """The briefing of one post, account, protected person or case, as the page that stands alone
    (save or print it) or as a PDF; pseudonyms as on the pages, the briefing audited."""
    chosen = briefings.parse_kind(kind)
    viewer = viewer_of(request)
    target = viewer.resolve(id)
    if chosen is briefings.BriefingKind.ACCOUNT:
        account_gate(request, target)
    found = briefings.brief(store_of(request), who, chosen, target)
    page = printable.briefing_html(
        viewer.show(found, "brief", f"{chosen.value}:{found.target_id}", format=format)
    )
    if format == "html":
        return HTMLResponse(page)
    name = f"briefing-{chosen.value}-{found.made_at_us // 1_000_000}.pdf"
    return Response(
        printable.briefing_pdf(page), media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs_page(request: Request) -> Response:
    """The REST API's reference (public, as the OpenAPI document is): Swagger UI served by the app."""
    app = request.app
    page: HTMLResponse = app.state.templates.TemplateResponse(
        request, "api_docs.html", {"version": app.version, "openapi_url": app.openapi_url}
    )
    return page


METHODS = {"spillover": Path(__file__).parent / "docs" / "spillover-counterfactual.md"}


@router.get("/methods/{name}", response_class=HTMLResponse)
def methods_page(request: Request, _: Reader, name: str) -> Response:
    """A methods note (plain text, as written in docs/)."""
    if name not in METHODS:
        raise HTTPException(
            status_code=404, detail=f"No methods note {name!r}: there is {', '.join(METHODS)}."
        )
    return render(request, "methods.html", {"text": METHODS[name].read_text(encoding="utf-8")}, None)


@router.get("/people", response_class=HTMLResponse)
def people_page(request: Request, _: Reader) -> Response:
    return render(
        request, "people.html", {"people": views.people_list(store_of(request))}, ("view-people", "people")
    )


@router.get("/person", response_class=HTMLResponse)
def person_page(
    request: Request, _: Reader, id: Annotated[str, Query(min_length=1, max_length=200)]
) -> Response:
    found = views.person_view(store_of(request), id)
    return render(request, "person.html", {"p": found}, ("view-person", found.person.id))


@router.get("/person/reply-attacks", response_class=HTMLResponse)
def person_reply_attacks_fragment(
    request: Request, _: Reader, id: Annotated[str, Query(min_length=1, max_length=200)]
) -> Response:
    """The coordinated reply attacks on the person's posts and on posts naming them (two weeks)."""
    found = views.person_reply_attacks(store_of(request), id)
    return render(
        request, "_reply_attacks.html", {"found": found}, ("view-person", found.subject), part="reply-attacks"
    )


@router.get("/person/counterfactual", response_class=HTMLResponse)
def person_counterfactual_fragment(
    request: Request,
    _: Reader,
    id: Annotated[str, Query(min_length=1, max_length=200)],
    post: PostQuery,
) -> Response:
    """The person's harm after one watched post against the comparison pool (the dossier's view)."""
    post = viewer_of(request).resolve(post)
    compared = spillover.versus_pool(store_of(request), id, post, spillover.SpilloverOptions())
    return render(
        request, "_versus_pool.html", {"pool": compared}, ("view-person", compared.person_id),
        part="counterfactual", post=post,
    )  # fmt: skip


@router.get("/search", response_class=HTMLResponse)
def search_view(
    request: Request,
    _: Reader,
    q: Annotated[str, Query(max_length=500)] = "",
    platform: Annotated[str, Query(max_length=50)] = "",
    author: Annotated[str, Query(max_length=500)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    lang: Annotated[str, Query(max_length=20)] = "",
    harm: Annotated[str, Query(pattern="^(|any|offensive|hateful|threat)$")] = "",
    person: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    order: SearchOrderQuery = "newest",
    format: TableFormat = "html",
) -> Response:
    filters = search_filters(platform, author_filter(request, author), since, until, lang, harm, person)
    asked = bool(q.strip()) or any((platform, author, since, until, lang, harm, person))
    if format != "html":
        if not asked:
            raise UsageError("Search for something first: a download holds a search's results.")
        every = explore.search_download(
            store_of(request), q, filters=filters, page=page, order=order, account=from_account(request)
        )
        return download(request, every, "search", format, ("search", q), **msgspec.structs.asdict(filters))
    found = search_page(request, q, filters, 25, page, order) if asked else None
    form = {"q": q, "platform": platform, "author": author, "since": since, "until": until, "lang": lang,
            "harm": harm, "person": person, "order": order}  # fmt: skip
    return render(
        request,
        "search.html",
        {
            "found": found,
            "form": form,
            "page": page,
            "people": views.people_list(store_of(request)),
            "platforms": platforms.choices(),
            "searches": saved_searches.listed(store_of(request)),
        },
        ("search", q) if asked else None,
        **(msgspec.structs.asdict(filters) if asked else {}),
    )


@router.post("/searches", response_class=RedirectResponse)
def search_save(
    request: Request,
    who: Investigator,
    name: Annotated[str, Form(min_length=1, max_length=64)],
    q: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    """Save the query under a name (the same name again changes it). An ordinary account is kept
    by its pseudonym: a query naming one by id or handle is refused (others would read it)."""
    names = viewer_of(request).names
    saved = saved_searches.save(store_of(request), who, name, q, from_account(request), names)
    return RedirectResponse(
        f"/search?q={quote(saved.query, safe='')}&saved={quote(saved.name)}", status_code=303
    )


@router.post("/searches/delete", response_class=RedirectResponse)
def search_delete(
    request: Request, who: Investigator, name: Annotated[str, Form(min_length=1, max_length=64)]
) -> Response:
    """Delete a saved search (its owner or an administrator)."""
    saved_searches.delete(store_of(request), who, name)
    return RedirectResponse("/search", status_code=303)

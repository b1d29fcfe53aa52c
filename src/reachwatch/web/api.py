"""The REST API under /api/v1: JSON of exactly what the pages show, from the same service calls.

Responses are msgspec structs encoded by msgspec; their JSON Schemas (from msgspec) are put into
the OpenAPI document, so the document describes every response. Records are named by query
parameters (`?id=`), because post ids hold slashes and colons.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from reachwatch.model import Person
from reachwatch.service import explore, floor, narratives, reach, spillover, views
from reachwatch.service.engagers import EngagerTable, engager_table
from reachwatch.service.explore import Stats
from reachwatch.service.networks import NetworkKind, NetworkOptions, NetworkReport, build, drawing
from reachwatch.service.privacy import Pseudonyms
from reachwatch.service.spreadsheet import safe_row
from reachwatch.web.auth import Investigator, Reader, pseudonyms
from reachwatch.web.context import (
    AccountId,
    AsOf,
    DiscoverOrderQuery,
    EdgeEnds,
    Page,
    PostId,
    SearchOrderQuery,
    SearchPage,
    Sort,
    account_gate,
    audited,
    author_filter,
    discover_window,
    documented,
    encoded,
    search_filters,
    search_page,
    shown,
    store_of,
)

router = APIRouter(prefix="/api/v1", tags=["api"])


class Node(msgspec.Struct, kw_only=True):
    id: str
    label: str
    community: int
    bridge: bool
    lead: bool  # one of its community's three strongest accounts, or a bridge: labelled on the drawing
    x: float  # radial tree layout in [0, 1000]: the same network is drawn the same way every time
    y: float


class Edge(msgspec.Struct, kw_only=True):
    source: str
    target: str
    weight: int


class NetworkView(msgspec.Struct, kw_only=True):
    report: NetworkReport
    nodes: list[Node]
    edges: list[Edge]
    truncated: bool  # only the heaviest edges are drawn
    hidden_accounts: int  # accounts of the network with no drawn tie (in the report's communities)
    hidden_edges: int


@router.get("/stats", responses=documented(Stats), response_class=Response)
def api_stats(request: Request, _: Reader) -> Response:
    """Counts of everything in the store."""
    return shown(request, explore.stats(store_of(request)), ("view-stats", "store"))


@router.get("/floor", responses=documented(floor.WatchFloor), response_class=Response)
def api_floor(
    request: Request,
    _: Reader,
    window_days: Annotated[float, Query(gt=0, le=90)] = 7.0,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Response:
    """The watch floor: watched accounts, their latest posts, posts by velocity and by z-score."""
    return shown(
        request,
        floor.watch_floor(store_of(request), window_days=window_days, limit=limit),
        ("view-floor", "floor"),
    )


@router.get("/post", responses=documented(reach.Dossier), response_class=Response)
def api_post(request: Request, _: Reader, id: PostId, at_us: AsOf = None) -> Response:
    """The reach dossier of a post: series, baseline, audience, cascade, forecast (as of `at_us`,
    µs since the epoch, when given: the watch floor's links carry its own as-of time)."""
    return shown(request, reach.dossier(store_of(request), id, at_us=at_us), ("view-post", id))


@router.get("/post/harm", responses=documented(views.PostHarm), response_class=Response)
def api_post_harm(request: Request, _: Reader, id: PostId) -> Response:
    """Harm scores, flags, rules and evidence words; the protected people the post names."""
    return shown(request, views.post_harm(store_of(request), id), ("view-post", id), part="harm")


@router.get("/post/engagers", responses=documented(EngagerTable), response_class=Response)
def api_post_engagers(
    request: Request,
    _: Reader,
    id: PostId,
    sort: Sort = Sort.FIRST,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    page: Page = 1,
) -> Response:
    """The engager table of a post, sorted and paged."""
    return shown(
        request,
        engager_table(store_of(request), id, sort=sort, limit=limit, page=page),
        ("view-post", id),
        part="engagers",
    )


def network_view(report: NetworkReport, network: Any, max_edges: int, names: Pseudonyms) -> NetworkView:
    """The heaviest edges and their nodes, placed; ordinary engagers by pseudonym, labelled by it."""
    drawn = drawing(network, max_edges, by_community=report.options.kind == NetworkKind.CO_ENGAGEMENT)
    handles = {top.account: top.handle for community in report.communities for top in community.top_accounts}
    leads = {top.account for community in report.communities for top in community.top_accounts[:3]}
    names.decide(network.accounts[i] for i in drawn.nodes)
    shown = {i: names.name(network.accounts[i]) for i in drawn.nodes}
    nodes = []
    for i, (x, y) in zip(drawn.nodes, drawn.positions, strict=True):
        account = network.accounts[i]
        label = (handles.get(account) or account[-12:]) if shown[i] == account else shown[i]
        community, bridge = int(network.cluster[i]), bool(network.flagged[i])
        lead = bridge or account in leads
        nodes.append(Node(id=shown[i], label=label, community=community, bridge=bridge, lead=lead, x=x, y=y))
    edges = [
        Edge(source=shown[network.source[i]], target=shown[network.target[i]], weight=int(network.weight[i]))
        for i in drawn.edges
    ]
    return NetworkView(
        report=names.mask(report),
        nodes=nodes,
        edges=edges,
        truncated=drawn.hidden_edges > 0,
        hidden_accounts=drawn.hidden_accounts,
        hidden_edges=drawn.hidden_edges,
    )


@router.get("/post/network", responses=documented(NetworkView), response_class=Response)
def api_post_network(
    request: Request, _: Reader, id: PostId, max_edges: Annotated[int, Query(ge=1, le=20_000)] = 1_500
) -> Response:
    """Who engaged with whom around the post (reposts, quotes, replies), with Leiden communities."""
    report, network = build(store_of(request), NetworkOptions(kind=NetworkKind.INTERACTION, post_id=id))
    audited(request, "view-post", id, part="network", via="api")
    return encoded(network_view(report, network, max_edges, pseudonyms(request)))


@router.get("/post/coordination/edge", responses=documented(views.PostEdge), response_class=Response)
def api_post_coordination_edge(
    request: Request, _: Reader, id: PostId, ends: EdgeEnds,
    window_s: Annotated[float, Query(gt=0, le=3600)] = 60.0,
) -> Response:  # fmt: skip
    """The evidence behind one edge of the post's coordination: every item both accounts acted on
    within the window in the post's first two days, with each one's message and the seconds apart."""
    found = views.post_edge(store_of(request), id, ends[0], ends[1], window_s)
    return shown(request, found, ("view-post", id), part="coordination-edge")


@router.get("/post/coordination", responses=documented(views.PostCoordination), response_class=Response)
def api_post_coordination(
    request: Request, _: Reader, id: PostId, window_s: Annotated[float, Query(gt=0, le=3600)] = 60.0
) -> Response:
    """Coordinated clusters (co-repost, co-link, co-hashtag, near-duplicate text) in the post's
    first two days that include an account that engaged with it."""
    return shown(
        request,
        views.post_coordination(store_of(request), id, window_s),
        ("view-post", id),
        part="coordination",
    )


@router.get("/post/reply-attacks", responses=documented(views.ReplyAttackView), response_class=Response)
def api_post_reply_attacks(request: Request, _: Reader, id: PostId) -> Response:
    """Whether the post's replies came in a coordinated attack (bursts from accounts that reply in
    concert across targets), with the score, the drivers and the attackers."""
    return shown(
        request, views.post_reply_attack(store_of(request), id), ("view-post", id), part="reply-attacks"
    )


@router.get("/post/spillover", responses=documented(spillover.SpilloverReport), response_class=Response)
def api_post_spillover(
    request: Request,
    _: Reader,
    id: PostId,
    person: Annotated[str, Query(min_length=1, max_length=200)],
    before_days: Annotated[float, Query(gt=0, le=365)] = spillover.BEFORE_HOURS / 24,
    after_days: Annotated[float, Query(gt=0, le=365)] = spillover.AFTER_HOURS / 24,
    harm: Annotated[Literal["aimed", "mentions"], Query()] = "aimed",
) -> Response:
    """Mentions and harmful mentions of a person before and after the post (reachwatch spillover):
    harm "aimed" at the person (default) or harmful posts that "mentions" them."""
    options = spillover.SpilloverOptions(
        before_hours=before_days * 24, after_hours=after_days * 24, harm=harm
    )
    return shown(
        request,
        spillover.spillover(store_of(request), person, id, options),
        ("view-post", id),
        part="spillover",
        person=person,
    )


def csv_response(header: list[str], rows: list[list[Any]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    # Cells that a spreadsheet would read as a formula are prefixed, so a post cannot run one.
    writer.writerows(safe_row(row) for row in rows)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/post/series.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def api_post_series_csv(request: Request, _: Investigator, id: PostId) -> Response:
    """The reach chart's data: cumulative engagements per kind at the end of each step."""
    found = reach.dossier(store_of(request), id)
    series = found.series
    kinds = sorted(series.kinds)
    rows = [
        [series.start_us + (i + 1) * series.step_us, *(series.kinds[kind][i] for kind in kinds), total]
        for i, total in enumerate(series.total)
    ]
    audited(request, "export", id, what="reach series CSV")
    return csv_response(["time_us", *kinds, "total"], rows, "reach-series.csv")


@router.get("/account", responses=documented(views.AccountView), response_class=Response)
def api_account(request: Request, _: Reader, id: AccountId, page: Page = 1) -> Response:
    """An account: its most engaged posts, posts per day, median engagement, top engagers.
    An ordinary account (one shown by pseudonym) is opened only under an open case."""
    account_gate(request, id)
    return shown(request, views.account_view(store_of(request), id, engager_page=page), ("view-account", id))


@router.get("/account/network", responses=documented(NetworkView), response_class=Response)
def api_account_network(
    request: Request,
    _: Reader,
    id: AccountId,
    max_edges: Annotated[int, Query(ge=1, le=20_000)] = 1_500,
) -> Response:
    """The accounts that engage with the account's posts, tied by the posts they engaged with
    together (on a post with more than 500 engagers, each to the 5 who engaged next), with Leiden
    communities; the account itself is left out, so this is its amplifiers' network, not a star."""
    account_gate(request, id)
    options = NetworkOptions(kind=NetworkKind.CO_ENGAGEMENT, author_id=id)
    report, network = build(store_of(request), options)
    audited(request, "view-account", id, part="network", via="api")
    return encoded(network_view(report, network, max_edges, pseudonyms(request)))


@router.get("/people", responses=documented(list[Person]), response_class=Response)
def api_people(request: Request, _: Reader) -> Response:
    """The registry of protected people."""
    return shown(request, views.people_list(store_of(request)), ("view-people", "people"))


@router.get("/person", responses=documented(views.PersonView), response_class=Response)
def api_person(
    request: Request, _: Reader, id: Annotated[str, Query(min_length=1, max_length=200)]
) -> Response:
    """A protected person: mentions and harmful mentions per day, and the watched posts before rises."""
    found = views.person_view(store_of(request), id)
    return shown(request, found, ("view-person", found.person.id))


@router.get("/person/reply-attacks", responses=documented(views.ReplyAttackView), response_class=Response)
def api_person_reply_attacks(
    request: Request, _: Reader, id: Annotated[str, Query(min_length=1, max_length=200)]
) -> Response:
    """The coordinated reply attacks on the person's posts and on posts naming them (two weeks)."""
    found = views.person_reply_attacks(store_of(request), id)
    return shown(request, found, ("view-person", found.subject), part="reply-attacks")


@router.get("/person/days.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def api_person_csv(
    request: Request, _: Investigator, id: Annotated[str, Query(min_length=1, max_length=200)]
) -> Response:
    """The person chart's data per day (UTC): posts targeting them, harmful posts aimed at them, and
    harmful posts targeting them whoever the abuse is aimed at."""
    found = views.person_view(store_of(request), id)
    rows: list[list[Any]] = [[day.day_us, day.mentions, day.aimed, day.harmful] for day in found.days]
    audited(request, "export", found.person.id, what="mentions per day CSV")
    return csv_response(
        ["day_us", "mentions", "harmful_aimed_at_them", "harmful_any_target"],
        rows,
        f"{found.person.id}-mentions.csv",
    )


@router.get("/narratives", responses=documented(list[narratives.NarrativeRow]), response_class=Response)
def api_narratives(request: Request, _: Reader) -> Response:
    """The tracked narratives: examples, keywords, calibrated threshold."""
    return shown(request, narratives.list_narratives(store_of(request)), ("view-narratives", "narratives"))


@router.get("/narrative", responses=documented(narratives.Spread), response_class=Response)
def api_narrative(
    request: Request, _: Reader, id: Annotated[str, Query(min_length=1, max_length=200)]
) -> Response:
    """Who carried a narrative, first to last, with the lag after the first and the engagement."""
    return shown(request, narratives.spread(store_of(request), id), ("view-narrative", id))


@router.get("/account/narratives", responses=documented(narratives.Timeline), response_class=Response)
def api_account_narratives(request: Request, _: Reader, id: AccountId) -> Response:
    """The narratives an account pushed, in order, and per week."""
    account_gate(request, id)
    return shown(request, narratives.timeline(store_of(request), id), ("view-account", id), part="narratives")


@router.get("/narratives/discover", responses=documented(narratives.Discovered), response_class=Response)
def api_discover(
    request: Request,
    _: Reader,
    since: Annotated[str, Query(min_length=1, max_length=40)],
    until: Annotated[str, Query(max_length=40)] = "",
    min_cluster_size: Annotated[int, Query(ge=2, le=10_000)] = 10,
    order: DiscoverOrderQuery = "size",
) -> Response:
    """Themes among the window's posts that no tracked narrative claims (near-identical texts
    merged first), ranked by size or by posts flagged harmful."""
    found = discover_window(request, since, until, min_cluster_size, order)
    return shown(request, found, ("discover", f"{since}..{until}"))


@router.get("/search", responses=documented(SearchPage), response_class=Response)
def api_search(
    request: Request,
    _: Reader,
    q: Annotated[str, Query(max_length=500)] = "",
    platform: Annotated[str | None, Query(max_length=50)] = None,
    author: Annotated[str | None, Query(max_length=500)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    lang: Annotated[str | None, Query(max_length=20)] = None,
    harm: Annotated[str | None, Query(pattern="^(any|offensive|hateful|threat)$")] = None,
    person: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    page: Page = 1,
    order: SearchOrderQuery = "newest",
) -> Response:
    """Search in the query language (words, "phrases", AND, OR, NOT or -word, parentheses,
    from:, since:, until:, lang:, harm:, person:, platform:) with filters, newest first or by
    relevance, paged; `understood` is the query as parsed."""
    filters = search_filters(platform, author_filter(request, author), since, until, lang, harm, person)
    found = search_page(request, q, filters, limit, page, order)
    return shown(request, found, ("search", q), **msgspec.structs.asdict(filters))

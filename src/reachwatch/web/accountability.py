"""Logging in and out, cases, reveals, the oversight report, the audit log and users: the pages and
API routes of accountability, over service/users, cases, privacy, oversight and audit."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote, urlencode, urlsplit

import msgspec
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from reachwatch.errors import AuthenticationError, PermissionDeniedError, RateLimitedError, UsageError
from reachwatch.service import audit, cases, oversight, privacy, retention, users
from reachwatch.service.users import Permission, Role
from reachwatch.web.auth import (
    SESSION_COOKIE,
    Admin,
    Anyone,
    Auditor,
    CaseReader,
    Investigator,
    Overseer,
    client_of,
    principal_or_none,
    pseudonyms,
)
from reachwatch.web.context import (
    TZ_COOKIE,
    TableFormat,
    audited,
    documented,
    download,
    encoded,
    parse_time,
    render,
    request_body,
    shown,
    store_of,
)
from reachwatch.web.filters import TIMEZONES

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["accountability"])
Text200 = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=5_000)]
CaseId = Annotated[str, Query(min_length=1, max_length=40)]
FormCaseId = Annotated[str, Form(min_length=1, max_length=40)]


def safe_next(target: str) -> str:
    """Only a path on this site: a login link cannot send anyone elsewhere."""
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return "/"
    return target


def back(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: Annotated[str, Query(max_length=2_000)] = "/") -> Response:
    return render(request, "login.html", {"next": safe_next(next), "failed": None}, None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    name: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=1_000)],
    next: Annotated[str, Form(max_length=2_000)] = "/",
) -> Response:
    """A new session (never one the browser brought along), in a cookie scripts cannot read."""
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise PermissionDeniedError("Log in from the reachwatch login page itself.")
    store = store_of(request)
    try:
        made = users.login(store, name, password, client_of(request))
    except (AuthenticationError, RateLimitedError) as exc:
        why = type(exc).__name__
        audit.record(
            store, name[:64], "login-failed", "session", detail={"client": client_of(request), "why": why}
        )
        status = 429 if isinstance(exc, RateLimitedError) else 401
        page = render(request, "login.html", {"next": safe_next(next), "failed": str(exc)}, None)
        page.status_code = status
        return page
    audit.record(store, name, "login", "session", detail={"client": client_of(request)})
    target = safe_next(next)
    if target == "/" and not made.principal.can(Permission.READ):
        target = "/audit"  # auditors start at the log: the monitored posts are not theirs to read
    response = back(target)
    settings = request.app.state.settings
    secure = request.url.scheme == "https" or settings.web_secure_cookies
    response.set_cookie(
        SESSION_COOKIE,
        made.token,
        max_age=int(users.BROWSER_SESSION_S),
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )
    return response


@router.post("/logout", response_class=RedirectResponse)
def logout(request: Request, who: Anyone) -> Response:
    users.logout(store_of(request), who)
    audit.record(store_of(request), who.name, "logout", "session")
    response = back("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/prefs/timezone", response_class=RedirectResponse)
def choose_time_zone(
    request: Request,
    _: Anyone,
    tz: Annotated[str, Form(max_length=64)],
    next: Annotated[str, Form(max_length=2_000)] = "/",
) -> Response:
    """Show times in this zone from now on (this browser); exports and the API stay in UTC."""
    if tz not in TIMEZONES:
        raise UsageError(f"{tz!r} is not a time zone offered here: choose one of {', '.join(TIMEZONES)}.")
    response = back(safe_next(next))
    response.set_cookie(TZ_COOKIE, tz, max_age=400 * 86_400, httponly=True, samesite="lax", path="/")
    return response


# Cases ------------------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request, who: CaseReader, status: Annotated[str, Query(pattern="^(|open|closed)$")] = ""
) -> Response:
    found = cases.list_for(store_of(request), who, status or None)
    return render(request, "cases.html", {"cases": found, "status": status}, ("view-cases", status or "all"))


@router.post("/cases", response_class=RedirectResponse)
def case_open(
    request: Request, who: Investigator, title: Text200, justification: LongText, legal_basis: Text200
) -> Response:
    case = cases.open_case(store_of(request), who, title, justification, legal_basis)
    users.work_on_case(store_of(request), who, case.id)
    return back(f"/case?id={quote(case.id)}")


@router.get("/case", response_class=HTMLResponse)
def case_page(request: Request, who: CaseReader, id: CaseId) -> Response:
    store = store_of(request)
    found = cases.view(store, who, id)
    _show_targets(request, found)
    context = {"c": found, "users": [u.name for u in users.list_users(store)]}
    return render(request, "case.html", context, ("view-case", id))


def _show_targets(request: Request, found: cases.CaseView) -> None:
    """A case's own officers see the accounts revealed under it; anyone else sees pseudonyms."""
    who = principal_or_none(request)
    if who is not None and who.name in found.members:
        for target in found.targets:
            pseudonyms(request).show(target.target_id)


@router.post("/case/join", response_class=RedirectResponse)
def case_join(
    request: Request, who: Investigator, id: FormCaseId, officer: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    cases.join(store_of(request), who, id, officer or None)
    return back(f"/case?id={quote(id)}")


@router.post("/case/close", response_class=RedirectResponse)
def case_close(request: Request, who: Investigator, id: FormCaseId) -> Response:
    cases.close(store_of(request), who, id)
    if who.case_id == id:
        users.work_on_case(store_of(request), who, None)
    return back(f"/case?id={quote(id)}")


@router.post("/case/work", response_class=RedirectResponse)
def case_work(request: Request, who: Investigator, id: Annotated[str, Form(max_length=40)] = "") -> Response:
    """Work under this case (its id goes into every audit entry), or under none (empty id)."""
    store = store_of(request)
    if id:
        case = cases.get(store, id)
        if case.status != "open" or not cases.is_member(store, id, who.name):
            raise PermissionDeniedError(f"Join {id} (an open case) before working under it.")
    users.work_on_case(store, who, id or None)
    return back(f"/case?id={quote(id)}" if id else "/cases")


@router.post("/case/clock", response_class=RedirectResponse)
def case_clock(
    request: Request,
    who: Investigator,
    id: FormCaseId,
    action: Annotated[str, Form(pattern="^(start|stop)$")],
) -> Response:
    (cases.start_clock if action == "start" else cases.stop_clock)(store_of(request), who, id)
    return back(f"/case?id={quote(id)}")


@router.post("/case/time", response_class=RedirectResponse)
def case_time(
    request: Request,
    who: Investigator,
    id: FormCaseId,
    minutes: Annotated[float, Form(gt=0, le=1440)],
    note: Text200 = "",
) -> Response:
    cases.log_time(store_of(request), who, id, minutes, note)
    return back(f"/case?id={quote(id)}")


# Reveals ----------------------------------------------------------------------------------------


def _key(request: Request) -> bytes:
    return pseudonyms(request).key


@router.get("/reveal", response_class=HTMLResponse)
def reveal_page(
    request: Request, who: Investigator, pseudonym: Annotated[str, Query(max_length=40)]
) -> Response:
    return render(request, "reveal.html", {"pseudonym": pseudonym, "revealed": None}, None)


@router.post("/reveal", response_class=HTMLResponse)
def reveal(
    request: Request,
    who: Investigator,
    pseudonym: Annotated[str, Form(max_length=40)],
    reason: Annotated[str, Form(max_length=1_000)],
) -> Response:
    found = privacy.reveal(store_of(request), who, _key(request), pseudonym, reason)
    pseudonyms(request).show(found.identity)
    return render(request, "reveal.html", {"pseudonym": pseudonym, "revealed": found}, None)


# Oversight, audit, users ------------------------------------------------------------------------


def _period(since: str, until: str) -> tuple[int, int]:
    return parse_time(since, "from") or 0, parse_time(until, "to") or 2**62


def _oversight(request: Request, since: str, until: str, account: str) -> oversight.OversightReport:
    settings = request.app.state.settings
    start, end = _period(since, until)
    found = oversight.report(
        store_of(request),
        start,
        end,
        account=account or None,
        hourly_rate=settings.oversight.hourly_rate,
        currency=settings.oversight.currency,
    )
    audited(request, "oversight", account or "all", since=since, until=until)
    return found


Since = Annotated[str, Query(alias="from", max_length=40)]
Until = Annotated[str, Query(alias="to", max_length=40)]
Account = Annotated[str, Query(max_length=500)]


OversightTable = Annotated[
    Literal["figures", "legal_bases", "officers"],
    Query(description="with a file format: which table of the report (one table per file)"),
]


@router.get("/oversight", response_class=HTMLResponse)
def oversight_page(
    request: Request, _: Overseer, since: Since = "", until: Until = "", account: Account = "",
    format: TableFormat = "html", table: OversightTable = "figures",
) -> Response:  # fmt: skip
    found = _oversight(request, since, until, account)
    if format != "html":
        rows, only = oversight.table(found, table)
        return download(request, rows, f"oversight-{table.replace('_', '-')}", format,
                        ("oversight", account or "all"), only)  # fmt: skip
    form = {"from": since, "to": until, "account": account}
    kept = retention.status(store_of(request), request.app.state.settings.retention)
    query = urlencode({k: v for k, v in form.items() if v})
    context = {"r": found, "form": form, "query": query, "retention": kept, "tables": oversight.TABLES}
    return render(request, "oversight.html", context, None)


@router.get("/oversight.csv", response_class=Response)
def oversight_csv(
    request: Request, _: Overseer, since: Since = "", until: Until = "", account: Account = "",
    table: OversightTable = "figures",
) -> Response:  # fmt: skip
    """One table of the report as CSV (the same file as /oversight?format=csv&table=…)."""
    return oversight_page(request, _, since, until, account, "csv", table)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    _: Auditor,
    limit: Annotated[int, Query(ge=1, le=5_000)] = 200,
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    case: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    store = store_of(request)
    found = audit.entries(store, limit, actor=actor or None, action=action or None, case_id=case or None)
    form = {"actor": actor, "action": action, "case": case}
    audited(request, "view-audit", "audit-log", who=actor, did=action, case=case)
    return render(request, "audit.html", {"entries": found, "check": audit.verify(store), "form": form}, None)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, _: Admin) -> Response:
    return render(
        request, "users.html", {"users": users.list_users(store_of(request)), "roles": list(Role)}, None
    )


@router.post("/users", response_class=RedirectResponse)
def users_add(
    request: Request,
    who: Admin,
    name: Annotated[str, Form(min_length=1, max_length=64)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=1_000)],
) -> Response:
    made = users.add_user(store_of(request), name, role, password)
    audit.record(store_of(request), who.name, "add-user", made.name, detail={"role": made.role})
    return back("/users")


@router.post("/users/disable", response_class=RedirectResponse)
def users_disable(
    request: Request, who: Admin, name: Annotated[str, Form(min_length=1, max_length=64)]
) -> Response:
    if name == who.name:
        raise PermissionDeniedError("You cannot disable yourself.")
    users.set_disabled(store_of(request), name)
    audit.record(store_of(request), who.name, "disable-user", name)
    return back("/users")


# API --------------------------------------------------------------------------------------------


class RevealRequest(msgspec.Struct, kw_only=True):
    case_id: str
    pseudonym: str
    reason: str


@api_router.get("/cases", responses=documented(list[cases.CaseRow]), response_class=Response)
def api_cases(
    request: Request, who: CaseReader, status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None
) -> Response:
    """Cases: every case for those who oversee, one's own for analysts."""
    return encoded(cases.list_for(store_of(request), who, status))


@api_router.get("/case", responses=documented(cases.CaseView), response_class=Response)
def api_case(request: Request, who: CaseReader, id: CaseId) -> Response:
    """A case: justification, legal basis, officers, targets and time."""
    found = cases.view(store_of(request), who, id)
    _show_targets(request, found)
    return shown(request, found, ("view-case", id))


@api_router.post(
    "/reveal",
    responses=documented(privacy.Revealed),
    response_class=Response,
    openapi_extra=request_body(RevealRequest),
)
async def api_reveal(request: Request, who: Investigator) -> Response:
    """Name the account behind a pseudonym, under an open case the caller is an officer of."""
    try:
        asked = msgspec.json.decode(await request.body(), type=RevealRequest)
    except msgspec.DecodeError as exc:
        from reachwatch.errors import UsageError

        raise UsageError(f"Send JSON {{case_id, pseudonym, reason}}: {exc}") from exc
    store = store_of(request)
    case = cases.get(store, asked.case_id)
    if not cases.is_member(store, case.id, who.name):
        raise PermissionDeniedError(f"You are not an officer of {case.id}.")
    users.work_on_case(store, who, case.id)
    return encoded(privacy.reveal(store, who, _key(request), asked.pseudonym, asked.reason))


@api_router.get("/oversight", responses=documented(oversight.OversightReport), response_class=Response)
def api_oversight(
    request: Request, _: Overseer, since: Since = "", until: Until = "", account: Account = ""
) -> Response:
    """Posts and accounts investigated, reasons, officers, hours, cost and reveals in a period."""
    return encoded(_oversight(request, since, until, account))


class AuditPage(msgspec.Struct, kw_only=True):
    entries: list[audit.AuditEntry]
    verification: audit.Verification


@api_router.get("/audit", responses=documented(AuditPage), response_class=Response)
def api_audit(request: Request, _: Auditor, limit: Annotated[int, Query(ge=1, le=5_000)] = 100) -> Response:
    """The newest audit entries and whether the chain holds."""
    store = store_of(request)
    found = AuditPage(entries=audit.entries(store, limit), verification=audit.verify(store))
    return shown(request, found, ("view-audit", "audit-log"))

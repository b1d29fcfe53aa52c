"""The alert inbox (list, filter, acknowledge, assign, comment, close, link to the dossier) and the
rules editor, with their API routes, over service/alerts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from reachwatch.service import alerts, cases, saved_searches, users
from reachwatch.web.auth import Configurer, Investigator, Reader
from reachwatch.web.context import TableFormat, documented, download, render, shown, store_of

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["alerts"])
Status = Annotated[str, Query(pattern="^(|open|acknowledged|closed)$")]
Severity = Annotated[str, Query(pattern="^(|low|medium|high|critical)$")]
RuleId = Annotated[str, Query(max_length=64)]
AlertId = Annotated[int, Query(ge=1, le=2**62)]
Page = Annotated[int, Query(ge=1, le=100_000)]
DOWNLOAD_ROWS = 10_000
# The inbox as a table: what the page shows, the reason in words, the figures as JSON.
ALERT_COLUMNS = (
    "id", "severity", "status", "title", "rule_id", "reason", "post_id", "post_text", "post_at_us",
    "author_id", "assignee", "raised_at_us", "updated_at_us", "features",
)  # fmt: skip


@router.get("/alerts", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    who: Reader,
    status: Status = "open",
    severity: Severity = "",
    rule: RuleId = "",
    mine: bool = False,
    page: Page = 1,
    format: TableFormat = "html",
) -> Response:
    found = alerts.inbox(
        store_of(request),
        status=status or None,
        severity=severity or None,
        rule_id=rule or None,
        assignee=who.name if mine else None,
        page=page,
        limit=50 if format == "html" else DOWNLOAD_ROWS,
    )
    if format != "html":
        return download(
            request, found.alerts, "alerts", format, ("view-alerts", "inbox"), only=ALERT_COLUMNS,
            status=status, severity=severity, rule=rule,
        )  # fmt: skip
    form = {"status": status, "severity": severity, "rule": rule, "mine": mine}
    rules = [r.id for r in alerts.active_rules(store_of(request)).rules]
    return render(
        request,
        "alerts.html",
        {
            "found": found,
            "form": form,
            "rules": rules,
            "pages": max(1, -(-found.total // 50)),
            "query": str(request.url.query),
        },
        ("view-alerts", "inbox"),
        status=status,
        severity=severity,
        rule=rule,
    )


@router.get("/alert", response_class=HTMLResponse)
def alert_page(request: Request, me: Reader, id: AlertId) -> Response:
    store = store_of(request)
    return render(
        request,
        "alert.html",
        {
            "v": alerts.view(store, id),
            "users": [u.name for u in users.list_users(store)],
            "my_cases": cases.open_cases_of(store, me),
        },
        ("view-alert", f"alert:{id}"),
    )


@router.post("/alert", response_class=RedirectResponse)
def alert_triage(
    request: Request,
    who: Investigator,
    id: Annotated[int, Form(ge=1, le=2**62)],
    action: Annotated[str, Form(pattern="^(acknowledge|assign|comment|case|close|reopen)$")],
    text: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    alerts.triage(store_of(request), who, id, action, text)
    return RedirectResponse(f"/alert?id={id}", status_code=303)


@router.get("/alerts/rules", response_class=HTMLResponse)
def rules_page(
    request: Request,
    _: Configurer,
    search: Annotated[str, Query(max_length=64, description="a saved search to add as a rule")] = "",
) -> Response:
    """The rules editor; with `search=NAME`, the saved search's rule is added for checking and saving."""
    text = alerts.rules_text(store_of(request))
    adding = saved_searches.get(store_of(request), search) if search else None
    if adding is not None:
        text = saved_searches.with_rule(text, adding)
    context = {"text": text, "problems": [], "saved": False, "adding": adding}
    return render(request, "rules.html", context, None)


@router.post("/alerts/rules", response_class=HTMLResponse)
def rules_save(request: Request, who: Configurer, text: Annotated[str, Form(max_length=200_000)]) -> Response:
    """Check and save the rules; a rule set with problems is shown back with each problem's line."""
    try:
        alerts.save_rules(store_of(request), text, who.name)
    except alerts.RuleError as exc:
        return render(request, "rules.html", {"text": text, "problems": exc.problems, "saved": False}, None)
    return render(request, "rules.html", {"text": text, "problems": [], "saved": True}, None)


@api_router.get("/alerts", responses=documented(alerts.AlertPage), response_class=Response)
def api_alerts(
    request: Request,
    _: Reader,
    status: Status = "",
    severity: Severity = "",
    rule: RuleId = "",
    page: Page = 1,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """The alert inbox, newest change first, filtered and paged."""
    found = alerts.inbox(
        store_of(request),
        status=status or None,
        severity=severity or None,
        rule_id=rule or None,
        page=page,
        limit=limit,
    )
    return shown(request, found, ("view-alerts", "inbox"), status=status, severity=severity, rule=rule)


@api_router.get("/alert", responses=documented(alerts.AlertView), response_class=Response)
def api_alert(request: Request, _: Reader, id: AlertId) -> Response:
    """An alert with its history (raised, escalated, triage) and its deliveries."""
    return shown(request, alerts.view(store_of(request), id), ("view-alert", f"alert:{id}"))


@api_router.post("/alert/acknowledge", responses=documented(alerts.AlertView), response_class=Response)
def api_acknowledge(request: Request, who: Investigator, id: AlertId) -> Response:
    """Acknowledge an alert (the caller is recorded)."""
    return shown(
        request, alerts.triage(store_of(request), who, id, "acknowledge"), ("view-alert", f"alert:{id}")
    )


@api_router.post("/alert/case", responses=documented(alerts.AlertView), response_class=Response)
def api_link_case(
    request: Request, who: Investigator, id: AlertId, case: Annotated[str, Query(min_length=1, max_length=64)]
) -> Response:
    """Link an alert, and its lead post, to an open case the caller works on (recorded in the
    alert's history, the case's targets and the audit log)."""
    return shown(
        request, alerts.triage(store_of(request), who, id, "case", case), ("view-alert", f"alert:{id}")
    )

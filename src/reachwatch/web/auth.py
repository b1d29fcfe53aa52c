"""Who is asking, and may they: sessions from a cookie (browsers) or a bearer token (scripts),
a role check on every route, CSRF checks on every change made with a cookie, and the pseudonyms
every response is shown through.

Routes declare what they need with `Allow(Permission.X)`; the authorisation matrix test calls
every route as every role and as nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from reachwatch.errors import AuthenticationError, PermissionDeniedError
from reachwatch.service import privacy, users
from reachwatch.service.users import Permission, Principal
from reachwatch.service.viewer import Viewer

SESSION_COOKIE = "reachwatch_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _token(request: Request) -> tuple[str, bool]:
    """(token, came from the cookie)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    return request.cookies.get(SESSION_COOKIE, ""), True


async def current(request: Request) -> Principal:
    """The logged-in principal; a change sent with the cookie must carry the session's CSRF token
    (header X-CSRF-Token, or the form field `csrf`) and come from this site."""
    found: Principal | None = getattr(request.state, "principal", None)
    if found is not None:
        return found
    token, from_cookie = _token(request)
    # The lookup is a database read: off the event loop, like the handlers.
    principal = await run_in_threadpool(users.authenticate, request.app.state.store, token)
    if from_cookie and principal.kind != "browser":
        raise AuthenticationError("API tokens go in the Authorization header.")
    if request.method in UNSAFE and from_cookie:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            sent = str((await request.form()).get(CSRF_FIELD) or "")
        origin = request.headers.get("origin") or request.headers.get("referer") or ""
        if not users.csrf_ok(principal, sent):
            raise PermissionDeniedError("The form's security token is missing or stale: reload the page.")
        if origin and urlsplit(origin).netloc != request.headers.get("host"):
            raise PermissionDeniedError("This form is accepted only from the reachwatch pages themselves.")
    request.state.principal = principal
    return principal


def allow(*permissions: Permission) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency admitting a principal holding any of `permissions`."""

    async def check(request: Request) -> Principal:
        principal = await current(request)
        if not any(principal.can(p) for p in permissions):
            principal.require(permissions[0])
        return principal

    return check


def Allow(*permissions: Permission) -> Any:  # noqa: N802  (reads as a type in signatures)
    return Annotated[Principal, Depends(allow(*permissions))]


Reader = Allow(Permission.READ)
Investigator = Allow(Permission.INVESTIGATE)
Configurer = Allow(Permission.CONFIGURE)
Overseer = Allow(Permission.OVERSEE)
Auditor = Allow(Permission.AUDIT)
Admin = Allow(Permission.ADMINISTER)
CaseReader = Allow(Permission.INVESTIGATE, Permission.OVERSEE)
Anyone = Annotated[Principal, Depends(current)]


def viewer_of(request: Request) -> Viewer:
    """This request's viewer (the access layer): who is looking, under which case, masked and audited."""
    found: Viewer | None = getattr(request.state, "viewer", None)
    if found is None:
        found = request.state.viewer = Viewer(
            request.app.state.store, request.app.state.settings, principal_or_none(request)
        )
    return found


def pseudonyms(request: Request) -> privacy.Pseudonyms:
    return viewer_of(request).names


def principal_or_none(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)

"""The ASGI app: one store shared by the pages (web/pages.py) and the REST API (web/api.py).

Handlers are plain functions that FastAPI runs in its thread pool; they call the service layer
and nothing else. Errors become one JSON shape under /api/v1 and an error page elsewhere.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from reachwatch import __version__
from reachwatch.config import Settings, load_settings
from reachwatch.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ReachwatchError,
    UsageError,
)
from reachwatch.service.store_access import Store
from reachwatch.web import filters

HERE = Path(__file__).parent
# Swagger UI's built files, as the fastapi-offline package ships them (updated with it, never a CDN).
SWAGGER_UI = Path(str(resources.files("fastapi_offline") / "static"))
SECURITY_HEADERS = {
    # Post text is hostile: no inline script runs, whatever a template might let through. Inline
    # styles are allowed: Cytoscape.js styles the elements it draws.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Same-origin: browsers then send a real Origin with form posts (the CSRF checks read it) and
    # never tell another site which post or account was open.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=str(HERE / "templates"))
    filters.register(found.env)

    @pass_context
    def csrf_field(context: Any) -> Markup:
        """The hidden field carrying the session's CSRF token, for every form that changes things."""
        me = context.get("me")
        return Markup('<input type="hidden" name="csrf" value="{}">').format(me.csrf if me else "")

    found.env.globals["csrf_field"] = csrf_field
    found.env.globals["timezones"] = filters.TIMEZONES
    return found


class WebMetrics:
    """The web server's own Prometheus registry (one per app, so tests and apps never share)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "reachwatch_http_requests", "Requests served", ["method", "status"], registry=self.registry
        )
        self.seconds = Histogram("reachwatch_http_request_seconds", "Time to answer", registry=self.registry)

    def observe(self, method: str, status: int, seconds: float) -> None:
        self.requests.labels(method=method, status=f"{status // 100}xx").inc()
        self.seconds.observe(seconds)


def create_app(store: Store, settings: Settings | None = None) -> FastAPI:
    from reachwatch.web import accountability, alerts, api, context, pages

    app = FastAPI(
        title="reachwatch",
        version=__version__,
        description="Reach, engagers, harm and aftermath of the posts of watched high-reach accounts.",
        # The docs page is the app's own (web/pages.py: Swagger UI from fastapi-offline's files,
        # under the pages' security policy); FastAPI's would load Swagger UI from a CDN.
        docs_url=None,
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    app.state.store = store
    app.state.settings = settings or load_settings()
    app.state.templates = templates()
    app.mount("/static/swagger", StaticFiles(directory=str(SWAGGER_UI)), name="swagger")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(accountability.router)
    app.include_router(accountability.api_router)
    app.include_router(alerts.router)
    app.include_router(alerts.api_router)

    def openapi() -> dict[str, Any]:
        """FastAPI's document with the response schemas msgspec made for each route."""
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            document.setdefault("components", {}).setdefault("schemas", {}).update(context.SCHEMAS)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    metrics = WebMetrics()

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        """Up, and the store answers: for load balancers and orchestrators (no data, no login)."""
        try:
            store.ping()
        except Exception as exc:  # any failure to reach the store is "not healthy", said why
            return JSONResponse({"status": "degraded", "store": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "store": "reachable", "version": __version__})

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        """Prometheus metrics of the web server: requests by method and status, latency."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response: Response = await call_next(request)
        metrics.observe(request.method, response.status_code, time.perf_counter() - started)
        response.headers.update(SECURITY_HEADERS)
        # The server's own time, for benchmarks and browsers' developer tools.
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    def failure(request: Request, status: int, code: str, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
        page = app.state.templates.TemplateResponse(
            request, "error.html",
            {"status": status, "message": message, "me": getattr(request.state, "principal", None)},
            status_code=status,
        )  # fmt: skip
        return page  # type: ignore[no-any-return]

    @app.exception_handler(AuthenticationError)
    async def unauthenticated(request: Request, exc: AuthenticationError) -> Response:
        if request.url.path.startswith("/api/"):
            return failure(request, 401, "unauthenticated", str(exc))
        target = "/login?next=" + quote(
            request.url.path + ("?" + request.url.query if request.url.query else "")
        )
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(PermissionDeniedError)
    async def forbidden(request: Request, exc: PermissionDeniedError) -> Response:
        return failure(request, 403, "forbidden", str(exc))

    @app.exception_handler(RateLimitedError)
    async def too_many(request: Request, exc: RateLimitedError) -> Response:
        return failure(request, 429, "rate-limited", str(exc))

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return failure(request, 404, "not-found", str(exc))

    @app.exception_handler(UsageError)
    async def bad_request(request: Request, exc: UsageError) -> Response:
        return failure(request, 400, "bad-request", str(exc))

    @app.exception_handler(ReachwatchError)
    async def domain_error(request: Request, exc: ReachwatchError) -> Response:
        return failure(request, 500, "error", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        return failure(request, 422, "invalid-request", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return failure(request, exc.status_code, "http-error", str(exc.detail))

    return app

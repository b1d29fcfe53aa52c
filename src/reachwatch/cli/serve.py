"""`reachwatch serve`: the web app and REST API over a store, on 127.0.0.1:8000 by default."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from reachwatch.cli.options import Db
from reachwatch.cli.render import console
from reachwatch.config import Settings, load_settings
from reachwatch.service.store_access import Store, open_store

Host = Annotated[str, typer.Option(help="Address to listen on (loopback by default).")]
Port = Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)]


def server_config(app: Any, host: str, port: int) -> Any:
    """uvicorn's settings for the app. Proxy headers are not trusted: a client could otherwise pick
    its own address with X-Forwarded-For and slip past (or abuse) the per-address login limit."""
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False,
        forwarded_allow_ips="",
    )  # fmt: skip


def run_server(
    store: Store, host: str, port: int, settings: Settings | None = None, *, retention_job: bool = True
) -> None:
    """Serve until interrupted (Ctrl-C), with the retention job in a thread when the deployment
    enabled it (never for the demo)."""
    import uvicorn

    from reachwatch.service import users
    from reachwatch.web.app import create_app

    if not users.list_users(store):
        console.print(
            "No users yet: add the first with `reachwatch users add NAME --role admin`, then log in.",
            markup=False,
        )
    console.print(
        f"Serving the dashboard on http://{host}:{port}/ (API: /api/v1, docs: /api/docs); Ctrl-C stops.",
        markup=False,
    )
    import threading

    from reachwatch.config import load_settings
    from reachwatch.service import retention

    chosen = settings or load_settings()
    stop = threading.Event()
    if retention_job and chosen.retention.enabled and chosen.retention.every_hours > 0:
        console.print(
            f"Retention runs every {chosen.retention.every_hours:g} hours ([retention] settings; "
            "`reachwatch retention --dry-run` shows what it would delete; a run that needs "
            "confirming waits for `reachwatch retention --yes`).",
            markup=False,
        )
        threading.Thread(
            target=retention.run_every, args=(store, chosen.retention, stop), name="retention", daemon=True
        ).start()
    try:
        uvicorn.Server(server_config(create_app(store, chosen), host, port)).run()
    finally:
        stop.set()


def serve(db: Db = None, host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Serve the web app: watch floor, post dossiers, accounts, protected people, search, /api/v1."""
    settings = load_settings(db=db)
    store = open_store(settings)
    try:
        run_server(store, host, port, settings)
    finally:
        store.close()

"""Server time of the web app under a bounded loopback load: the dossier page and API of a post
with N engagements, and the watch floor page and API.

Run: .venv/bin/python benchmarks/web_latency.py [--engagements 100000] [--requests 200] [--clients 4]
The store is dossier_latency.py's (one post of a 50M-follower author, N engagements, 120 earlier
posts), with the author watched. `reachwatch serve` runs in its own process (uvicorn); --clients
threads send --requests requests per route, one at a time each. The server's time is read from
its Server-Timing header (request in to response out, inside the app); the client's round trip
is reported beside it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx

from common import DATA, fresh_sqlite
from dossier_latency import AUTHOR, POST, build
from reachwatch.model import Account, WriteBatch
from reachwatch.service import users
from reachwatch.store.database import Store


def store_path(engagements: int) -> Path:
    path = DATA / f"web-{engagements}.db"
    if not path.exists():
        started = time.perf_counter()
        db = fresh_sqlite(f"web-{engagements}-building")
        build(db, engagements)
        store = Store.open(db)
        store.write_batch(WriteBatch(records=[Account(id=AUTHOR, platform="bluesky", watched=True)]))
        store.close()
        for suffix in ("", "-wal", "-shm"):
            source = DATA / f"web-{engagements}-building.db{suffix}"
            if source.exists():
                source.rename(DATA / f"web-{engagements}.db{suffix}")
        print(f"built the store in {time.perf_counter() - started:.0f} s")
    return path


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engagements", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    path = store_path(args.engagements)
    store = Store.open(str(path))
    if not any(user.name == "bench" for user in users.list_users(store)):
        users.add_user(store, "bench", "analyst", "bench-password-0")
    token = users.api_token(store, "bench", days=1)  # every request is authenticated, as in use
    store.close()
    auth = {"Authorization": f"Bearer {token}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "reachwatch", "serve", "--db", str(path), "--port", str(args.port)],
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/api/v1/stats", timeout=1, headers=auth)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        post = quote(POST, safe="")
        routes = {
            "dossier page": f"/post?id={post}",
            "dossier API": f"/api/v1/post?id={post}",
            "engager table (htmx)": f"/post/engagers?id={post}",
            "watch floor page": "/",
            "watch floor API": "/api/v1/floor",
        }
        print(
            f"{args.engagements:,} engagements; {args.clients} clients × "
            f"{args.requests // args.clients} requests per route"
        )
        for name, route in routes.items():
            with httpx.Client(base_url=base, timeout=60, headers=auth) as warm:
                assert warm.get(route).status_code == 200, route

            def one(_: int, route: str = route) -> tuple[float, float]:
                with httpx.Client(base_url=base, timeout=60, headers=auth) as client:
                    found = []
                    for _ in range(args.requests // args.clients):
                        started = time.perf_counter()
                        response = client.get(route)
                        elapsed = time.perf_counter() - started
                        server_ms = float(response.headers["server-timing"].split("dur=")[1])
                        found.append((server_ms, elapsed * 1000))
                    return found  # type: ignore[return-value]

            with ThreadPoolExecutor(args.clients) as pool:
                timings = [pair for chunk in pool.map(one, range(args.clients)) for pair in chunk]
            server_ms = [pair[0] for pair in timings]
            client_ms = [pair[1] for pair in timings]
            print(
                f"{name:<20} server p50 {statistics.median(server_ms):7.1f} ms  "
                f"p95 {percentile(server_ms, 0.95):7.1f} ms  p99 {percentile(server_ms, 0.99):7.1f} ms | "
                f"round trip p95 {percentile(client_ms, 0.95):7.1f} ms"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

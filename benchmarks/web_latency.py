"""Server time of the web app under a bounded loopback load: the dossier page and API of a post
with N engagements, and the watch floor page and API.

Run: .venv/bin/python benchmarks/web_latency.py [--engagements 100000] [--requests 200] [--clients 4]
         [--baseline REF]
The store is dossier_latency.py's (one post of a 50M-follower author, N engagements, 120 earlier
posts), with the author watched. `reachwatch serve` runs in its own process (uvicorn); --clients
threads send --requests requests per route, one at a time each. The server's time is read from
its Server-Timing header (request in to response out, inside the app). With --baseline, a
`git worktree` of that commit builds the same store with its own code and is served beside
today's on the next port, route by route in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx

from common import DATA, fresh_sqlite
from dossier_latency import AUTHOR, POST, build
from reachwatch.model import Account, WriteBatch
from reachwatch.store.database import Store

ROOT = Path(__file__).resolve().parents[1]


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


def token_for(src: Path, db: Path) -> str:
    """A bearer token of an analyst `bench`, made with that tree's own CLI (every request is
    authenticated, as in use)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cli = [sys.executable, "-m", "reachwatch"]
    subprocess.run(
        [*cli, "users", "add", "bench", "--role", "analyst", "--password-stdin", "--db", str(db)],
        input="bench-password-0\nbench-password-0\n",
        text=True,
        capture_output=True,
        env=env,
        check=False,
    )  # fmt: skip  (already there on a second run)
    made = subprocess.run([*cli, "users", "token", "bench", "--days", "1", "--db", str(db)],
                          capture_output=True, text=True, env=env, check=True)  # fmt: skip
    return made.stdout.strip().splitlines()[-1]


def baseline_store(tree: Path, ref: str, engagements: int) -> Path:
    """The same store built by the earlier tree's own benchmark code (its schema, its writer)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(tree / "src"),
        "REACHWATCH_BENCH_DATA": str(DATA / f"baseline-{ref}"),
    }
    code = (
        "import sys; sys.path.insert(0, '.'); from web_latency import store_path; "
        f"print(store_path({engagements}))"
    )
    made = subprocess.run([sys.executable, "-c", code], cwd=tree / "benchmarks", env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return Path(made.stdout.strip().splitlines()[-1])


def serve(src: Path, db: Path, port: int, auth: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "reachwatch", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(src)},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(base + "/api/v1/stats", timeout=1, headers=auth)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    return server, base


def measure(base: str, auth: dict[str, str], route: str, clients: int, requests: int) -> list[float]:
    """Server times (ms) of `requests` requests, `clients` at a time."""
    with httpx.Client(base_url=base, timeout=60, headers=auth) as warm:
        assert warm.get(route).status_code == 200, route

    def one(_: int) -> list[float]:
        with httpx.Client(base_url=base, timeout=60, headers=auth) as client:
            found = []
            for _ in range(requests // clients):
                response = client.get(route)
                found.append(float(response.headers["server-timing"].split("dur=")[1]))
            return found

    with ThreadPoolExecutor(clients) as pool:
        return [ms for chunk in pool.map(one, range(clients)) for ms in chunk]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engagements", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--baseline", help="an earlier commit to serve side by side (its own store)")
    args = parser.parse_args()
    post = quote(POST, safe="")
    routes = {
        "dossier page": f"/post?id={post}",
        "dossier API": f"/api/v1/post?id={post}",
        "engager table (htmx)": f"/post/engagers?id={post}",
        "watch floor page": "/",
        "watch floor API": "/api/v1/floor",
    }
    trees = {"now": (ROOT / "src", store_path(args.engagements))}
    scratch = tempfile.mkdtemp()
    if args.baseline:
        tree = Path(scratch) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.baseline],
                       check=True, capture_output=True)  # fmt: skip
        trees = {"before": (tree / "src", baseline_store(tree, args.baseline, args.engagements)), **trees}
    servers: list[subprocess.Popen[bytes]] = []
    try:
        bases: dict[str, tuple[str, dict[str, str]]] = {}
        for k, (name, (src, db)) in enumerate(trees.items()):
            auth = {"Authorization": f"Bearer {token_for(src, db)}"}
            server, base = serve(src, db, args.port + k, auth)
            servers.append(server)
            bases[name] = (base, auth)
        print(
            f"{args.engagements:,} engagements; {args.clients} clients × "
            f"{args.requests // args.clients} requests per route; server time (Server-Timing), ms"
        )
        print(f"{'route':<22}" + "".join(f"{name + ' p50':>12}{name + ' p95':>12}" for name in bases))
        for name, route in routes.items():
            found = {tree: measure(base, auth, route, args.clients, args.requests)
                     for tree, (base, auth) in bases.items()}  # fmt: skip
            cells = "".join(
                f"{statistics.median(ms):>12.1f}{percentile(ms, 0.95):>12.1f}" for ms in found.values()
            )
            ratio = ""
            if "before" in found:
                ratio = (
                    f"   p95 {percentile(found['before'], 0.95) / percentile(found['now'], 0.95):.1f}x faster"
                )
            print(f"{name:<22}{cells}{ratio}", flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        if args.baseline:
            worktree = str(Path(scratch) / "baseline")
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", worktree],
                           check=False, capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()

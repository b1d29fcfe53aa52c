"""How long each page takes to settle in a real browser, today's tree against an earlier commit, in
one run: from navigation to the moment the page, every request it makes after loading (htmx
fragments, the network JSON) and every network drawing are done.

Both trees build the seeded demo scenario into their own store (the same data) and serve it with
`reachwatch serve` in their own process; Debian's Chromium (Playwright) logs in once per tree and
loads each page `--runs` times, alternating trees. Settled = the latest of the load event, the last
response's end (after the network has been idle for 500 ms) and the instant every `.network`
drawing reports a state; the median is printed.

    .venv/bin/python benchmarks/browser_settle.py [--baseline ea561f9] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Page, sync_playwright

from common import worktree

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PASSWORD = "settle-benchmark-password"
SETTLED = """() => {
  const boxes = [...document.querySelectorAll('.network[data-url]')];
  return boxes.every((box) => box.dataset.state);
}"""
FINISHED = """() => {
  const ends = performance.getEntriesByType('resource').map((entry) => entry.responseEnd);
  const nav = performance.getEntriesByType('navigation')[0];
  return Math.max(nav ? nav.loadEventEnd : 0, ...ends);
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepared(src: Path, db: Path) -> None:
    """The demo scenario in a store of this tree's schema, with an admin to log in as."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cli = [sys.executable, "-m", "reachwatch"]
    subprocess.run([*cli, "demo", "--db", str(db), "--no-serve"], check=True, capture_output=True, env=env)
    subprocess.run([*cli, "users", "add", "bench", "--role", "admin", "--password-stdin", "--db", str(db)],
                   input=f"{PASSWORD}\n{PASSWORD}\n", text=True, check=True, capture_output=True,
                   env=env)  # fmt: skip


def serving(src: Path, db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(src)}
    process = subprocess.Popen(
        [sys.executable, "-m", "reachwatch", "serve", "--db", str(db), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{src}: the server did not start")


def pages(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        (trigger,) = conn.execute(
            "SELECT post_id FROM engagements GROUP BY post_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        (watched,) = conn.execute("SELECT id FROM accounts WHERE watched ORDER BY followers DESC").fetchone()
    return {
        "watch floor": "/",
        "post dossier (trigger)": f"/post?id={quote(trigger, safe='')}",
        "account (watched)": f"/account?id={quote(watched, safe='')}",
        "person": "/person?id=dana-whitfield",
        "search": "/search?q=Whitfield",
        "alerts": "/alerts",
        "narratives": "/narratives",
    }


def log_in(page: Page, base: str) -> None:
    page.goto(base + "/")
    page.fill('#login-form input[name="name"]', "bench")
    page.fill('#login-form input[name="password"]', PASSWORD)
    page.locator('#login-form button[type="submit"]').click()
    page.wait_for_selector("#me")


def settle_s(page: Page, url: str) -> float:
    page.goto(url, wait_until="load")
    page.wait_for_function(SETTLED, timeout=120_000, polling="raf")
    drawn = float(page.evaluate("performance.now()"))
    page.wait_for_load_state("networkidle")
    return max(drawn, float(page.evaluate(FINISHED))) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="ea561f9", help="the earlier commit to compare with")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as scratch,
        worktree(ROOT, args.baseline, Path(scratch) / "b") as baseline,
    ):
        servers: list[subprocess.Popen[bytes]] = []
        try:
            trees = {"before": baseline / "src", "now": ROOT / "src"}
            bases: dict[str, str] = {}
            for name, src in trees.items():
                db = Path(scratch) / f"{name}.db"
                prepared(src, db)
                process, bases[name] = serving(src, db)
                servers.append(process)
            paths = pages(Path(scratch) / "now.db")
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                tabs = {}
                for name, base in bases.items():
                    tabs[name] = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                    log_in(tabs[name], base)
                print(f"{'page':<26} {'before (s)':>10} {'now (s)':>8} {'ratio':>6}")
                for label, path in paths.items():
                    times: dict[str, list[float]] = {name: [] for name in bases}
                    for _ in range(args.runs):
                        for name, base in bases.items():
                            times[name].append(settle_s(tabs[name], base + path))
                    b, n = statistics.median(times["before"]), statistics.median(times["now"])
                    print(f"{label:<26} {b:>10.2f} {n:>8.2f} {b / n:>5.1f}x", flush=True)
                browser.close()
        finally:
            for process in servers:
                process.terminate()


if __name__ == "__main__":
    main()

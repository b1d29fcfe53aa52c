"""A scripted HTTP server on loopback: routes answer from recorded response shapes, and a fault
plan makes chosen requests fail (429 with reset headers, 5xx, a slow answer, a dropped connection,
a garbled body), so clients are tested against real sockets, not mocks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

Answer = tuple[int, dict[str, str], bytes]
Route = Callable[[dict[str, list[str]]], Answer]


@dataclass
class FakeHTTP:
    routes: dict[str, Route]
    faults: dict[int, str] = field(default_factory=dict)  # request number (1-based) → fault name
    requests: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # the requests that got a good answer
    port: int = 0
    base_url: str = ""
    streams: dict[str, Callable[[], Iterator[bytes]]] = field(default_factory=dict)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append(handler.path)
        number = len(self.requests)
        fault = self.faults.get(number)
        parsed = urlparse(handler.path)
        if fault == "429":
            self._send(
                handler, 429, {"ratelimit-remaining": "0", "ratelimit-reset": str(int(time.time()) + 1)}, b""
            )
            return
        if fault == "429-retry-after":
            self._send(handler, 429, {"retry-after": "1"}, b'{"error":"RateLimitExceeded"}')
            return
        if fault == "503":
            self._send(handler, 503, {}, b"upstream unavailable")
            return
        if fault == "slow":
            time.sleep(1.5)
        if fault == "drop":
            handler.wfile.flush()
            handler.connection.close()
            handler.close_connection = True
            return
        if parsed.path in self.streams:
            handler.send_response(200)
            handler.send_header("content-type", "text/event-stream")
            handler.end_headers()
            try:
                for chunk in self.streams[parsed.path]():
                    handler.wfile.write(chunk)
                    handler.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            handler.close_connection = True
            return
        route = self.routes.get(parsed.path)
        if route is None:
            self._send(handler, 404, {}, b'{"error":"NotFound"}')
            return
        status, headers, body = route(parse_qs(parsed.query))
        if fault == "garbled":
            body = body[: len(body) // 2]
        if fault != "slow":
            self.answered.append(handler.path)
        self._send(handler, status, headers, body)

    def _send(
        self, handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        try:
            handler.send_response(status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(body)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @contextmanager
    def running(self) -> Iterator[str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self.base_url
        finally:
            server.shutdown()
            server.server_close()

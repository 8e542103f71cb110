"""The loopback HTTP server under every fake provider (Twilio, Meta's Graph API, Kaspi, Satu): a fake
answers `respond(method, path, headers, raw)` with (status, JSON body, extra headers), or None to drop
the connection without an answer (a network failure); this module serves it on a free port."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any, dict[str, str]]
Responder = Callable[[str, str, dict[str, str], bytes], Answer | None]


def serve(
    respond: Responder,
    *,
    name: str,
    methods: Sequence[str] = ("POST",),
    content_type: str = "application/json",
    ensure_ascii: bool = True,
) -> tuple[ThreadingHTTPServer, str]:
    """Start answering `methods` through `respond` on 127.0.0.1; the server and its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = respond(self.command, self.path, headers, raw)
            if answer is None:
                self.close_connection = True
                self.connection.close()  # the answer never comes
                return
            status, body, extra = answer
            data = json.dumps(body, ensure_ascii=ensure_ascii).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for header, value in extra.items():
                self.send_header(header, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    for method in methods:
        setattr(Handler, f"do_{method}", Handler._serve)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=name, daemon=True).start()
    return server, f"http://{host!s}:{port}"


def shut(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()

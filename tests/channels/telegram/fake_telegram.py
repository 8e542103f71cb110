"""A local fake of the Telegram Bot API subset the connector uses: a real HTTP server on 127.0.0.1.

Speaks `/bot<token>/sendMessage`, `/bot<token>/getFile` and `/file/bot<token>/<path>`; a wrong token
gets 401 as Telegram answers it. Tests can script the next sendMessage answers (429 with retry_after,
400 chat not found, 403 blocked, 502). The `fake_telegram` fixture points
`settings.OMNIA_TELEGRAM_API_URL` at it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

TOKEN = "123:ABC"
BOT_ID = 123


@dataclass
class Call:
    method: str  # sendMessage, getFile, file
    token: str
    payload: dict[str, Any]
    status: int = 0  # the HTTP status the fake answered


@dataclass
class FakeTelegram:
    url: str = ""
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id → (file_path, content)
    _script: list[tuple[int, dict[str, Any] | bytes]] = field(default_factory=list)
    _next_message_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- scripting ---------------------------------------------------------------------------
    def fail_next(self, error_code: int, description: str, *, retry_after: int | None = None, times: int = 1) -> None:
        """The next `times` sendMessage calls answer this error (as Telegram shapes it)."""
        body: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self._script.extend([(error_code, body)] * times)

    def answer_raw_next(self, status: int, content: bytes) -> None:
        """The next sendMessage gets this raw HTTP answer (e.g. a proxy's HTML 502)."""
        self._script.append((status, content))

    def add_file(self, file_id: str, file_path: str, content: bytes) -> None:
        self.files[file_id] = (file_path, content)

    # --- inspection --------------------------------------------------------------------------
    def sent(self) -> list[dict[str, Any]]:
        """The sendMessage payloads that Telegram accepted."""
        return [c.payload for c in self.calls if c.method == "sendMessage" and c.status == 200]

    def attempts(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [c.payload for c in self.calls if c.method == method]

    # --- the Bot API ---------------------------------------------------------------------------
    def handle(self, http_method: str, path: str, query: str, body: bytes) -> tuple[int, str, bytes]:
        parts = path.lstrip("/").split("/")
        if parts[0] == "file" and len(parts) >= 3 and parts[1].startswith("bot"):
            token, file_path = parts[1][3:], "/".join(parts[2:])
            with self._lock:
                self.calls.append(Call("file", token, {"file_path": file_path}))
            if token != self.token:
                return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            for stored_path, content in self.files.values():
                if stored_path == file_path:
                    return 200, "application/octet-stream", content
            return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, method = parts[0][3:], parts[1]
        payload = self._payload(query, body)
        call = Call(method, token, payload)
        with self._lock:
            self.calls.append(call)
        answer = self._method(token, method, payload)
        call.status = answer[0]
        return answer

    def _method(self, token: str, method: str, payload: dict[str, Any]) -> tuple[int, str, bytes]:
        if token != self.token:
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if method == "sendMessage":
            return self._send_message(payload)
        if method == "getFile":
            return self._get_file(payload)
        return _json(404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})

    def _payload(self, query: str, body: bytes) -> dict[str, Any]:
        payload: dict[str, Any] = dict(parse_qsl(query))
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                data = dict(parse_qsl(body.decode()))
            if isinstance(data, dict):
                payload.update(data)
        return payload

    def _send_message(self, payload: dict[str, Any]) -> tuple[int, str, bytes]:
        with self._lock:
            scripted = self._script.pop(0) if self._script else None
        if scripted is not None:
            status, answer = scripted
            if isinstance(answer, bytes):
                return status, "text/html", answer
            return _json(status, answer)
        chat_id, text = payload.get("chat_id"), payload.get("text")
        if chat_id in (None, "") or not isinstance(text, str) or not text:
            return _json(400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"})
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return _json(400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"})
        with self._lock:
            self._next_message_id += 1
            message_id = self._next_message_id
        result = {
            "message_id": message_id,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "ShopBot", "username": "kz_shop_bot"},
            "chat": {"id": chat_id, "type": "private"},
            "date": 1736840000,
            "text": text,
        }
        return _json(200, {"ok": True, "result": result})

    def _get_file(self, payload: dict[str, Any]) -> tuple[int, str, bytes]:
        file_id = payload.get("file_id")
        if not isinstance(file_id, str) or file_id not in self.files:
            return _json(400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"})
        file_path, content = self.files[file_id]
        result = {"file_id": file_id, "file_unique_id": f"u{file_id[-6:]}", "file_size": len(content)}
        result["file_path"] = file_path
        return _json(200, {"ok": True, "result": result})


def _json(status: int, body: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body, ensure_ascii=False).encode()


def _handler(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, content_type, content = fake.handle(self.command, split.path, split.query, body)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows failures, not access logs

    return Handler


@pytest.fixture
def fake_telegram(settings: Any) -> Iterator[FakeTelegram]:
    """A running fake Bot API; settings.OMNIA_TELEGRAM_API_URL points at it for the test."""
    fake = FakeTelegram()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-telegram", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    fake.url = f"http://{host!s}:{port}"
    settings.OMNIA_TELEGRAM_API_URL = fake.url
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

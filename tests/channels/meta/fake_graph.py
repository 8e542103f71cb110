"""A fake Meta Graph API: a real HTTP server on 127.0.0.1 speaking the subset the connectors use.

POST /v{N}/{phone_number_id}/messages (WhatsApp Cloud) and /v{N}/{ig_user_id}/messages (Instagram):
checks the Bearer token of the object (401 with a Graph error otherwise), records every request,
answers with the provider's success shape, and can be told to fail once or for good.

Use the `fake_graph` fixture: it starts the server and points settings.OMNIA_META_GRAPH_URL at it.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from tests import fake_http

VERSION = "v21.0"
_PATH = re.compile(r"^/v\d+\.\d+/(?P<object_id>[^/?]+)/messages$")


@dataclass(frozen=True)
class GraphRequest:
    path: str
    object_id: str
    authorization: str
    json: Any


@dataclass(frozen=True)
class Failure:
    status: int
    code: int
    message: str
    details: str = ""
    subcode: int | None = None
    retry_after: int | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": "AFakeTraceId0001",
        }
        if self.details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": error}


@dataclass
class FakeGraph:
    """The server's state; tests arrange accounts, ids and failures, then read `requests`."""

    accounts: dict[str, str] = field(default_factory=dict)  # object id -> access token
    requests: list[GraphRequest] = field(default_factory=list)
    reply_ids: deque[str] = field(default_factory=deque)  # ids to hand out next (else generated)
    failures: deque[Failure] = field(default_factory=deque)  # served once each, in order
    always: Failure | None = None  # served to every request while set
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        """What OMNIA_META_GRAPH_URL is set to: the server with a Graph version."""
        return f"{self.url}/{VERSION}"

    def add_account(self, object_id: str, access_token: str) -> None:
        self.accounts[object_id] = access_token

    def fail_next(
        self,
        status: int,
        code: int,
        message: str,
        *,
        details: str = "",
        subcode: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.failures.append(Failure(status, code, message, details, subcode, retry_after))

    def fail_always(
        self, status: int, code: int, message: str, *, details: str = "", subcode: int | None = None
    ) -> None:
        self.always = Failure(status, code, message, details, subcode)

    # --- the server side ----------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, JSON body, extra headers) for one POST."""
        match = _PATH.match(path)
        if match is None:
            return 400, Failure(400, 2500, "Unknown path components: " + path).body(), {}
        object_id = match["object_id"]
        authorization = headers.get("authorization", "")
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        with self._lock:
            self.requests.append(GraphRequest(path, object_id, authorization, payload))
            if object_id not in self.accounts:
                message = f"Unsupported post request. Object with ID '{object_id}' does not exist"
                return 400, Failure(400, 100, message).body(), {}
            if authorization != f"Bearer {self.accounts[object_id]}":
                return 401, Failure(401, 190, "Invalid OAuth access token - Cannot parse access token").body(), {}
            failure = self.failures.popleft() if self.failures else self.always
            if failure is not None:
                extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return failure.status, failure.body(), extra
            number = next(self._counter)
            reply_id = self.reply_ids.popleft() if self.reply_ids else ""
        if not isinstance(payload, dict):
            return 400, Failure(400, 100, "(#100) The parameter messaging_product is required").body(), {}
        if payload.get("messaging_product") == "whatsapp":
            return self._whatsapp(payload, reply_id or f"wamid.FAKE{number:06d}")
        return self._instagram(payload, reply_id or f"aWdfZAG1faXRlbTpGQUtF{number:06d}")

    def _whatsapp(self, payload: dict[str, Any], reply_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        kind = payload.get("type")
        to = payload.get("to") or payload.get("recipient")
        valid = (
            to
            and (kind != "text" or (payload.get("text") or {}).get("body"))
            and (kind != "template" or (payload.get("template") or {}).get("name"))
            and kind in ("text", "template")
        )
        if not valid:
            return 400, Failure(400, 100, "(#100) Invalid parameter").body(), {}
        body = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": reply_id}],
        }
        return 200, body, {}

    def _instagram(self, payload: dict[str, Any], reply_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        recipient = (payload.get("recipient") or {}).get("id")
        if not recipient or not (payload.get("message") or {}).get("text"):
            return 400, Failure(400, 100, "(#100) Invalid parameter").body(), {}
        return 200, {"recipient_id": recipient, "message_id": reply_id}, {}

    def start(self) -> None:
        self._server, self.url = fake_http.serve(
            lambda _method, path, headers, raw: self.handle(path, headers, raw), name="fake-graph"
        )

    def stop(self) -> None:
        fake_http.shut(self._server)


@pytest.fixture
def fake_graph(settings: Any) -> Iterator[FakeGraph]:
    graph = FakeGraph()
    graph.start()
    settings.OMNIA_META_GRAPH_URL = graph.base_url
    try:
        yield graph
    finally:
        graph.stop()

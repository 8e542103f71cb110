"""A fake Twilio REST API: a real HTTP server on 127.0.0.1 speaking the Messages API subset the SMS
connector uses.

POST /2010-04-01/Accounts/{AccountSid}/Messages.json: checks HTTP Basic auth (AccountSid:AuthToken,
401 with Twilio's error 20003 otherwise), records every request with its form, answers 201 with a
message resource, and can be told to fail once or for good with Twilio's error JSON.

Use the `fake_twilio` fixture: it starts the server and points settings.OMNIA_TWILIO_API_URL at it.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests import fake_http

_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$")


@dataclass(frozen=True)
class TwilioRequest:
    path: str
    account_sid: str
    username: str  # from HTTP Basic auth
    password: str
    content_type: str
    form: dict[str, list[str]]

    def value(self, name: str) -> str:
        values = self.form.get(name)
        return values[0] if values else ""


@dataclass(frozen=True)
class Failure:
    status: int
    code: int
    message: str
    retry_after: int | None = None

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass
class FakeTwilio:
    """The server's state; tests arrange accounts and failures, then read `requests`."""

    accounts: dict[str, str] = field(default_factory=dict)  # AccountSid -> AuthToken
    requests: list[TwilioRequest] = field(default_factory=list)
    failures: deque[Failure] = field(default_factory=deque)  # served once each, in order
    always: Failure | None = None
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_account(self, account_sid: str, auth_token: str) -> None:
        self.accounts[account_sid] = auth_token

    def fail_next(self, status: int, code: int, message: str, *, retry_after: int | None = None) -> None:
        self.failures.append(Failure(status, code, message, retry_after))

    def fail_always(self, status: int, code: int, message: str) -> None:
        self.always = Failure(status, code, message)

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        match = _PATH.match(path)
        if match is None:
            return 404, Failure(404, 20404, "The requested resource was not found").body(), {}
        account = match["account"]
        username = password = ""
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                username, _, password = base64.b64decode(encoded).decode().partition(":")
        form = parse_qs(raw.decode(), keep_blank_values=True)
        request = TwilioRequest(path, account, username, password, headers.get("content-type", ""), form)
        with self._lock:
            self.requests.append(request)
            if self.accounts.get(username) != password or username != account:
                return 401, Failure(401, 20003, "Authenticate").body(), {}
            failure = self.failures.popleft() if self.failures else self.always
            if failure is not None:
                extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return failure.status, failure.body(), extra
            number = next(self._counter)
        to, body = request.value("To"), request.value("Body")
        if not to:
            return 400, Failure(400, 21604, "A 'To' phone number is required.").body(), {}
        if not request.value("From") and not request.value("MessagingServiceSid"):
            return 400, Failure(400, 21603, "A 'From' phone number is required.").body(), {}
        if not body and "MediaUrl" not in form:
            return 400, Failure(400, 21602, "Message body is required.").body(), {}
        sid = f"SM{number:032x}"
        resource = {
            "sid": sid,
            "account_sid": account,
            "to": to,
            "from": request.value("From") or None,
            "messaging_service_sid": request.value("MessagingServiceSid") or None,
            "body": body,
            "status": "accepted" if request.value("MessagingServiceSid") else "queued",
            "num_segments": "1",
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": "Thu, 26 Nov 2026 01:00:00 +0000",
            "error_code": None,
            "error_message": None,
            "price": None,
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }
        return 201, resource, {}

    def start(self) -> None:
        self._server, self.url = fake_http.serve(
            lambda _method, path, headers, raw: self.handle(path, headers, raw), name="fake-twilio"
        )

    def stop(self) -> None:
        fake_http.shut(self._server)


@pytest.fixture
def fake_twilio(settings: Any) -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    server.start()
    settings.OMNIA_TWILIO_API_URL = server.url
    try:
        yield server
    finally:
        server.stop()

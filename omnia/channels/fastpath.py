"""The providers' POSTs to /hooks/<provider>/<key> straight from ASGI, without Django's request cycle.

Under `omnia serve` (deferred ingest) a webhook call is only verified and stored before its 200: a few
tenths of a millisecond of work, which the middleware stack, the request object and the per-request
thread of Django's ASGI handler made ten times dearer. Here the body is read on the event loop and
`views.answer_post` — the very function the Django view calls, so both answer alike — runs in one of a few
worker threads, each keeping its database connection (closed after a call that met an error).

Only POSTs to a channel provider's hook take this path, and only when ingest is deferred; everything
else (the GET handshake, the carriers' tracking hooks, ingest applied inline) goes through Django.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connections
from django.http.request import split_domain_port, validate_host

from omnia.channels import views
from omnia.channels.models import Provider

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_HOOK = re.compile(r"^/hooks/(?P<provider>[a-z]+)/(?P<key>[-a-zA-Z0-9_]+)/?$")
_PROVIDERS = frozenset(Provider.values)


def match(scope: Scope) -> tuple[str, str] | None:
    """(provider, key) when this request takes the fast path."""
    if scope.get("type") != "http" or scope.get("method") != "POST" or not settings.OMNIA_INGEST_DEFERRED:
        return None
    found = _HOOK.match(scope.get("path", ""))
    if found is None or found["provider"] not in _PROVIDERS:
        return None
    return found["provider"], found["key"]


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").title()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def _host(scope: Scope, headers: dict[str, str]) -> str:
    host = headers.get("Host", "")
    if not host and scope.get("server"):
        server_host, port = scope["server"]
        host = f"{server_host}:{port}"
    return host


def public_url(scope: Scope, headers: dict[str, str], host: str) -> str:
    """The URL the provider requested, as views.public_url rebuilds it from a Django request."""
    query = scope.get("query_string", b"").decode("latin-1")
    return views.rebuild_url(
        scheme=scope.get("scheme", "http"),
        forwarded_proto=headers.get("X-Forwarded-Proto", ""),
        host=host,
        full_path=scope.get("root_path", "") + scope.get("path", "") + (f"?{query}" if query else ""),
    )


async def _body(receive: Receive) -> bytes | None:
    """The whole body, or None once it is larger than the webhook limit (the rest is not kept)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > views.MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


# The threads that answer: each keeps its database connection between calls (taken from the pool once),
# so a call costs one INSERT and its commit. A connection that met an error is closed after the call.
WORKERS = 4
_executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="omnia-hooks")


def close_connections() -> None:
    """Close the answering threads' database connections (a test's end, a server stopping): one task
    per thread, held at a barrier so that every thread takes one."""
    barrier = threading.Barrier(WORKERS)

    def close(_: int) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5)
        connections.close_all()

    list(_executor.map(close, range(WORKERS)))


def _answer(provider: str, key: str, headers: dict[str, str], body: bytes, url: str) -> views.Answer:
    try:
        return views.answer_post(provider=provider, key=key, headers=headers, body=body, url=url)
    except Exception:
        logger.exception("webhook %s/%s failed", provider, key)
        connections.close_all()  # not kept for the next call, whatever went wrong
        return views.error(500, "SERVER_ERROR", "Try again later.")
    finally:
        for connection in connections.all(initialized_only=True):
            if connection.errors_occurred:
                connection.close()


async def handle(scope: Scope, receive: Receive, send: Send, provider: str, key: str) -> None:
    headers = _headers(scope)
    host = _host(scope, headers)
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        answer = views.error(400, "HOST_INVALID", "Bad host.")
    else:
        body = await _body(receive)
        if body is None:
            answer = views.error(413, "PAYLOAD_TOO_LARGE", "The webhook body is too large.")
        else:
            url = public_url(scope, headers, host)
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(_executor, _answer, provider, key, headers, body, url)
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", answer.content_type.encode("latin-1")),
                (b"content-length", str(len(answer.body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})

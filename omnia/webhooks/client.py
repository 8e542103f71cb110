"""The one HTTP call of outgoing webhooks: POST a signed body, with a short timeout, no redirects followed.

Never raises: the outcome (status code, the start of the answer, or why there was none) is returned for
the delivery log. Only the first RESPONSE_LIMIT bytes of an answer are read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
TOTAL_SECONDS = 20.0  # an answer trickling in is cut off here (a send's claim lasts far longer)
RESPONSE_LIMIT = 4096  # bytes read from an answer
BODY_KEPT = 2000  # characters of an answer kept in the log


@dataclass(frozen=True)
class Outcome:
    status: int | None  # None: no HTTP answer at all
    body: str
    error: str
    duration_ms: int
    retry_after: int | None = None  # seconds, when a 429/503 said so

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _retry_after(value: str | None) -> int | None:
    if value and value.strip().isdigit():
        return int(value.strip())
    return None


def _text(body: bytes, encoding: str | None) -> str:
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url`; a 2xx answer is a success, anything else (or nothing) a failure."""
    started = time.monotonic()
    try:
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            received = b""
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= RESPONSE_LIMIT or time.monotonic() - started > TOTAL_SECONDS:
                    break
            text = _text(received[:RESPONSE_LIMIT], response.encoding)[:BODY_KEPT]
            elapsed = int((time.monotonic() - started) * 1000)
            error = ""
            if not 200 <= response.status_code < 300:
                error = f"HTTP {response.status_code}"
                if 300 <= response.status_code < 400:
                    error += " (redirects are not followed: give the final address)"
            return Outcome(
                status=response.status_code,
                body=text,
                error=error,
                duration_ms=elapsed,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
    except httpx.TimeoutException:
        reason = "timed out"
    except httpx.ConnectError as exc:
        reason = f"could not connect: {exc}" if str(exc) else "could not connect"
    except httpx.HTTPError as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Outcome(status=None, body="", error=reason[:500], duration_ms=int((time.monotonic() - started) * 1000))

"""The Kaspi.kz Shop API client (JSON:API over httpx), channels.md §8.

The base URL is `settings.OMNIA_KASPI_API_URL` (read on every call, so tests point it at a local fake).
Every failure is a KaspiError saying whether trying again later may help: 5xx, 429 and network
errors (the API answers only from Kazakh addresses: elsewhere it times out) are transient; 400, 401,
403, 404 and unreadable answers are permanent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
MEDIA_TYPE = "application/vnd.api+json"
MAX_WINDOW = dt.timedelta(days=14)  # the longest creationDate window the API accepts
PAGE_SIZE = 50  # the API allows up to 100


class KaspiError(Exception):
    """A call that did not succeed; `transient` when the same call may succeed later."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status


@dataclass(frozen=True)
class Page:
    """One page of `GET /orders`: the orders (JSON:API resources as sent) and the included customers."""

    orders: list[Any]
    included: list[Any] = field(default_factory=list)
    page_count: int = 1


def to_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: Any) -> dt.datetime:
    """An aware UTC datetime from epoch milliseconds; ValueError if it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected epoch milliseconds, got {value!r}")
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)


def windows(since: dt.datetime, until: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """[since, until] cut into consecutive windows the API accepts (≤ 14 days each)."""
    result = []
    start = since
    while start < until:
        end = min(start + MAX_WINDOW, until)
        result.append((start, end))
        start = end
    return result


def _base_url() -> str:
    return str(settings.OMNIA_KASPI_API_URL).rstrip("/")


def _describe(response: httpx.Response) -> str:
    """'HTTP 401: <the first JSON:API error title/detail>' or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        text = str(first.get("detail") or first.get("title") or "")
        if text:
            return f"HTTP {response.status_code}: {text}"
    if isinstance(body, dict) and body.get("message"):
        return f"HTTP {response.status_code}: {body['message']}"
    return f"HTTP {response.status_code}: {response.text[:200]}"


class KaspiClient:
    """Calls for one merchant token. Use as a context manager (one connection pool per poll)."""

    def __init__(self, token: str, *, base_url: str | None = None, timeout: httpx.Timeout = TIMEOUT) -> None:
        self._http = httpx.Client(
            base_url=(base_url or _base_url()) + "/",
            headers={"X-Auth-Token": token, "Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE},
            timeout=timeout,
        )

    def __enter__(self) -> KaspiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, params=params, json=json, headers=headers)
        except httpx.HTTPError as exc:
            logger.info("kaspi %s %s failed: %s", method, path, exc)
            raise KaspiError(f"network error: {exc.__class__.__name__}: {exc}", transient=True) from exc
        if not response.is_success:
            transient = response.status_code == 429 or response.status_code >= 500
            raise KaspiError(_describe(response), transient=transient, status=response.status_code)
        try:
            body = response.json()
        except ValueError as exc:
            raise KaspiError(f"not JSON: {response.text[:200]}", transient=False, status=response.status_code) from exc
        if not isinstance(body, dict):
            raise KaspiError(f"unexpected answer: {response.text[:200]}", transient=False, status=response.status_code)
        return body

    def orders_page(self, *, state: str, since: dt.datetime, until: dt.datetime, page: int, size: int) -> Page:
        """One page (from 0) of the orders in `state` created in [since, until] (≤ 14 days)."""
        if until - since > MAX_WINDOW:
            raise ValueError("Kaspi accepts a creation window of at most 14 days")
        params = {
            "page[number]": page,
            "page[size]": size,
            "filter[orders][state]": state,
            "filter[orders][creationDate][$ge]": to_ms(since),
            "filter[orders][creationDate][$le]": to_ms(until),
            "include[orders]": "user",
        }
        body = self._request("GET", "orders", params=params)
        data = body.get("data")
        if not isinstance(data, list):
            raise KaspiError("the order list has no `data` array", transient=False)
        included = body.get("included")
        meta = body.get("meta")
        page_count = meta.get("pageCount") if isinstance(meta, dict) else None
        return Page(
            orders=data,
            included=included if isinstance(included, list) else [],
            page_count=page_count if isinstance(page_count, int) else 1,
        )

    def orders(self, *, state: str, since: dt.datetime, until: dt.datetime, size: int | None = None) -> Iterator[Page]:
        """Every page of the orders in `state` created in [since, until], in order."""
        size = size or PAGE_SIZE
        number = 0
        while True:
            page = self.orders_page(state=state, since=since, until=until, page=number, size=size)
            yield page
            number += 1
            if number >= page.page_count or not page.orders:
                return

    def entries(self, order_id: str) -> list[Any]:
        """The order's entries (`orderentries` resources as sent)."""
        body = self._request("GET", f"orders/{order_id}/entries")
        data = body.get("data")
        if not isinstance(data, list):
            raise KaspiError(f"the entries of {order_id} have no `data` array", transient=False)
        return data

    def set_status(self, *, order_id: str, code: str, status: str, **attributes: Any) -> dict[str, Any]:
        """`POST /orders` changing the order's status (ACCEPTED_BY_MERCHANT, CANCELLED with a reason, …)."""
        payload = {
            "data": {"type": "orders", "id": order_id, "attributes": {"code": code, "status": status, **attributes}}
        }
        return self._request("POST", "orders", json=payload)

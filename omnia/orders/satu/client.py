"""The Satu.kz public API client (plain JSON over httpx), channels.md §9.

The base URL is `settings.OMNIA_SATU_API_URL` (read on every call, so tests point it at a local fake);
every request carries `Authorization: Bearer <token>`. Every failure is a SatuError saying whether
trying again later may help: 5xx, 429 and network errors are transient; 4xx and unreadable answers are
permanent. Satu answers 200 even when a status change fails: `set_status` checks that the order is in
`processed_ids` and raises a permanent SatuError (`refused`) otherwise.

`GET /orders/list` pages by `last_id`: the newest orders first, each page holding orders with ids below
the `last_id` given (the smallest id of the page before).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
PAGE_SIZE = 100
MAX_PAGES = 200  # one listing reads at most this many pages (20,000 orders)
SATU_TIME = ZoneInfo("Asia/Almaty")


class SatuError(Exception):
    """A call that did not succeed; `transient` when the same call may succeed later, `refused` when Satu
    answered but did not apply a status change."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None, refused: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status
        self.refused = refused


def format_date(moment: dt.datetime) -> str:
    """`date_from` as Satu reads it: local (Almaty) time, to the second, no offset."""
    return moment.astimezone(SATU_TIME).strftime("%Y-%m-%dT%H:%M:%S")


def _base_url() -> str:
    return str(settings.OMNIA_SATU_API_URL).rstrip("/")


def _error_text(body: Any) -> str:
    """The message of a Satu error body: `{"error": "…"}`, `{"message": "…"}` or `{"errors": {…}}`."""
    if not isinstance(body, dict):
        return ""
    for key in ("error", "message", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        return "; ".join(f"{key}: {value}" for key, value in errors.items())[:300]
    if isinstance(errors, list) and errors:
        return "; ".join(str(item) for item in errors)[:300]
    return ""


def _describe(response: httpx.Response) -> str:
    try:
        text = _error_text(response.json())
    except ValueError:
        text = ""
    return f"HTTP {response.status_code}: {text or response.text[:200]}"


def _ids(value: Any) -> set[int]:
    """`processed_ids` as ints (Satu sends numbers; strings of digits are taken too)."""
    found: set[int] = set()
    if isinstance(value, list):
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool):
                found.add(item)
            elif isinstance(item, str) and item.strip().isdigit():
                found.add(int(item))
    return found


class SatuClient:
    """Calls for one company token. Use as a context manager (one connection pool per poll)."""

    def __init__(self, token: str, *, base_url: str | None = None, timeout: httpx.Timeout = TIMEOUT) -> None:
        self._http = httpx.Client(
            base_url=(base_url or _base_url()) + "/",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
        )

    def __enter__(self) -> SatuClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as exc:
            logger.info("satu %s %s failed: %s", method, path, exc)
            raise SatuError(f"network error: {exc.__class__.__name__}: {exc}", transient=True) from exc
        if not response.is_success:
            transient = response.status_code == 429 or response.status_code >= 500
            raise SatuError(_describe(response), transient=transient, status=response.status_code)
        try:
            body = response.json()
        except ValueError as exc:
            raise SatuError(f"not JSON: {response.text[:200]}", transient=False, status=response.status_code) from exc
        if not isinstance(body, dict):
            raise SatuError(f"unexpected answer: {response.text[:200]}", transient=False, status=response.status_code)
        return body

    def orders_page(
        self,
        *,
        status: str | None = None,
        date_from: dt.datetime | None = None,
        last_id: int | None = None,
        limit: int = PAGE_SIZE,
    ) -> list[Any]:
        """One page of `GET /orders/list`: the orders as sent (newest first), below `last_id` if given."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        if date_from is not None:
            params["date_from"] = format_date(date_from)
        if last_id is not None:
            params["last_id"] = last_id
        body = self._request("GET", "orders/list", params=params)
        orders = body.get("orders")
        if not isinstance(orders, list):
            raise SatuError("the order list has no `orders` array", transient=False)
        return orders

    def orders(
        self,
        *,
        status: str | None = None,
        date_from: dt.datetime | None = None,
        stop_at: int | None = None,
        limit: int | None = None,
    ) -> Iterator[list[Any]]:
        """Every page, newest first, following `last_id` down until a page is short, or reaches an id
        at or below `stop_at` (everything there was read before)."""
        limit = limit or PAGE_SIZE
        cursor: int | None = None
        for _ in range(MAX_PAGES):
            page = self.orders_page(status=status, date_from=date_from, last_id=cursor, limit=limit)
            yield page
            ids = [order["id"] for order in page if isinstance(order, dict) and _is_id(order.get("id"))]
            if len(page) < limit or not ids:
                return
            lowest = min(ids)
            if (stop_at is not None and lowest <= stop_at) or (cursor is not None and lowest >= cursor):
                return  # reached what was read before, or the cursor did not move on
            cursor = lowest
        raise SatuError(f"more than {MAX_PAGES} pages of orders: read the rest next time", transient=True)

    def order(self, order_id: int) -> Any:
        """`GET /orders/{id}`: the order as sent."""
        body = self._request("GET", f"orders/{order_id}")
        order = body.get("order")
        if not isinstance(order, dict):
            raise SatuError(f"order {order_id}: the answer has no `order`", transient=False)
        return order

    def set_status(
        self, order_id: int, status: str, *, cancellation_reason: str = "", cancellation_text: str = ""
    ) -> dict[str, Any]:
        """`POST /orders/set_status` for one order; SatuError(refused=True) when it is not in `processed_ids`."""
        payload: dict[str, Any] = {"ids": [order_id], "status": status}
        if cancellation_reason:
            payload["cancellation_reason"] = cancellation_reason
        if cancellation_text:
            payload["cancellation_text"] = cancellation_text[:1000]
        body = self._request("POST", "orders/set_status", json=payload)
        if order_id not in _ids(body.get("processed_ids")):
            reason = _error_text(body) or "the order is not among processed_ids"
            raise SatuError(f"Satu did not apply {status}: {reason}", transient=False, refused=True)
        return body


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

"""A fake Satu.kz public API: a real HTTP server on 127.0.0.1 speaking the subset the import uses
(channels.md §9), with orders shaped as the Prom/Satu order schema.

GET /api/v1/orders/list (limit ≤ 100, status, date_from, last_id: the newest first, ids below last_id),
GET /api/v1/orders/{id}, and POST /api/v1/orders/set_status {"ids", "status", "cancellation_reason"?},
which answers 200 even when it applies nothing: applied ids are in `processed_ids`, the rest in
`errors`. Which statuses it writes is `writable` (set it to {"received", "delivered", "paid"} for the
Satu that refuses cancellations). Checks `Authorization: Bearer` (401 otherwise), records every request,
and can be told to fail a request once (an HTTP status, or "network": the connection drops).

Use the `fake_satu` fixture: it starts the server and points settings.OMNIA_SATU_API_URL at it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests import fake_http

TOKEN = "satu-3b9f1c0e7a2d4f6b8c0e1a3b5d7f9a1c"
ALMATY = ZoneInfo("Asia/Almaty")
PREFIX = "/api/v1"
_ONE = re.compile(r"^/api/v1/orders/(?P<id>\d+)$")
CANCEL_REASONS = {
    "not_available",
    "price_changed",
    "buyers_request",
    "not_enough_fields",
    "duplicate",
    "invalid_phone_number",
    "less_than_minimal_price",
    "another",
}
# Which status an order may move to from which (the cabinet's rules, as far as the import needs them).
MOVES = {
    "received": {"pending"},
    "paid": {"pending", "received"},
    "delivered": {"received", "paid"},
    "canceled": {"pending", "received", "paid"},
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class FakeSatu:
    """The server's state; tests add orders and failures, then read `requests` and `set_status_calls`."""

    token: str = TOKEN
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    extra: list[Any] = field(default_factory=list)  # raw orders listed first, as they are (malformed ones)
    writable: set[str] = field(default_factory=lambda: {"received", "delivered", "paid", "canceled"})
    silent: bool = False  # answer set_status with 200 and no processed_ids at all
    requests: list[Request] = field(default_factory=list)
    failures: deque[tuple[str, str, int | str]] = field(default_factory=deque)
    url: str = ""
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(2_000_001))
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"{self.url}{PREFIX}"

    def set_status_calls(self) -> list[dict[str, Any]]:
        """The bodies POSTed to set_status (applied or not), in order."""
        return [r.json for r in self.requests if r.method == "POST" and r.path.endswith("/set_status")]

    def listings(self) -> list[dict[str, str]]:
        """The query of every GET /orders/list, in order."""
        return [r.query for r in self.requests if r.method == "GET" and r.path.endswith("/orders/list")]

    def add_order(
        self,
        products: list[tuple[str, int, float]],
        *,
        created: dt.datetime | None = None,
        status: str = "pending",
        phone: str = "+77019876543",
        first_name: str = "Айгерим",
        last_name: str = "Сапарова",
        email: str = "aigerim@example.kz",
        delivery: str = "Доставка курьером",
        shipping_service: str | None = None,
        address: str = "Алматы, ул. Абая 10, кв. 5",
        payment: str = "Наличными",
        paid: bool = False,
        use_external_id: bool = False,
    ) -> int:
        """A Satu order shaped like the Prom/Satu order schema; returns its id."""
        order_id = next(self._ids)
        created = created or dt.datetime.now(dt.UTC)
        total = sum(quantity * price for _, quantity, price in products)
        self.orders[order_id] = {
            "id": order_id,
            "date_created": created.astimezone(dt.UTC).isoformat(),
            "date_modified": created.astimezone(dt.UTC).isoformat(),
            "client_first_name": first_name,
            "client_second_name": "",
            "client_last_name": last_name,
            "client_id": 7000 + order_id % 1000,
            "client": {"id": 7000 + order_id % 1000, "first_name": first_name, "last_name": last_name, "phone": phone},
            "client_notes": "Позвоните за час",
            "products": [
                {
                    "id": 900_000 + number,
                    "external_id": sku if use_external_id else f"feed-{number}",
                    "image": "https://images.satu.kz/fake.jpg",
                    "quantity": quantity,
                    "price": f"{price:,.0f} ₸".replace(",", " "),
                    "url": f"https://satu.kz/p{900_000 + number}.html",
                    "name": f"Товар {sku}",
                    "name_multilang": {"ru": f"Товар {sku}", "kk": f"Тауар {sku}"},
                    "total_price": f"{price * quantity:,.0f} ₸".replace(",", " "),
                    "measure_unit": "шт.",
                    "sku": "" if use_external_id else sku,
                    "cpa_commission": {"amount": "0.00", "is_refunded": False},
                }
                for number, (sku, quantity, price) in enumerate(products)
            ],
            "phone": phone,
            "email": email,
            "price": f"{total:,.0f} ₸".replace(",", " "),
            "full_price": f"{total:,.0f} ₸".replace(",", " "),
            "delivery_option": {"id": 11, "name": delivery, "shipping_service": shipping_service},
            "delivery_provider_data": None,
            "delivery_address": address,
            "delivery_cost": 0,
            "payment_option": {"id": 21, "name": payment},
            "payment_data": {"type": "prosale", "status": "paid" if paid else "unpaid", "status_modified": None},
            "status": status,
            "status_name": status,
            "source": "portal",
            "dont_call_customer_back": False,
            "cancellation": None,
        }
        return order_id

    def status_of(self, order_id: int) -> str:
        return str(self.orders[order_id]["status"])

    def fail_next(self, method: str, path_prefix: str, status: int | str) -> None:
        """The next `method` request whose path starts with `path_prefix` (under /api/v1) fails once:
        with that HTTP status, or the connection drops ("network")."""
        self.failures.append((method, PREFIX + path_prefix, status))

    # --- the server side ----------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int | str, Any]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        with self._lock:
            self.requests.append(Request(method, parts.path, query, headers, payload))
            if headers.get("authorization") != f"Bearer {self.token}":
                return 401, {"error": "Authorization required"}
            for index, (f_method, prefix, status) in enumerate(self.failures):
                if f_method == method and parts.path.startswith(prefix):
                    del self.failures[index]
                    return status, {"error": "Internal server error"}
            if method == "GET" and parts.path == f"{PREFIX}/orders/list":
                return self._list(query)
            match = _ONE.match(parts.path)
            if method == "GET" and match:
                order = self.orders.get(int(match["id"]))
                return (200, {"order": order}) if order else (404, {"error": "Order not found"})
            if method == "POST" and parts.path == f"{PREFIX}/orders/set_status":
                return self._set_status(payload)
        return 404, {"error": f"Not found: {parts.path}"}

    def _list(self, query: dict[str, str]) -> tuple[int, Any]:
        try:
            limit = int(query.get("limit", "100"))
            last_id = int(query["last_id"]) if "last_id" in query else None
            since = None
            if "date_from" in query:
                since = dt.datetime.fromisoformat(query["date_from"]).replace(tzinfo=ALMATY)
        except ValueError:
            return 400, {"error": "bad parameters"}
        if not 0 < limit <= 100:
            return 400, {"error": "limit must be 1..100"}
        found = [
            order
            for order in sorted(self.orders.values(), key=lambda o: -o["id"])
            if (last_id is None or order["id"] < last_id)
            and ("status" not in query or order["status"] == query["status"])
            and (since is None or dt.datetime.fromisoformat(order["date_created"]) >= since)
        ]
        if last_id is None:
            found = self.extra + found
        return 200, {"orders": found[:limit]}

    def _set_status(self, payload: Any) -> tuple[int, Any]:
        if not isinstance(payload, dict) or not isinstance(payload.get("ids"), list) or "status" not in payload:
            return 400, {"error": "ids and status are required"}
        if self.silent:
            return 200, {}
        status = payload["status"]
        processed, errors = [], {}
        for order_id in payload["ids"]:
            order = self.orders.get(order_id)
            if order is None:
                errors[str(order_id)] = "Order not found"
            elif status not in self.writable:
                errors[str(order_id)] = f"Status {status} cannot be set through the API"
            elif order["status"] not in MOVES.get(status, set()):
                errors[str(order_id)] = f"Cannot change {order['status']} to {status}"
            elif status == "canceled" and payload.get("cancellation_reason") not in CANCEL_REASONS:
                errors[str(order_id)] = "cancellation_reason is required"
            else:
                order["status"] = status
                if status == "canceled":
                    order["cancellation"] = {"title": payload["cancellation_reason"], "initiator": "seller"}
                processed.append(order_id)
        return 200, {"processed_ids": processed, "errors": errors}

    def start(self) -> None:
        def respond(method: str, path: str, headers: dict[str, str], raw: bytes) -> fake_http.Answer | None:
            status, body = self.handle(method, path, headers, raw)
            if status == "network":
                return None  # the answer never comes
            return int(status), body, {}

        self._server, self.url = fake_http.serve(respond, name="fake-satu", methods=("GET", "POST"), ensure_ascii=False)

    def stop(self) -> None:
        fake_http.shut(self._server)


@pytest.fixture
def fake_satu(settings: Any) -> Iterator[FakeSatu]:
    satu = FakeSatu()
    satu.start()
    settings.OMNIA_SATU_API_URL = satu.base_url
    try:
        yield satu
    finally:
        satu.stop()

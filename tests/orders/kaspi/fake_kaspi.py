"""A fake Kaspi.kz Shop API: a real HTTP server on 127.0.0.1 speaking the JSON:API subset the import uses
(channels.md §8.2–8.4).

GET /orders (page[number], page[size], filter[orders][state], filter[orders][creationDate][$ge]
required, a window of at most 14 days, include[orders]=user), GET /orders/{id}/entries, and
POST /orders changing a status with Kaspi's rules (ACCEPTED_BY_MERCHANT only from APPROVED_BY_BANK,
CANCELLED with a known reason, ASSEMBLE for Kaspi delivery). Checks X-Auth-Token (401 otherwise),
records every request, and can be told to fail a request once.

Use the `fake_kaspi` fixture: it starts the server and points settings.OMNIA_KASPI_API_URL at it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import fake_http

TOKEN = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo="
MEDIA_TYPE = "application/vnd.api+json"
DAY_MS = 24 * 3600 * 1000
_ENTRIES = re.compile(r"^/shop/api/v2/orders/(?P<id>[^/]+)/entries$")
CANCEL_REASONS = {"BUYER_CANCELLATION_BY_MERCHANT", "BUYER_NOT_REACHABLE", "MERCHANT_OUT_OF_STOCK"}


def ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class FakeKaspi:
    """The server's state; tests add orders and failures, then read `requests` and `posts`."""

    token: str = TOKEN
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> the `orders` resource
    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # id -> `orderentries`
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> `customers` resource
    extra: list[Any] = field(default_factory=list)  # raw resources listed as they are (malformed ones)
    requests: list[Request] = field(default_factory=list)
    failures: deque[tuple[str, str, int]] = field(default_factory=deque)  # (method, path prefix, status), once
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"{self.url}/shop/api/v2"

    @property
    def posts(self) -> list[Any]:
        """The bodies of the status changes Kaspi accepted or refused, in order."""
        return [r.json for r in self.requests if r.method == "POST"]

    def status_changes(self) -> list[tuple[str, str, str]]:
        """(code, status, cancellationReason) of every status change POSTed."""
        result = []
        for body in self.posts:
            attributes = body["data"]["attributes"]
            result.append((attributes["code"], attributes["status"], attributes.get("cancellationReason", "")))
        return result

    def add_order(
        self,
        code: str,
        *,
        entries: list[tuple[str, int, float]],
        created: dt.datetime,
        phone: str = "7019876543",
        first_name: str = "Ерлан",
        last_name: str = "Ахметов",
        state: str = "NEW",
        status: str = "APPROVED_BY_BANK",
        point: str = "15843453_PP1",
        delivery_mode: str = "DELIVERY_PICKUP",
        kaspi_delivery: bool = False,
        payment_mode: str = "PAY_WITH_CREDIT",
        address: dict[str, Any] | None = None,
        customer_inline: bool = True,
    ) -> str:
        """A Kaspi order shaped like the documented example; returns its id."""
        order_id = base64.b64encode(f"{code}:FAKE".encode()).decode()
        customer_id = base64.b64encode(f"7{phone}".encode()).decode()
        customer = {"id": customer_id, "name": None, "cellPhone": phone, "firstName": first_name, "lastName": last_name}
        attributes: dict[str, Any] = {
            "code": code,
            "totalPrice": float(sum(quantity * price for _, quantity, price in entries)),
            "paymentMode": payment_mode,
            "creationDate": ms(created),
            "approvedByBankDate": ms(created) + 10_000,
            "plannedDeliveryDate": ms(created) + 2 * DAY_MS,
            "deliveryCostForSeller": 0.0,
            "isKaspiDelivery": kaspi_delivery,
            "deliveryMode": delivery_mode,
            "signatureRequired": False,
            "creditTerm": 3,
            "preOrder": False,
            "pickupPointId": point,
            "state": state,
            "status": status,
            "deliveryCost": 0.0,
            "isImeiRequired": False,
        }
        if customer_inline:
            attributes["customer"] = customer
        if address is not None:
            attributes["deliveryAddress"] = address
        self.orders[order_id] = {
            "type": "orders",
            "id": order_id,
            "attributes": attributes,
            "relationships": {
                "entries": {
                    "links": {
                        "self": f"/v2/orders/{order_id}/relationships/entries",
                        "related": f"/v2/orders/{order_id}/entries",
                    }
                },
                "user": {"data": {"type": "customers", "id": customer_id}},
            },
            "links": {"self": f"/v2/orders/{order_id}"},
        }
        self.customers[customer_id] = {
            "type": "customers",
            "id": customer_id,
            "attributes": {k: v for k, v in customer.items() if k != "id"},
        }
        self.entries[order_id] = [
            {
                "type": "orderentries",
                "id": f"{order_id}-{number}",
                "attributes": {
                    "unitType": "PIECES",
                    "offer": {"code": sku, "name": f"Offer {sku}"},
                    "quantity": quantity,
                    "basePrice": price,
                    "totalPrice": price * quantity,
                    "entryNumber": number,
                    "category": {"code": "Master - Garlands", "title": "Гирлянды"},
                    "deliveryCost": 0.0,
                    "isImeiRequired": False,
                },
                "relationships": {
                    "product": {"data": {"type": "masterproducts", "id": f"MP-{sku}"}},
                    "deliveryPointOfService": {"data": {"type": "pointofservices", "id": point}},
                },
            }
            for number, (sku, quantity, price) in enumerate(entries)
        ]
        return order_id

    def status_of(self, order_id: str) -> str:
        return str(self.orders[order_id]["attributes"]["status"])

    def fail_next(self, method: str, path_prefix: str, status: int) -> None:
        """The next `method` request whose path starts with `path_prefix` (under /shop/api/v2) fails."""
        self.failures.append((method, "/shop/api/v2" + path_prefix, status))

    # --- the server side ----------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        with self._lock:
            self.requests.append(Request(method, parts.path, query, headers, payload))
            if headers.get("x-auth-token") != self.token:
                return 401, _errors(401, "Unauthorized", "Invalid X-Auth-Token")
            if MEDIA_TYPE not in headers.get("accept", ""):
                return 406, _errors(406, "Not Acceptable", "Accept application/vnd.api+json")
            for index, (f_method, prefix, status) in enumerate(self.failures):
                if f_method == method and parts.path.startswith(prefix):
                    del self.failures[index]
                    return status, _errors(status, "Internal Server Error", "try again later")
            if method == "GET" and parts.path == "/shop/api/v2/orders":
                return self._list(query)
            match = _ENTRIES.match(parts.path)
            if method == "GET" and match:
                if match["id"] not in self.entries:
                    return 404, _errors(404, "Not Found", "no such order")
                return 200, {"data": self.entries[match["id"]], "meta": {}}
            if method == "POST" and parts.path == "/shop/api/v2/orders":
                if MEDIA_TYPE not in headers.get("content-type", ""):
                    return 415, _errors(415, "Unsupported Media Type", "application/vnd.api+json")
                return self._change(payload)
        return 404, _errors(404, "Not Found", parts.path)

    def _list(self, query: dict[str, str]) -> tuple[int, Any]:
        required = ("page[number]", "page[size]", "filter[orders][state]", "filter[orders][creationDate][$ge]")
        missing = [name for name in required if name not in query]
        if missing:
            return 400, _errors(400, "Bad Request", f"missing {', '.join(missing)}")
        number, size = int(query["page[number]"]), int(query["page[size]"])
        since = int(query["filter[orders][creationDate][$ge]"])
        until = int(query.get("filter[orders][creationDate][$le]", since + 14 * DAY_MS))
        if not 0 < size <= 100 or until - since > 14 * DAY_MS:
            return 400, _errors(400, "Bad Request", "page[size] ≤ 100, a window of at most 14 days")
        state = query["filter[orders][state]"]
        found: list[Any] = [
            order
            for order in self.orders.values()
            if order["attributes"]["state"] == state and since <= order["attributes"]["creationDate"] <= until
        ]
        if state == "NEW":
            found = self.extra + found
        page = found[number * size : (number + 1) * size]
        body: dict[str, Any] = {
            "data": page,
            "meta": {"pageCount": max(1, -(-len(found) // size)), "totalCount": len(found)},
        }
        if query.get("include[orders]") == "user":
            ids = {_user_id(order) for order in page}
            body["included"] = [self.customers[i] for i in sorted(ids) if i in self.customers]
        return 200, body

    def _change(self, payload: Any) -> tuple[int, Any]:
        data = payload.get("data") if isinstance(payload, dict) else None
        order = self.orders.get(str(data.get("id"))) if isinstance(data, dict) else None
        if order is None or not isinstance(data, dict):
            return 400, _errors(400, "Bad Request", "no such order")
        wanted = data.get("attributes") or {}
        attributes = order["attributes"]
        current, status = attributes["status"], wanted.get("status")
        if wanted.get("code") != attributes["code"]:
            return 400, _errors(400, "Bad Request", "code does not match")
        if status == "ACCEPTED_BY_MERCHANT" and current == "APPROVED_BY_BANK":
            attributes["status"] = status
        elif (
            status == "CANCELLED"
            and current in ("APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT")
            and wanted.get("cancellationReason") in CANCEL_REASONS
        ):
            attributes["status"] = status
            attributes["cancellationReason"] = wanted["cancellationReason"]
        elif status == "ASSEMBLE" and attributes["isKaspiDelivery"] and current == "ACCEPTED_BY_MERCHANT":
            attributes["assembled"] = True
        else:
            return 400, _errors(400, "Bad Request", f"cannot change {current} to {status}")
        return 200, {"data": order}

    def start(self) -> None:
        def respond(method: str, path: str, headers: dict[str, str], raw: bytes) -> fake_http.Answer:
            status, body = self.handle(method, path, headers, raw)
            return status, body, {}

        self._server, self.url = fake_http.serve(
            respond, name="fake-kaspi", methods=("GET", "POST"), content_type=MEDIA_TYPE
        )

    def stop(self) -> None:
        fake_http.shut(self._server)


def _errors(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"errors": [{"status": str(status), "title": title, "detail": detail}]}


def _user_id(order: Any) -> str:
    try:
        return str(order["relationships"]["user"]["data"]["id"])
    except (KeyError, TypeError):
        return ""


@pytest.fixture
def fake_kaspi(settings: Any) -> Iterator[FakeKaspi]:
    kaspi = FakeKaspi()
    kaspi.start()
    settings.OMNIA_KASPI_API_URL = kaspi.base_url
    try:
        yield kaspi
    finally:
        kaspi.stop()

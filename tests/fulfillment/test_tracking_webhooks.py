"""The carrier tracking webhook, POST /hooks/carriers/<webhook_key>, as carriers call it: the generic signed
JSON and CDEK's order-status webhooks (posted here exactly as documented). Each event is applied once, in
time order; a bad signature, a bad body or an unknown tracking number changes no parcel and is kept as a
rejection."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client

from omnia.fulfillment.models import Carrier, Parcel, ParcelEvent, TrackingRejection
from omnia.fulfillment.tracking.cdek import STATUS_MAP
from omnia.orders.models import Order, Shipment
from omnia.webhooks import signing
from tests.fulfillment.test_parcels import NOW, Shop, create, make_carrier

pytestmark = pytest.mark.django_db

SECRET = "whsec_test-carrier-secret"


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def courier() -> Carrier:
    return make_carrier("fastcourier", tracking="generic", secret=SECRET, webhook_key="fast-9f8e7d6c5b4a39281706")


@pytest.fixture
def cdek() -> Carrier:
    return make_carrier("cdek", tracking="cdek", kind=Carrier.Kind.CDEK, webhook_key="cdek-0a1b2c3d4e5f60718293")


def at(minutes: int) -> str:
    return (NOW + dt.timedelta(minutes=minutes)).isoformat()


def signed_headers(body: bytes, stamp: int, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Omnia-Timestamp": str(stamp),
        "X-Omnia-Signature": signing.signature(secret=secret, timestamp=stamp, body=body),
    }


def post_generic(
    client: Client, carrier: Carrier, events: list[dict[str, Any]], *, secret: str = SECRET, timestamp: int = 0
) -> Any:
    body = json.dumps({"events": events}).encode()
    stamp = timestamp or int(NOW.timestamp())
    return client.post(
        f"/hooks/carriers/{carrier.webhook_key}",
        data=body,
        content_type="application/json",
        headers=signed_headers(body, stamp, secret),
    )


def event(number: str, status: str, minutes: int, event_id: str = "", **extra: Any) -> dict[str, Any]:
    item = {"tracking_number": number, "status": status, "at": at(minutes), **extra}
    if event_id:
        item["id"] = event_id
    return item


def cdek_payload(
    number: str, code: str, when: str, *, uuid: str = "72753031-5d01-4a13-a5d5-5b4a9f1d7a8c"
) -> dict[str, Any]:
    """CDEK's ORDER_STATUS webhook as its API v2 documentation shows it."""
    return {
        "type": "ORDER_STATUS",
        "date_time": when,
        "uuid": uuid,
        "attributes": {
            "is_return": False,
            "cdek_number": number,
            "number": "ALM-000123",
            "code": code,
            "status_code": "4" if code == "DELIVERED" else "3",
            "status_reason_code": "",
            "status_date_time": when,
            "city_name": "Астана",
            "city_code": "268",
        },
    }


def post_cdek(client: Client, carrier: Carrier, payload: Any) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    return client.post(f"/hooks/carriers/{carrier.webhook_key}", data=body, content_type="application/json")


def parcel_for(shop: Shop, carrier: Carrier, number: str) -> Parcel:
    return create(shop, shop.order(), carrier, tracking_number=number)


def test_generic_signed_events_move_the_parcel_and_the_order_follows(
    client: Client, shop: Shop, courier: Carrier, frozen: Any
) -> None:
    parcel = parcel_for(shop, courier, "FC-100")

    answer = post_generic(
        client,
        courier,
        [
            event("FC-100", "in_transit", 30, "ev-2", description="left the hub", place="Алматы"),
            event("FC-100", "handed_over", 10, "ev-1", description="picked up"),
        ],
    )

    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "applied": 2, "recorded": 0, "duplicates": 0}
    parcel.refresh_from_db()
    assert parcel.status == "in_transit"
    assert parcel.status_at == NOW + dt.timedelta(minutes=30)
    history = list(parcel.events.filter(source="webhook").values_list("status", "description", "place"))
    assert history == [("handed_over", "picked up", ""), ("in_transit", "left the hub", "Алматы")]  # in `at` order
    order = Order.objects.get(pk=parcel.shipment.order_id)
    assert order.status == "shipped"
    assert Shipment.objects.get(pk=parcel.shipment_id).status == "shipped"


def test_a_redelivered_call_is_applied_once(client: Client, shop: Shop, courier: Carrier, frozen: Any) -> None:
    parcel = parcel_for(shop, courier, "FC-100")
    events = [event("FC-100", "handed_over", 10, "ev-1"), event("FC-100", "delivered", 20)]  # one without an id

    first = post_generic(client, courier, events)
    again = post_generic(client, courier, events)

    assert first.json()["applied"] == 2
    assert again.status_code == 200
    assert again.json() == {"ok": True, "applied": 0, "recorded": 0, "duplicates": 2}
    assert parcel.events.filter(source="webhook").count() == 2
    parcel.refresh_from_db()
    assert parcel.status == "delivered"


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("wrong secret", None),
        ("no signature", {"X-Omnia-Timestamp": "1"}),
        ("expired", "old"),
        ("tampered", "tampered"),
    ],
)
def test_a_bad_or_expired_signature_is_refused_and_only_the_rejection_kept(
    client: Client, shop: Shop, courier: Carrier, frozen: Any, case: str, headers: Any
) -> None:
    parcel = parcel_for(shop, courier, "FC-100")
    events = [event("FC-100", "delivered", 10, "ev-1")]
    url = f"/hooks/carriers/{courier.webhook_key}"
    if case == "wrong secret":
        answer = post_generic(client, courier, events, secret="whsec_guess")
    elif headers == "old":
        answer = post_generic(client, courier, events, timestamp=int(NOW.timestamp()) - 301)
    elif headers == "tampered":
        body = json.dumps({"events": events}).encode()
        stamp = int(NOW.timestamp())
        signature = signing.signature(secret=SECRET, timestamp=stamp, body=body)
        tampered = body.replace(b"FC-100", b"FC-101")
        answer = client.post(
            url, data=tampered, content_type="application/json",
            headers={"X-Omnia-Timestamp": str(stamp), "X-Omnia-Signature": signature},
        )  # fmt: skip
    else:
        answer = client.post(url, data=b"{}", content_type="application/json", headers=headers)

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "SIGNATURE_INVALID"
    parcel.refresh_from_db()
    assert parcel.status == "created"
    assert not ParcelEvent.objects.filter(source="webhook").exists()
    rejection = TrackingRejection.objects.get()
    assert (rejection.carrier_id, rejection.reason) == (courier.pk, "signature")


def test_a_signature_within_five_minutes_is_accepted(client: Client, shop: Shop, courier: Carrier, frozen: Any) -> None:
    parcel_for(shop, courier, "FC-100")

    answer = post_generic(client, courier, [event("FC-100", "handed_over", 0)], timestamp=int(NOW.timestamp()) - 290)

    assert answer.status_code == 200


def test_an_unknown_key_is_404_and_a_carrier_moved_by_hand_takes_no_webhook(client: Client, frozen: Any) -> None:
    manual = make_carrier("own", tracking="manual", webhook_key="own-1234567890abcdef")

    unknown = client.post("/hooks/carriers/no-such-key", data=b"{}", content_type="application/json")
    by_hand = client.post(f"/hooks/carriers/{manual.webhook_key}", data=b"{}", content_type="application/json")

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "CARRIER_NOT_FOUND")
    assert (by_hand.status_code, by_hand.json()["error"]["code"]) == (404, "WEBHOOK_NOT_SUPPORTED")
    assert client.get("/hooks/carriers/no-such-key").status_code == 405


def test_an_unknown_tracking_number_is_logged_and_answered_404_the_others_applied(
    client: Client, shop: Shop, courier: Carrier, frozen: Any
) -> None:
    parcel = parcel_for(shop, courier, "FC-100")

    answer = post_generic(
        client, courier, [event("FC-999", "delivered", 5, "ev-9"), event("FC-100", "handed_over", 10, "ev-1")]
    )

    assert answer.status_code == 404
    body = answer.json()
    assert body["error"]["code"] == "TRACKING_NUMBER_UNKNOWN"
    assert "FC-999" in body["error"]["message"]
    assert (body["unknown"], body["applied"]) == (["FC-999"], 1)
    rejection = TrackingRejection.objects.get()
    assert (rejection.reason, rejection.tracking_number) == ("unknown_tracking_number", "FC-999")
    parcel.refresh_from_db()
    assert parcel.status == "handed_over"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b'{"events": {}}', "events"),
        (b'{"events": [{"tracking_number": "FC-100", "status": "lost", "at": "2026-11-20T10:00:00+05:00"}]}', "status"),
        (b'{"events": [{"tracking_number": "FC-100", "status": "delivered", "at": "yesterday"}]}', "at"),
        (
            b'{"events": [{"tracking_number": "FC-100", "status": "delivered", "at": "2026-11-20T10:00:00"}]}',
            "time zone",
        ),
        (b'{"events": [{"status": "delivered", "at": "2026-11-20T10:00:00Z"}]}', "tracking_number"),
    ],
)
def test_a_malformed_body_is_400_with_a_json_error_and_changes_nothing(
    client: Client, shop: Shop, courier: Carrier, frozen: Any, body: bytes, message: str
) -> None:
    parcel = parcel_for(shop, courier, "FC-100")
    stamp = int(NOW.timestamp())

    answer = client.post(
        f"/hooks/carriers/{courier.webhook_key}", data=body, content_type="application/json",
        headers=signed_headers(body, stamp),
    )  # fmt: skip

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "PAYLOAD_INVALID"
    assert message in error["message"]
    parcel.refresh_from_db()
    assert parcel.status == "created"
    assert TrackingRejection.objects.get().reason == "payload"


def test_out_of_order_events_are_recorded_but_never_move_the_parcel_back(
    client: Client, shop: Shop, courier: Carrier, frozen: Any
) -> None:
    parcel = parcel_for(shop, courier, "FC-100")
    post_generic(client, courier, [event("FC-100", "at_pickup_point", 60, "ev-3")])

    late_news = post_generic(
        client,
        courier,
        [event("FC-100", "in_transit", 30, "ev-2"), event("FC-100", "handed_over", 90, "ev-4")],
    )

    assert late_news.json() == {"ok": True, "applied": 0, "recorded": 2, "duplicates": 0}
    parcel.refresh_from_db()
    assert parcel.status == "at_pickup_point"
    assert parcel.status_at == NOW + dt.timedelta(minutes=60)
    assert list(parcel.events.filter(source="webhook").values_list("status", flat=True)) == [
        "in_transit", "at_pickup_point", "handed_over",
    ]  # fmt: skip

    # a failed attempt, then the carrier tries again: back in transit is a move the machine allows
    post_generic(client, courier, [event("FC-100", "failed", 120, "ev-5"), event("FC-100", "in_transit", 150, "ev-6")])
    parcel.refresh_from_db()
    assert parcel.status == "in_transit"


def test_cdek_status_webhooks_are_mapped_to_parcel_statuses(
    client: Client, shop: Shop, cdek: Carrier, frozen: Any
) -> None:
    parcel = parcel_for(shop, cdek, "1106207236")

    steps = [
        ("CREATED", "2026-11-20T15:00:00+0500", "created"),  # news only: registered at CDEK
        ("RECEIVED_AT_SHIPMENT_WAREHOUSE", "2026-11-20T16:00:00+0500", "handed_over"),
        ("SENT_TO_RECIPIENT_CITY", "2026-11-21T09:00:00+0500", "in_transit"),
        ("ACCEPTED_AT_PICK_UP_POINT", "2026-11-22T11:30:00+0500", "at_pickup_point"),
        ("DELIVERED", "2026-11-22T18:45:00+0500", "delivered"),
    ]
    seen = []
    for code, when, _ in steps:
        answer = post_cdek(client, cdek, cdek_payload("1106207236", code, when))
        assert answer.status_code == 200, answer.content
        parcel.refresh_from_db()
        seen.append(parcel.status)

    assert seen == [expected for _, _, expected in steps]
    assert parcel.status_at == dt.datetime(2026, 11, 22, 13, 45, tzinfo=dt.UTC)
    rows = list(parcel.events.filter(source="webhook").values_list("carrier_status", "status", "place"))
    assert rows[0] == ("CREATED", "", "Астана")
    assert rows[-1] == ("DELIVERED", "delivered", "Астана")
    assert Shipment.objects.get(pk=parcel.shipment_id).status == "delivered"
    assert Order.objects.get(pk=parcel.shipment.order_id).status == "delivered"

    again = post_cdek(client, cdek, cdek_payload("1106207236", "DELIVERED", "2026-11-22T18:45:00+0500"))
    assert again.json()["duplicates"] == 1


def test_cdek_failures_and_returns(client: Client, shop: Shop, cdek: Carrier, frozen: Any) -> None:
    parcel = parcel_for(shop, cdek, "1106207237")

    post_cdek(client, cdek, cdek_payload("1106207237", "TAKEN_BY_COURIER", "2026-11-21T09:00:00+0500"))
    post_cdek(client, cdek, cdek_payload("1106207237", "NOT_DELIVERED", "2026-11-21T19:00:00+0500"))
    parcel.refresh_from_db()
    assert parcel.status == "failed"
    assert Shipment.objects.get(pk=parcel.shipment_id).status == "shipped"  # it left the shelf with the courier

    post_cdek(client, cdek, cdek_payload("1106207237", "RETURNED", "2026-11-24T12:00:00+0500"))
    parcel.refresh_from_db()
    assert parcel.status == "returned"


def test_the_cdek_mapping_covers_the_documented_codes() -> None:
    documented = {
        "CREATED": None, "ACCEPTED": None, "RECEIVED_AT_SHIPMENT_WAREHOUSE": "handed_over",
        "READY_FOR_SHIPMENT_IN_SENDER_CITY": "handed_over", "TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY": "in_transit",
        "SENT_TO_TRANSIT_CITY": "in_transit", "ACCEPTED_IN_TRANSIT_CITY": "in_transit",
        "SENT_TO_RECIPIENT_CITY": "in_transit", "ACCEPTED_IN_RECIPIENT_CITY": "in_transit",
        "ACCEPTED_AT_PICK_UP_POINT": "at_pickup_point", "POSTOMAT_POSTED": "at_pickup_point",
        "TAKEN_BY_COURIER": "in_transit", "DELIVERED": "delivered", "POSTOMAT_RECEIVED": "delivered",
        "NOT_DELIVERED": "failed", "RETURNED": "returned", "INVALID": "failed",
    }  # fmt: skip
    assert {code: STATUS_MAP[code] for code in documented} == documented


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b'{"type": "PRINT_FORM", "attributes": {}}',
        b'{"type": "ORDER_STATUS", "attributes": {"code": "DELIVERED", "status_date_time": "2026-11-22T18:45:00Z"}}',
        b'{"type": "ORDER_STATUS", "attributes": {"cdek_number": "1", "code": "DELIVERED"}}',
    ],
)
def test_a_cdek_body_that_is_not_an_order_status_is_400(
    client: Client, cdek: Carrier, frozen: Any, payload: bytes
) -> None:
    answer = post_cdek(client, cdek, payload)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "PAYLOAD_INVALID"


def test_a_cdek_number_of_no_parcel_is_404(client: Client, shop: Shop, cdek: Carrier, frozen: Any) -> None:
    answer = post_cdek(client, cdek, cdek_payload("999", "DELIVERED", "2026-11-22T18:45:00+0500"))

    assert answer.status_code == 404
    assert TrackingRejection.objects.filter(carrier=cdek, tracking_number="999").exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_four_times_at_once_is_applied_once(frozen: Any) -> None:
    shop = Shop()
    courier = make_carrier("fastcourier", tracking="generic", secret=SECRET, webhook_key="fast-9f8e7d6c5b4a39281706")
    parcel = parcel_for(shop, courier, "FC-100")
    events = [event("FC-100", "handed_over", 10, "ev-1"), event("FC-100", "delivered", 20, "ev-2")]
    barrier = threading.Barrier(4)
    answers: list[dict[str, Any]] = []
    lock = threading.Lock()

    def deliver() -> None:
        try:
            barrier.wait()
            answer = post_generic(Client(), courier, events)
            with lock:
                answers.append(answer.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(a["applied"] for a in answers) == 2
    assert sum(a["duplicates"] for a in answers) == 6
    assert parcel.events.filter(source="webhook").count() == 2
    parcel.refresh_from_db()
    assert parcel.status == "delivered"
    assert shop.level(shop.garland) == (18, 0)  # the units left the shelf once


def test_a_cdek_order_refused_before_it_was_taken_fails_without_leaving_the_shelf(
    client: Client, shop: Shop, cdek: Carrier, frozen: Any
) -> None:
    parcel = parcel_for(shop, cdek, "1106207238")

    answer = post_cdek(client, cdek, cdek_payload("1106207238", "INVALID", "2026-11-20T15:00:00+0500"))

    assert answer.json()["applied"] == 1
    parcel.refresh_from_db()
    assert parcel.status == "failed"
    assert Shipment.objects.get(pk=parcel.shipment_id).status == "pending"
    assert shop.level(shop.garland) == (20, 2)  # still reserved, on the shelf


@pytest.mark.django_db(transaction=True)
def test_a_carrier_posting_over_real_http_is_answered_as_documented(live_server: Any) -> None:
    """The README's sender snippet, over a socket: raw bytes signed, sent, applied, answered."""
    import hashlib
    import hmac
    import time

    import httpx

    shop = Shop()
    courier = make_carrier("fastcourier", tracking="generic", secret=SECRET, webhook_key="fast-9f8e7d6c5b4a39281706")
    parcel = parcel_for(shop, courier, "FC-100")
    url = f"{live_server.url}/hooks/carriers/{courier.webhook_key}"

    def post_events(secret: str, events: list[dict[str, Any]]) -> httpx.Response:
        body = json.dumps({"events": events}).encode()
        timestamp = str(int(time.time()))
        digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Omnia-Timestamp": timestamp,
            "X-Omnia-Signature": f"sha256={digest}",
        }
        return httpx.post(url, content=body, headers=headers, timeout=10)

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    delivered = post_events(
        SECRET, [{"id": "e1", "tracking_number": "FC-100", "status": "delivered", "at": now.isoformat()}]
    )
    forged = post_events(
        "whsec_guess", [{"id": "e2", "tracking_number": "FC-100", "status": "returned", "at": now.isoformat()}]
    )

    assert (delivered.status_code, delivered.json()["applied"]) == (200, 1)
    assert (forged.status_code, forged.json()["error"]["code"]) == (403, "SIGNATURE_INVALID")
    parcel.refresh_from_db()
    assert parcel.status == "delivered"


def test_a_parcel_created_after_the_carrier_took_it_still_takes_the_earlier_scans(
    client: Client, shop: Shop, courier: Carrier, frozen: Any
) -> None:
    parcel = parcel_for(shop, courier, "FC-100")  # created at NOW

    answer = post_generic(client, courier, [event("FC-100", "handed_over", -60, "ev-1")])  # scanned an hour before

    assert answer.json()["applied"] == 1
    parcel.refresh_from_db()
    assert parcel.status == "handed_over"
    assert parcel.status_at == NOW - dt.timedelta(minutes=60)

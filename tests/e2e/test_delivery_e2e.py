"""Delivery as an operator lives it in the demo shop: an order placed by the website for delivery in Almaty
shows its delivery options on the order page (the shop's couriers, CDEK's pick-up points, the stores), and
choosing one adds its price to the order's total."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console_shell import log_in

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e


def test_an_operator_chooses_the_delivery_of_a_website_order(page: Page, demo_server: DemoServer) -> None:
    api = page.context.request
    headers = {"Authorization": f"Bearer {demo_server.info['api_token']}"}
    locations = api.get("/api/v1/locations", headers=headers).json()
    warehouse = next(loc for loc in locations if loc["ships"])
    variants = api.get("/api/v1/variants", params={"active": "true", "limit": 5}, headers=headers).json()["items"]
    sku = variants[0]["sku"]
    received = api.post(
        "/api/v1/stock/receipts", headers=headers,
        data={"location": warehouse["code"], "lines": [{"sku": sku, "quantity": 2}], "reference": "e2e delivery"},
    )  # fmt: skip
    assert received.ok, received.text()
    placed = api.post(
        "/api/v1/orders", headers={**headers, "Idempotency-Key": secrets.token_hex(8)},
        data={"customer": {"phone": f"+7707{secrets.randbelow(10**7):07d}", "name": "Алия E2E"}, "source": "web",
              "lines": [{"sku": sku, "quantity": 1}],
              "fulfillment": {"type": "delivery", "address": {"city": "Алматы", "line1": "пр. Абая, 150"}}},
    )  # fmt: skip
    assert placed.status == 201, placed.text()
    order = placed.json()

    log_in(page, demo_server, "operator")
    page.goto(f"/orders/{order['id']}/")
    page.wait_for_load_state("load")
    options = page.locator("[data-testid=delivery-options] .delivery-option")
    expect(options.first).to_be_visible()
    courier = page.locator(".delivery-option[data-kind=courier]", has_text="Свои курьеры")
    expect(courier).to_have_count(1)
    expect(page.locator(".delivery-option[data-kind=pickup_point]").first).to_be_visible()
    expect(page.locator(".chip-cheapest")).to_have_count(1)

    courier.get_by_role("button").click()
    page.wait_for_load_state("load")
    expect(page.locator("[data-testid=delivery-choice]")).to_be_visible()
    expect(page.locator("[data-testid=delivery-choice]")).to_contain_text("Свои курьеры")
    chosen = api.get(f"/api/v1/orders/{order['id']}/delivery", headers=headers).json()
    assert chosen["choice"]["carrier"] == "own"
    assert Decimal(chosen["total"]) == Decimal(order["total"]) + Decimal(chosen["delivery_price"])

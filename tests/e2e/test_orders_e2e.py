"""The order book as an operator lives it: an order placed by the website over the API is found in the list
by its channel and number, confirmed, paid at the counter (the order becomes paid by itself), handed over,
and one unit is brought back to the store — which puts it back on the shelf."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import APIRequestContext, Page, expect

from tests.e2e.test_console_shell import log_in

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e


def on_hand(api: APIRequestContext, headers: dict[str, str], sku: str, code: str) -> int:
    answer = api.get("/api/v1/availability", params={"sku": sku}, headers=headers)
    assert answer.ok, answer.text()
    rows = [row for row in answer.json()["locations"] if row["code"] == code]
    return int(rows[0]["on_hand"]) if rows else 0


def place_web_order(api: APIRequestContext, headers: dict[str, str]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """A pick-up order of 2 units from the website, at a store that takes returns (3 units are received
    there first, so the demo's random stock does not matter)."""
    stores = api.get("/api/v1/locations", headers=headers).json()
    store = next(s for s in stores if s["offers_pickup"] and s["accepts_returns"] and s["sells"])
    variants = api.get("/api/v1/variants", params={"active": "true", "limit": 20}, headers=headers).json()["items"]
    sku = variants[0]["sku"]
    received = api.post(
        "/api/v1/stock/receipts", headers=headers,
        data={"location": store["code"], "lines": [{"sku": sku, "quantity": 3}], "reference": "e2e"},
    )  # fmt: skip
    assert received.ok, received.text()
    phone = f"+7707{secrets.randbelow(10**7):07d}"
    placed = api.post(
        "/api/v1/orders", headers={**headers, "Idempotency-Key": secrets.token_hex(8)},
        data={"customer": {"phone": phone, "name": "Сауле E2E"}, "source": "web",
              "lines": [{"sku": sku, "quantity": 2}], "fulfillment": {"type": "pickup", "location": store["code"]}},
    )  # fmt: skip
    assert placed.status == 201, placed.text()
    return placed.json(), sku, store


def test_an_operator_finds_confirms_takes_payment_and_a_return(page: Page, demo_server: DemoServer) -> None:
    api = page.context.request
    headers = {"Authorization": f"Bearer {demo_server.info['api_token']}"}
    order, sku, store = place_web_order(api, headers)
    store_code = store["code"]
    before = on_hand(api, headers, sku, store_code)

    # The list: only website orders, then the number typed in the search box.
    log_in(page, demo_server, "operator")
    page.click(".nav [data-section=orders]")
    page.wait_for_load_state("load")
    page.select_option("select[name=source]", "web")
    expect(page).to_have_url(re.compile(r"[?&]source=web"))
    rows = page.locator("[data-testid=order-table] tbody tr")
    expect(rows.first).to_be_visible()
    page.fill("input[name=q]", order["number"])
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-order", order["number"])
    expect(rows.first.locator(".pay")).to_have_class("pay pay-unpaid")

    # The order page: only the moves a new order allows.
    rows.first.get_by_role("link", name=order["number"]).click()
    page.wait_for_load_state("load")
    expect(page.locator("[data-testid=order-status]")).to_have_class("status status-new")
    expect(page.locator(f"[data-testid=order-lines] tr[data-sku='{sku}']")).to_be_visible()
    expect(page.locator("[data-move=picking]")).to_have_count(0)
    page.click("[data-move=confirmed]")
    page.wait_for_load_state("load")
    expect(page.locator("[data-testid=order-status]")).to_have_class("status status-confirmed")

    # Paid in full at the counter: the order becomes paid by itself.
    page.locator("#payments summary").click()
    form = page.locator("[data-testid=payment-form]")
    form.locator("select[name=method]").select_option("cash_in_store")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    expect(page.locator("[data-testid=order-status]")).to_have_class("status status-paid")
    expect(page.locator("[data-testid=order-payments] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=order-history]")).to_contain_text("paid in full")

    # Handed over at the store.
    for move in ("picking", "ready", "picked_up"):
        page.click(f"[data-move={move}]")
        page.wait_for_load_state("load")
    expect(page.locator("[data-testid=order-status]")).to_have_class("status status-picked_up")
    assert on_hand(api, headers, sku, store_code) == before - 2

    # One unit comes back to the same store, refunded in cash.
    page.locator("#return summary").click()
    returns = page.locator("[data-testid=return-form]")
    returns.locator("input[name^=qty_]").first.fill("1")
    returns.locator("select[name=location]").select_option(str(store["id"]))
    returns.locator("input[name=reason]").fill("Не подошёл цвет")
    returns.locator("input[name=outcome][value=refund]").check()
    returns.locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    expect(page.locator(f"[data-testid=order-lines] tr[data-sku='{sku}'] .returned")).to_have_text("1")
    assert on_hand(api, headers, sku, store_code) == before - 1
    expect(page.locator("[data-testid=order-history] .order-event-return")).to_have_count(1)


def test_a_possible_duplicate_is_confirmed_as_not_one(page: Page, demo_server: DemoServer) -> None:
    api = page.context.request
    headers = {"Authorization": f"Bearer {demo_server.info['api_token']}"}
    first, sku, store = place_web_order(api, headers)
    customer = {"id": first["customer_id"]}
    second = api.post(
        "/api/v1/orders", headers={**headers, "Idempotency-Key": secrets.token_hex(8)},
        data={"customer": customer, "source": "instagram", "lines": [{"sku": sku, "quantity": 1}],
              "fulfillment": {"type": "pickup", "location": store["code"]}},
    )  # fmt: skip
    assert second.status == 201, second.text()
    # Other lines through Instagram are another order; the same lines by phone are flagged as a possible duplicate.
    third = api.post(
        "/api/v1/orders", headers={**headers, "Idempotency-Key": secrets.token_hex(8)},
        data={"customer": customer, "source": "phone", "lines": [{"sku": sku, "quantity": 2}],
              "fulfillment": {"type": "pickup", "location": store["code"]}},
    )  # fmt: skip
    assert third.status == 201, third.text()
    number = third.json()["number"]

    log_in(page, demo_server, "operator")
    page.goto("/orders/?duplicates=on")
    page.wait_for_load_state("load")
    row = page.locator(f"[data-testid=order-table] tr[data-order='{number}']")
    expect(row.locator(".chip-duplicate")).to_be_visible()
    expect(page.locator(f"[data-testid=order-table] tr[data-order='{second.json()['number']}']")).to_have_count(0)
    row.get_by_role("link", name=number).click()
    page.wait_for_load_state("load")
    banner = page.locator("[data-testid=duplicate-banner]")
    expect(banner).to_contain_text(first["number"])

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=not-duplicate]")
    expect(banner).to_have_count(0)
    page.goto("/orders/?duplicates=on")
    page.wait_for_load_state("load")
    expect(page.locator(f"[data-testid=order-table] tr[data-order='{number}']")).to_have_count(0)

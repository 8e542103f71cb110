"""A notification as a manager meets it: confirming an order in the console tells the customer, and the
order page and the customer card both show it in their notification log; the rules are changed in
Settings → Notification rules, where a repeated channel is refused on its field."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console_shell import log_in
from tests.e2e.test_orders_e2e import place_web_order

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e


def test_confirming_an_order_shows_the_notification_on_the_order_and_the_card(
    page: Page, demo_server: DemoServer
) -> None:
    headers = {"Authorization": f"Bearer {demo_server.info['api_token']}"}
    order, _, _ = place_web_order(page.context.request, headers)

    log_in(page, demo_server, "manager")
    page.goto(f"/orders/{order['id']}/")
    page.wait_for_load_state("load")
    log = page.locator("[data-testid=notification-log]")
    expect(log.locator("[data-testid=notification-log-empty]")).to_be_visible()  # loaded by htmx: nothing yet
    page.click("[data-move=confirmed]")
    page.wait_for_load_state("load")

    row = page.locator("[data-testid=notification][data-event=order_confirmed]")
    expect(row).to_have_count(1)
    expect(row.locator("[data-testid=notification-status]")).not_to_be_empty()

    page.goto(f"/customers/{order['customer_id']}/")
    page.wait_for_load_state("load")
    expect(page.locator("[data-testid=notification][data-event=order_confirmed]")).to_have_count(1)
    expect(page.locator("[data-testid=notification-log]")).to_contain_text(order["number"])


def test_the_rules_refuse_a_channel_named_twice(page: Page, demo_server: DemoServer) -> None:
    log_in(page, demo_server, "owner")
    page.goto("/settings/notifications/")
    page.wait_for_load_state("load")
    page.select_option("select[name=chain_1]", "telegram")
    page.select_option("select[name=chain_2]", "telegram")
    page.click("[data-testid=notification-rules] button[type=submit]")
    page.wait_for_load_state("load")

    expect(page.locator("[data-testid=form-error]")).to_be_visible()
    expect(page.locator(".field.has-error select[name=chain_2]")).to_be_visible()

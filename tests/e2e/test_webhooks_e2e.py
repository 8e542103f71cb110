"""An owner connects the shop's 1C to order events: adds an endpoint in Settings → Webhooks, copies the
secret shown once, sends a test event and watches the log turn green, as the receiver verifies the
signature with that secret. Then the endpoint is deleted again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console_shell import log_in
from tests.webhooks.receiver import Receiver, serve

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


def test_an_owner_adds_an_endpoint_and_a_test_event_arrives_signed(
    page: Page, demo_server: DemoServer, receiver: Receiver
) -> None:
    log_in(page, demo_server, "owner")
    page.goto("/settings/")
    page.wait_for_load_state("load")
    page.click(".tabs a[href='/settings/webhooks/']")
    page.wait_for_load_state("load")
    page.click("text=Add endpoint")
    page.wait_for_load_state("load")

    page.fill("input[name=name]", "1C (e2e)")
    page.fill("input[name=url]", receiver.url)
    page.check("input[name=events][value='order.paid']")
    page.click(".webhook-form button[type=submit]")
    page.wait_for_load_state("load")

    secret = page.locator("[data-testid=webhook-new-secret] [data-testid=webhook-secret]").input_value()
    assert secret.startswith("whsec_")
    receiver.secret = secret
    expect(page.locator("[data-testid=webhook-health]")).to_have_attribute("data-health", "new")

    page.click("[data-testid=webhook-ping]")
    page.wait_for_load_state("load")
    ping = page.locator("[data-testid=delivery][data-event=ping]")
    expect(ping).to_have_attribute("data-status", "succeeded", timeout=30_000)  # the log refreshes itself

    assert [r.json["type"] for r in receiver.valid()] == ["ping"]
    page.reload()
    page.wait_for_load_state("load")
    expect(page.locator("[data-testid=webhook-health]")).to_have_attribute("data-health", "ok")
    expect(page.locator("[data-testid=webhook-new-secret]")).to_have_count(0)  # shown once

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=webhook-delete]")
    page.wait_for_load_state("load")
    expect(page.locator("[data-testid=webhook]")).to_have_count(0)

"""A manager rewrites what customers get when their order is ready for pick-up: opens the text from the
grid, edits it with a variable chip, watches the preview fill in the sample customer and flag an unknown
variable, saves, and finds it kept after a reload."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console_shell import log_in

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e


def test_a_manager_edits_a_notification_text_with_a_live_preview(page: Page, demo_server: DemoServer) -> None:
    log_in(page, demo_server, "manager")
    page.goto("/settings/notifications/templates/")
    page.wait_for_load_state("load")
    grid = page.locator("[data-testid=notification-templates]")
    cell = grid.locator("tr[data-event=ready_for_pickup] td[data-language=ru] [data-testid=nt-cell]")
    expect(cell).to_contain_text(re.compile("built-in|встроенный|кірістірілген"))
    cell.click()
    page.wait_for_load_state("load")

    # The built-in text, filled in with the sample customer.
    body = page.locator("#nt_body")
    expect(body).to_have_value(re.compile(r"^\{\{customer\.greeting\}\}\n"))
    preview = page.locator("[data-testid=nt-preview-text]")
    expect(preview).to_contain_text("Здравствуйте, Айгерим!")

    # Rewritten: the preview follows as one types, and a chip inserts a variable at the cursor.
    body.fill("Айгерим? Нет: {{customer.first_name}}, заказ {{order.number}} ждёт вас в ")
    body.press("End")
    page.locator("[data-testid=nt-chip][data-insert='{{order.pickup_location}}']").click()
    expect(body).to_have_value(re.compile(r"ждёт вас в \{\{order\.pickup_location\}\}$"))
    expect(preview).to_have_text("Айгерим? Нет: Айгерим, заказ 1042 ждёт вас в Dostyk Plaza")

    # A variable this event does not have is flagged before saving, and refused on save.
    body.press("End")
    body.type(" {{parcel.carrier}}")
    expect(page.locator("[data-testid=nt-unknown]")).to_contain_text("{{parcel.carrier}}")
    expect(preview.locator("mark.nt-unknown")).to_have_text("{{parcel.carrier}}")
    page.click("[data-testid=nt-save]")
    page.wait_for_load_state("load")
    expect(page.locator("[data-testid=field-error][data-field=body]")).to_contain_text("{{parcel.carrier}}")

    body = page.locator("#nt_body")
    body.fill("{{customer.greeting}} Заказ {{order.number}} собран, ждём вас в {{order.pickup_location}}!")
    expect(page.locator("[data-testid=nt-preview-text]")).to_have_text(
        "Здравствуйте, Айгерим! Заказ 1042 собран, ждём вас в Dostyk Plaza!"
    )
    expect(page.locator("[data-testid=nt-unknown]")).to_have_count(0)
    page.click("[data-testid=nt-save]")
    page.wait_for_load_state("load")

    page.reload()
    page.wait_for_load_state("load")
    expect(page.locator("#nt_body")).to_have_value(
        "{{customer.greeting}} Заказ {{order.number}} собран, ждём вас в {{order.pickup_location}}!"
    )
    expect(page.locator("[data-testid=nt-state]")).to_contain_text(re.compile("edited|изменён|өзгертілген"))
    expect(page.locator("[data-testid=nt-preview-text]")).to_have_text(
        "Здравствуйте, Айгерим! Заказ 1042 собран, ждём вас в Dostyk Plaza!"
    )
    page.goto("/settings/notifications/templates/")
    page.wait_for_load_state("load")
    expect(page.locator("tr[data-event=ready_for_pickup] td[data-language=ru] [data-testid=nt-cell]")).to_contain_text(
        re.compile("edited|изменён|өзгертілген")
    )

"""What a person does first: log in with their role, find their way, switch language, see it is live."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e

NAVIGATION = {
    "owner": ["inbox", "customers", "orders", "shipments", "terminal", "stock", "analytics", "settings"],
    "manager": ["inbox", "customers", "orders", "shipments", "terminal", "stock", "analytics", "settings"],
    "operator": ["inbox", "customers", "orders", "shipments", "terminal", "stock"],
    "clerk": ["customers", "orders", "shipments", "terminal", "stock"],
}


def log_in(page: Page, demo_server: DemoServer, role: str) -> None:
    email, password = demo_server.login(role)
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    expect(page.locator(".nav")).to_be_visible()


@pytest.mark.parametrize("role", list(NAVIGATION))
def test_each_role_logs_in_and_sees_its_navigation(page: Page, demo_server: DemoServer, role: str) -> None:
    log_in(page, demo_server, role)

    sections = page.locator(".nav .nav-item").evaluate_all("els => els.map(e => e.dataset.section)")
    assert sections == NAVIGATION[role]
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")

    # Every page the role sees opens; the shop's data is there.
    for section in sections:
        page.click(f".nav [data-section={section}]")
        expect(page.locator(f".nav [data-section={section}]")).to_have_class("nav-item active")
    page.click(".nav [data-section=customers]")
    expect(page.locator("#results table tbody tr").first).to_be_visible()

    page.click("[data-testid=user-menu]")
    page.locator(".user-menu form button").click()
    expect(page).to_have_url(f"{demo_server.url}login/")


def test_a_clerk_cannot_open_settings_by_typing_the_address(page: Page, demo_server: DemoServer) -> None:
    log_in(page, demo_server, "clerk")

    response = page.goto("/settings/")

    assert response is not None
    assert response.status == 403


def test_switching_language_translates_the_console(page: Page, demo_server: DemoServer) -> None:
    log_in(page, demo_server, "operator")

    page.select_option("#language-select", "kk")
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.locator(".nav [data-section=orders]")).to_have_text("Тапсырыстар")

    page.wait_for_load_state("load")  # the switch submits from a script bound once the page has loaded
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".nav [data-section=orders]")).to_have_text("Orders")

    page.wait_for_load_state("load")
    page.select_option("#language-select", "ru")
    expect(page.locator(".nav [data-section=orders]")).to_have_text("Заказы")


def test_customer_search_finds_a_phone_typed_in_another_format(page: Page, demo_server: DemoServer) -> None:
    log_in(page, demo_server, "operator")
    page.click(".nav [data-section=customers]")
    page.wait_for_load_state("load")  # htmx listens to the search box from here on
    first_phone = page.locator("#results .chip-phone").first.inner_text()  # E.164, e.g. +77011234567
    local_format = "8 " + first_phone[2:5] + " " + first_phone[5:8] + " " + first_phone[8:10] + " " + first_phone[10:]

    page.fill("input[name=q]", local_format)

    expect(page.locator("#results .chip-phone", has_text=first_phone).first).to_be_visible()
    expect(page.locator("#results .count")).to_have_text(re.compile(r"^\s*1 customer\s*$"), timeout=15_000)


def test_owner_issues_an_api_token_that_works_until_revoked(page: Page, demo_server: DemoServer) -> None:
    log_in(page, demo_server, "owner")
    page.goto("/settings/tokens/")
    page.fill("input[name=name]", "Website")
    page.check("input[name=scopes][value='orders:read']")
    page.locator("form.card button[type=submit]").click()
    secret = page.locator("[data-testid=token-secret]").inner_text().strip()

    api = page.context.request
    assert api.get("/api/v1/orders?limit=1", headers={"Authorization": f"Bearer {secret}"}).status == 200
    assert api.get("/api/v1/customers", headers={"Authorization": f"Bearer {secret}"}).status == 403

    page.locator("#tokens tr", has_text="Website").locator("button").click()
    assert api.get("/api/v1/orders?limit=1", headers={"Authorization": f"Bearer {secret}"}).status == 401

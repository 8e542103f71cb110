"""The endless aisle as a store clerk lives it: a size is out in the clerk's store, the search shows
which other store has it, and the clerk holds it there for the customer.

The demo's stock is random, so a manager first makes the case through the console itself: a count
at the clerk's store finds none of the SKU (a correction with a reason), and a delivery of three
arrives at another store (a receipt)."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_console_shell import log_in

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e

LOCATION_URL = re.compile(r"/stock/locations/(\d+)/$")


def available(page: Page, sku: str, location_code: str) -> int:
    cell = page.locator(
        f"#results [data-testid=variant][data-sku='{sku}'] tr[data-location='{location_code}'] [data-testid=available]"
    )
    return int(re.match(r"\d+", cell.inner_text().strip()).group(0))  # type: ignore[union-attr]


def test_a_clerk_finds_a_size_out_in_the_own_store_and_holds_it_in_another_store(
    page: Page, browser: Browser, demo_server: DemoServer, browser_context_args: dict[str, Any]
) -> None:
    # The clerk's store is first on the locations page and marked as theirs; another store is next to it.
    log_in(page, demo_server, "clerk")
    page.click(".nav [data-section=stock]")
    page.click(".stock-tabs [data-tab=locations]")
    mine = page.locator(".stock-location-card.mine")
    expect(mine).to_have_count(1)
    my_code = mine.get_attribute("data-location")
    other = page.locator(".stock-location-card[data-kind=store]:not(.mine)").first
    other_code = other.get_attribute("data-location")
    other_name = other.locator(".card-title").inner_text().strip()
    other_id = LOCATION_URL.search(other.get_attribute("href") or "").group(1)  # type: ignore[union-attr]

    # A manager counts none of an item on the clerk's shelf, and three arrive at the other store.
    manager = browser.new_context(**browser_context_args).new_page()
    log_in(manager, demo_server, "manager")
    manager.goto("/stock/locations/")
    manager.click(f".stock-location-card[data-location='{my_code}']")
    row = manager.locator("[data-testid=level-row][data-reserved='0']").first  # nothing held: it can go to 0
    sku = row.get_attribute("data-sku")
    assert sku
    row.locator("[data-testid=correct]").click()
    expect(manager.locator("[data-testid=correction-form]")).to_be_visible()
    manager.fill("input[name=counted]", "0")
    manager.fill("input[name=reason]", f"Recount {secrets.token_hex(2)}")
    manager.click("[data-testid=do-correct]")
    expect(manager.locator(".message.success, .message.info")).to_be_visible()

    manager.goto("/stock/supplies/")
    manager.click("[data-testid=new-receipt]")
    manager.select_option("select[name=location]", other_id)
    manager.fill("textarea[name=lines]", f"{sku} 3")
    manager.fill("input[name=reference]", "E2E-1")
    manager.click("[data-testid=do-receive]")
    expect(manager).to_have_url(re.compile(rf"/stock/locations/{other_id}/$"))
    manager.context.close()

    # The clerk scans the SKU: none here, the other store has it.
    page.click(".stock-tabs [data-tab=search]")
    page.fill("[data-testid=stock-q]", sku)
    page.press("[data-testid=stock-q]", "Enter")
    variant = page.locator(f"#results [data-testid=variant][data-sku='{sku}']")
    expect(variant).to_have_class(re.compile(r"\bout-here\b"))
    where_else = variant.locator("[data-testid=where-else]")
    expect(where_else).to_be_visible()
    expect(where_else).to_contain_text(other_name)
    expect(variant.locator(f"tr[data-location='{my_code}']")).to_have_class(re.compile(r"\bmine\b"))
    assert available(page, sku, my_code) == 0
    before = available(page, sku, other_code)
    assert before >= 3

    # Hold one there for a customer who gives a phone; back on the search, one fewer is available.
    variant.locator(f"tr[data-location='{other_code}'] [data-testid=hold]").click()
    form = page.locator("[data-testid=hold-form]")
    expect(form).to_be_visible()
    expect(page.locator("[data-testid=available-there]")).to_have_text(str(before))
    phone = f"+7 747 {secrets.randbelow(900) + 100} {secrets.randbelow(90) + 10} {secrets.randbelow(90) + 10}"
    form.locator("input[name=phone]").fill(phone)
    form.locator("input[name=name]").fill("Дана Покупатель")
    form.locator("input[name=note]").fill("Придёт после 18:00")
    page.click("[data-testid=do-hold]")

    expect(page.locator(".message.success")).to_contain_text(sku)
    expect(page).to_have_url(re.compile(r"/stock/\?q="))
    assert available(page, sku, other_code) == before - 1
    reserved = variant.locator(f"tr[data-location='{other_code}'] [data-testid=reserved]")
    expect(reserved).not_to_have_text("—")

    # The hold is listed under the other store, with the customer, and can be released or sold.
    page.click(".stock-tabs [data-tab=holds]")
    holds_there = page.locator(f"[data-testid=holds-at][data-location='{other_code}']")
    hold = holds_there.locator(f"[data-testid=hold-row][data-sku='{sku}']")
    expect(hold).to_have_count(1)
    expect(hold).to_contain_text("Придёт после 18:00")
    expect(hold.locator("[data-testid=hold-release]")).to_be_visible()
    expect(hold.locator("[data-testid=hold-sold]")).to_be_visible()
    hold.locator("[data-testid=hold-customer]").click()
    expect(page.locator("[data-testid=contacts]")).to_contain_text("+" + re.sub(r"\D", "", phone))

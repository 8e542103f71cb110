"""Customer 360 as an operator uses it: find a card by a phone typed any way, merge two cards, undo it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console_shell import log_in

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e

CARD_URL = re.compile(r"/customers/(\d+)/$")


def spoken(e164: str) -> str:
    """+77011234567 as people write it at home: '8 701 123 45 67'."""
    return f"8 {e164[2:5]} {e164[5:8]} {e164[8:10]} {e164[10:]}"


def bracketed(e164: str) -> str:
    """+77011234567 as '+7 (701) 123-45-67'."""
    return f"+7 ({e164[2:5]}) {e164[5:8]}-{e164[8:10]}-{e164[10:]}"


def test_finding_a_customer_by_a_differently_formatted_phone_merging_two_cards_and_undoing_it(
    page: Page, demo_server: DemoServer
) -> None:
    log_in(page, demo_server, "operator")
    page.click(".nav [data-section=customers]")
    with_phone = page.locator("#results tbody tr", has=page.locator(".chip-phone"))
    listed = [with_phone.nth(i).locator(".chip-phone").first.inner_text().strip() for i in range(10)]
    # Two people whose number belongs to exactly one card (the demo also plants WhatsApp duplicates).
    api, token = page.context.request, demo_server.info["api_token"]
    unique = [
        p for p in listed
        if len(api.get("/api/v1/customers", params={"q": p}, headers={"Authorization": f"Bearer {token}"})
               .json()["items"]) == 1
    ]  # fmt: skip
    phone, other_phone = unique[0], unique[1]  # E.164, e.g. +77011234567

    # Typed the way the customer said it, Enter opens the one card it belongs to.
    page.fill("input[name=q]", spoken(phone))
    expect(page.locator("#results .chip-phone", has_text=phone).first).to_be_visible()
    page.press("input[name=q]", "Enter")
    expect(page).to_have_url(CARD_URL)
    survivor_url = page.url
    contacts = page.locator("[data-testid=contacts]")
    expect(contacts).to_contain_text(phone)
    expect(contacts).not_to_contain_text(other_phone)

    # Merge: find the other card by its phone in yet another format, compare side by side.
    page.click("[data-testid=merge]")
    page.fill("input[name=q]", bracketed(other_phone))
    candidate = page.locator("[data-testid=candidates] .candidate", has_text=other_phone)
    expect(candidate).to_be_visible()
    candidate.get_by_role("link").click()
    preview = page.locator("[data-testid=merge-preview]")
    expect(preview.locator(".merge-side")).to_have_count(2)
    expect(preview.locator(".merge-side").nth(0)).to_contain_text(phone)
    expect(preview.locator(".merge-side").nth(1)).to_contain_text(other_phone)
    absorbed_id = preview.locator(".merge-side").nth(1).get_attribute("data-customer")
    expect(preview.locator("input[name=survivor][value=this]")).to_be_checked()
    page.click("[data-testid=do-merge]")

    # The survivor now holds both cards' contacts; the absorbed card leads to it.
    expect(page).to_have_url(survivor_url)
    expect(page.locator("[data-testid=merge-done]")).to_be_visible()
    expect(contacts).to_contain_text(phone)
    expect(contacts).to_contain_text(other_phone)

    # Undo puts both cards back as they were.
    page.click("[data-testid=undo-merge]")
    expect(page).to_have_url(survivor_url)
    expect(page.locator(".message.success")).to_be_visible()
    expect(contacts).to_contain_text(phone)
    expect(contacts).not_to_contain_text(other_phone)

    page.goto(f"/customers/{absorbed_id}/")
    expect(page).to_have_url(re.compile(rf"/customers/{absorbed_id}/$"))
    expect(page.locator("[data-testid=contacts]")).to_contain_text(other_phone)
    expect(page.locator("[data-testid=contacts]")).not_to_contain_text(phone)

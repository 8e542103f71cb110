"""The inbox as an operator lives it: a Telegram message arrives while the inbox is open, shows up
without a reload, and gets an answer that appears in the thread with its delivery tick."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console_shell import log_in

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def telegram_channel(demo_server: DemoServer) -> dict[str, Any]:
    channels = [c for c in demo_server.info.get("channels", []) if c["provider"] == "telegram"]
    assert channels, "demo.json lists no Telegram channel"
    return channels[0]


def telegram_update(*, chat_id: int, first_name: str, last_name: str, text: str) -> dict[str, Any]:
    """A private-chat text message as Telegram posts it to the webhook."""
    person = {"id": chat_id, "first_name": first_name, "last_name": last_name}
    return {
        "update_id": secrets.randbelow(10**9),
        "message": {
            "message_id": secrets.randbelow(10**6),
            "from": {**person, "is_bot": False, "language_code": "ru"},
            "chat": {**person, "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }


def test_a_telegram_message_appears_live_and_the_operator_answers_it(page: Page, demo_server: DemoServer) -> None:
    channel = telegram_channel(demo_server)
    log_in(page, demo_server, "operator")
    page.click(".nav [data-section=inbox]")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # A customer nobody has seen before writes to the shop's bot.
    last_name = f"E2E{secrets.token_hex(3)}"
    update = telegram_update(
        chat_id=900_000_000 + secrets.randbelow(10**8),
        first_name="Дана",
        last_name=last_name,
        text="Есть гирлянда 10 м?",
    )
    response = page.context.request.post(
        channel["webhook_url"],
        data=json.dumps(update),
        headers={"Content-Type": "application/json", TELEGRAM_SECRET_HEADER: channel["secret"]},
    )
    assert response.ok, response.text()

    # It shows up in the list by itself, unread and waiting.
    row = page.locator("[data-testid=conversation]", has_text=last_name)
    expect(row).to_be_visible(timeout=3000)
    expect(row.locator("[data-testid=unread]")).to_have_text("1")
    expect(row).to_contain_text("Есть гирлянда 10 м?")
    assert page.evaluate("window.__sameDocument === true")

    # Open it, answer it.
    row.locator("a").click()
    thread = page.locator("[data-testid=thread]")
    expect(thread.locator(".msg-in", has_text="Есть гирлянда 10 м?")).to_be_visible()
    expect(page.locator("[data-testid=customer-card]")).to_contain_text(last_name)
    head = page.locator("[data-testid=thread-head]")
    expect(head).to_have_attribute("data-assignee", "")
    page.fill("#composer-text", "Да, есть: 4 990 ₸. Оформить доставку?")
    page.click("[data-testid=send]")

    reply = thread.locator(".msg-out", has_text="Да, есть: 4 990 ₸. Оформить доставку?")
    expect(reply).to_be_visible()
    expect(reply.locator(".msg-status .tick")).to_be_visible()
    expect(page.locator("#composer-text")).to_have_value("")
    expect(head).to_have_attribute("data-assignee", re.compile(r"^\d+$"))  # answering took it

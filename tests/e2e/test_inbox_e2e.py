"""The inbox as an operator lives it: a Telegram message arrives while the inbox is open, shows up
without a reload, and gets an answer that appears in the thread with its delivery tick."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

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


def test_a_canned_response_from_settings_is_inserted_with_slash_and_sent_later(
    page: Page, demo_server: DemoServer
) -> None:
    """Settings → a "/thanks" canned response; in the inbox "/tha" + Enter inserts it filled in for
    the customer; "Send later" schedules it for tomorrow morning, and it can be cancelled."""
    channel = telegram_channel(demo_server)
    log_in(page, demo_server, "manager")
    shortcut = f"thanks{secrets.token_hex(2)}"

    page.goto("/settings/canned/")
    page.fill("#canned_shortcut", shortcut)
    page.fill("#canned_title", "Thanks and delivery")
    page.fill("#canned_text", "Спасибо, {{customer.first_name}}! Доставим завтра.")
    page.click("[data-testid=save-canned]")
    expect(page.locator(f"[data-testid=canned-row][data-shortcut={shortcut}]")).to_be_visible()

    # A customer writes; the manager, online, opens the conversation.
    page.click(".nav [data-section=inbox]")
    page.wait_for_load_state("load")  # htmx binds the presence form once the page has loaded
    page.locator("#inbox-presence label.presence-online").click()
    expect(page.locator("#inbox-presence")).to_have_attribute("data-presence", "online")
    last_name = f"E2E{secrets.token_hex(3)}"
    update = telegram_update(
        chat_id=900_000_000 + secrets.randbelow(10**8), first_name="Дана", last_name=last_name, text="Когда доставка?"
    )
    response = page.context.request.post(
        channel["webhook_url"],
        data=json.dumps(update),
        headers={"Content-Type": "application/json", TELEGRAM_SECRET_HEADER: channel["secret"]},
    )
    assert response.ok, response.text()
    page.locator("[data-testid=conversation]", has_text=last_name).locator("a").click()
    expect(page.locator("#thread-head [data-testid=sla]")).to_have_text(re.compile(r"left|overdue"))

    # "/" opens the suggestions; Enter inserts the chosen one, filled in.
    composer = page.locator("#composer-text")
    composer.click()
    composer.press_sequentially(f"Добрый день! /{shortcut[:6]}")
    suggestion = page.locator("[data-testid=canned-option]", has_text=f"/{shortcut}")
    expect(suggestion).to_be_visible()
    composer.press("Enter")
    expect(composer).to_have_value("Добрый день! Спасибо, Дана! Доставим завтра.")
    expect(page.locator("[data-testid=canned-suggestions]")).to_be_hidden()

    # Send later: tomorrow 10:00 shop time.
    tomorrow = (dt.datetime.now(ZoneInfo("Asia/Almaty")) + dt.timedelta(days=1)).replace(hour=10, minute=0)
    page.click("[data-testid=send-later]")
    page.fill("#composer-send-after", tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.click("[data-testid=schedule]")
    scheduled = page.locator("[data-testid=thread] .msg-out", has_text="Спасибо, Дана! Доставим завтра.")
    expect(scheduled.locator("[data-testid=scheduled]")).to_be_visible()
    expect(composer).to_have_value("")

    # Changed their mind: cancel it before it goes.
    page.once("dialog", lambda dialog: dialog.accept())
    scheduled.locator("[data-testid=cancel-scheduled]").click()
    expect(scheduled).to_have_count(0)

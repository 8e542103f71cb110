"""SMS as a shop sets it up and uses it: connect a Twilio number in Settings → Channels, a customer's
SMS arrives signed at the card's webhook URL, and the operator sees what the reply will cost in SMS
as they type it (Latin 160, Cyrillic 70 per SMS; parts of 153 and 67)."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode

import pytest
from playwright.sync_api import Page, expect

from omnia.channels.sms.connector import signature
from tests.e2e.test_console_shell import log_in

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e

AUTH_TOKEN = "e2e_twilio_auth_token_7Hq2"
ACCOUNT_SID = "AC" + "0" * 31 + "7"


def test_an_sms_channel_is_connected_an_sms_arrives_and_the_reply_shows_its_cost(
    page: Page, demo_server: DemoServer
) -> None:
    log_in(page, demo_server, "owner")
    name = f"SMS e2e {secrets.token_hex(2)}"

    # Settings → Channels → SMS.
    page.goto("/settings/channels/new/")
    page.wait_for_load_state("load")
    page.click("a.provider-choice[data-provider=sms]")
    page.wait_for_load_state("load")
    page.fill("input[name=name]", name)
    page.fill("input[name=config__account_sid]", ACCOUNT_SID)
    page.fill("input[name=config__phone_number]", "+77170000001")
    page.fill("input[name=credentials__auth_token]", AUTH_TOKEN)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("load")
    card = page.locator("[data-testid=channel][data-provider=sms]", has_text=name)
    expect(card).to_be_visible()
    webhook_url = card.locator("[data-testid=webhook-url]").input_value()
    assert re.match(r"^http://127\.0\.0\.1:\d+/hooks/sms/[\w-]+$", webhook_url)

    # A customer texts the shop; Twilio signs the request with the account's auth token.
    marker = secrets.token_hex(3)
    sid = "SM" + secrets.token_hex(16)
    body = urlencode(
        {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"+7701{secrets.randbelow(10**7):07d}",
            "To": "+77170000001",
            "Body": f"Когда привезёте заказ? {marker}",
            "NumMedia": "0",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
    )
    response = page.context.request.post(
        webhook_url,
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature(AUTH_TOKEN, webhook_url, parse_qs(body)),
        },
    )
    assert response.ok, response.text()
    assert "<Response/>" in response.text()

    # The operator opens it: the composer tells what the reply costs, live.
    page.goto("/inbox/")
    page.wait_for_load_state("load")
    page.locator("[data-testid=conversation]", has_text=marker).locator("a").click()
    page.wait_for_load_state("load")
    cost = page.locator("#composer-sms")
    expect(cost).to_be_visible()
    composer = page.locator("#composer-text")
    composer.fill("Your order is on its way")
    expect(cost).to_have_text(re.compile(r"^1 SMS\b.*\b160\b"))
    composer.fill("Ваш заказ в пути, курьер позвонит за час до приезда. Спасибо, что выбрали нас!")
    expect(cost).to_have_text(re.compile(r"^2 SMS\b.*\b67\b"))
    composer.fill("{[]}" * 41)  # 164 characters, each counting double
    expect(cost).to_have_text(re.compile(r"^3 SMS\b.*\b153\b"))

"""An order from a WhatsApp chat, as an operator lives it: a customer writes on WhatsApp, the operator opens
the conversation, finds the product in the side panel, adds two lines, chooses pick-up at a store and places
the order; the order number appears, the units are reserved at that store, and the summary shows up in the
thread and reaches WhatsApp (a local fake of Meta's Graph API, which this module's own `omnia demo` server
sends to). Then a store clerk sells at the terminal what their store lacks, for pick-up at another store."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.channels.meta.fake_graph import FakeGraph
from tests.channels.meta.support import sign
from tests.conftest import DEMO_START_TIMEOUT, REPO_ROOT, DemoServer, _free_port, _log_tail, _omnia_command
from tests.e2e.test_console_shell import log_in

pytestmark = pytest.mark.e2e

PHONE_NUMBER_ID = "109876543210987"
ACCESS_TOKEN = "EAAG-e2e-order-token"
APP_SECRET = "e2e-order-app-secret"
ORDER_NUMBER = re.compile(r"^O-\d+$")


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    fake.start()
    fake.add_account(PHONE_NUMBER_ID, ACCESS_TOKEN)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, graph: FakeGraph) -> Iterator[DemoServer]:
    """A demo shop of its own whose Meta Graph API base URL is the fake (the shared demo server's is not)."""
    data_dir = tmp_path_factory.mktemp("order-from-chat")
    log_path = data_dir / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {
        **os.environ,
        "OMNIA_DATA_DIR": str(data_dir),
        "OMNIA_DEBUG": "true",
        "PYTHONUNBUFFERED": "1",
        "OMNIA_META_GRAPH_URL": graph.base_url,
    }
    for name in ("OMNIA_DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    command = [*_omnia_command(), "demo", "--size", "small", "--seed", "1", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + DEMO_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"`omnia demo` exited with {process.returncode}:\n{_log_tail(log_path)}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{url}healthz", timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"`omnia demo` did not start:\n{_log_tail(log_path)}", pytrace=False)
            time.sleep(0.25)
        info = json.loads((data_dir / "demo.json").read_text())
        yield DemoServer(url=url, info=info, data_dir=data_dir, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def context(browser: Browser, shop: DemoServer) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=shop.url)
    try:
        yield context
    finally:
        context.close()


def api(shop: DemoServer, method: str, path: str, body: Any = None) -> Any:
    """The shop's REST API with the demo's owner token."""
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{shop.url}api/v1/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {shop.info['api_token']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read() or b"null")


def new_product(shop: DemoServer, location: str, stock: dict[str, int]) -> tuple[str, list[str]]:
    """A product with one variant per SKU suffix, received at `location`; (its unique word, SKUs)."""
    word = f"Гирлянда{secrets.token_hex(3)}"
    skus = [f"E2E-{secrets.token_hex(3).upper()}-{suffix}" for suffix in stock]
    variants = [{"sku": sku, "price": "5000", "name": f"{suffix} м"} for sku, suffix in zip(skus, stock, strict=True)]
    api(shop, "POST", "products", {"name": f"{word} тёплая", "variants": variants})
    lines = [{"sku": sku, "quantity": quantity} for sku, quantity in zip(skus, stock.values(), strict=True)]
    api(shop, "POST", "stock/receipts", {"location": location, "lines": lines, "reference": "e2e"})
    return word, skus


def reserved_at(shop: DemoServer, sku: str, location: str) -> int:
    rows = api(shop, "GET", f"availability?sku={sku}")["locations"]
    return int(next(row["reserved"] for row in rows if row["code"] == location))


def pickup_stores(shop: DemoServer) -> list[dict[str, Any]]:
    return [loc for loc in api(shop, "GET", "locations") if loc["offers_pickup"] and loc["kind"] == "store"]


def whatsapp_message(*, phone: str, name: str, text: str) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102938475610293",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "77273334455", "phone_number_id": PHONE_NUMBER_ID},
                            "contacts": [{"profile": {"name": name}, "wa_id": phone}],
                            "messages": [
                                {
                                    "from": phone,
                                    "id": f"wamid.E2E{secrets.token_hex(12)}",
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def chosen(page: Page, location_id: int) -> Any:
    """The location option as the server rendered it chosen (the cart was saved with it and swapped in)."""
    return page.locator(f"[data-testid=order-location] option[value='{location_id}'][selected]")


def wait_for(check: Any, what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}", pytrace=False)
        time.sleep(0.2)


def test_an_operator_places_an_order_from_a_whatsapp_chat(
    context: BrowserContext, shop: DemoServer, graph: FakeGraph
) -> None:
    store = pickup_stores(shop)[0]
    word, (first, second) = new_product(shop, store["code"], {"10": 5, "20": 3})
    channel = api(
        shop,
        "POST",
        "channels",
        {
            "provider": "whatsapp",
            "name": "WhatsApp e2e",
            "credentials": {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET, "verify_token": "e2e-verify"},
            "config": {"phone_number_id": PHONE_NUMBER_ID},
        },
    )

    # A customer writes on WhatsApp.
    phone = f"7701{secrets.randbelow(10**7):07d}"
    last_name = f"E2E{secrets.token_hex(3)}"
    body = json.dumps(whatsapp_message(phone=phone, name=f"Дана {last_name}", text="Хочу гирлянду")).encode()
    page: Page = context.new_page()
    response = page.request.post(
        f"{shop.url.rstrip('/')}{channel['webhook_url']}",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(APP_SECRET, body)},
    )
    assert response.ok, response.text()

    # The operator opens the conversation; the New order section sits below the customer card.
    log_in(page, shop, "operator")
    page.click(".nav [data-section=inbox]")
    page.wait_for_load_state("load")
    page.locator("[data-testid=conversation]", has_text=last_name).locator("a").click()
    page.wait_for_load_state("load")
    expect(page.locator("[data-testid=customer-card]")).to_contain_text(last_name)
    page.click("[data-testid=new-order]")

    # Find the product, add two lines (two of the first).
    page.fill("#order-q", word)
    page.press("#order-q", "Enter")
    results = page.locator("[data-testid=order-result]")
    expect(results).to_have_count(2)
    first_result = page.locator(f"[data-testid=order-result][data-sku='{first}']")
    expect(first_result.locator(f"[data-location='{store['code']}'] [data-testid=available]")).to_have_text("5")
    page.locator(f"[data-testid=order-result][data-sku='{first}'] [data-testid=add-qty]").fill("2")
    page.locator(f"[data-testid=order-result][data-sku='{first}'] [data-testid=add-to-order]").click()
    expect(page.locator("[data-testid=order-line]")).to_have_count(1)
    page.locator(f"[data-testid=order-result][data-sku='{second}'] [data-testid=add-to-order]").click()
    expect(page.locator("[data-testid=order-line]")).to_have_count(2)
    # Changed their mind, then not: remove the second line and add it again.
    page.locator(f"[data-testid=order-line][data-sku='{second}'] [data-testid=remove-line]").click()
    expect(page.locator("[data-testid=order-line]")).to_have_count(1)
    page.locator(f"[data-testid=order-result][data-sku='{second}'] [data-testid=add-to-order]").click()
    expect(page.locator("[data-testid=order-line]")).to_have_count(2)
    expect(page.locator(f"[data-testid=order-line][data-sku='{first}'] [data-testid=line-qty]")).to_have_value("2")

    # Pick-up at the store; place it.
    page.locator("[data-testid=order-fulfillment] input[value=pickup]").check()
    expect(page.locator("[data-testid=order-location]")).to_be_visible()
    page.select_option("[data-testid=order-location]", str(store["id"]))
    expect(chosen(page, store["id"])).to_have_count(1)
    page.click("[data-testid=place-order]")

    number = page.locator("[data-testid=order-placed] [data-testid=order-number]")
    expect(number).to_have_text(ORDER_NUMBER)
    order_number = number.inner_text()
    expect(page.locator("[data-testid=summary-sent]")).to_be_visible()
    assert reserved_at(shop, first, store["code"]) == 2
    assert reserved_at(shop, second, store["code"]) == 1

    # The summary is in the thread and went to WhatsApp; the card lists the order.
    expect(page.locator("[data-testid=thread] .msg-out", has_text=order_number)).to_be_visible()
    expect(page.locator("[data-testid=customer-card]")).to_contain_text(order_number)
    sent = wait_for(
        lambda: [
            r
            for r in graph.requests
            if r.object_id == PHONE_NUMBER_ID and order_number in str((r.json or {}).get("text", {}).get("body", ""))
        ],
        "the summary at the fake WhatsApp API",
    )
    assert sent[0].json["to"] == phone
    assert sent[0].authorization == f"Bearer {ACCESS_TOKEN}"

    # The order number opens the order page.
    number.click()
    page.wait_for_load_state("load")
    expect(page.locator("body")).to_contain_text(order_number)


def test_a_clerk_sells_for_pickup_at_another_store_at_the_terminal(context: BrowserContext, shop: DemoServer) -> None:
    stores = pickup_stores(shop)
    page: Page = context.new_page()
    log_in(page, shop, "clerk")
    page.click(".nav [data-section=terminal]")
    page.wait_for_load_state("load")
    here = page.locator("[data-testid=terminal]").get_attribute("data-store")
    other = next(s for s in stores if str(s["id"]) != here)
    _word, (sku,) = new_product(shop, other["code"], {"42": 2})

    page.fill("#terminal-q", sku)
    page.press("#terminal-q", "Enter")
    result = page.locator(f"[data-testid=order-result][data-sku='{sku}']")
    expect(result.locator("[data-testid=order-here] [data-testid=available]")).to_have_text("0")
    expect(result.locator(f"[data-location='{other['code']}'] [data-testid=available]")).to_have_text("2")
    result.locator("[data-testid=add-to-order]").click()
    expect(page.locator("[data-testid=order-line]")).to_have_count(1)
    expect(page.locator("#terminal-q")).to_be_focused()  # the next scan goes straight into the search box

    page.locator("[data-testid=order-fulfillment] input[value=pickup_other]").check()
    expect(page.locator("[data-testid=order-location]")).to_be_visible()
    page.select_option("[data-testid=order-location]", str(other["id"]))
    expect(chosen(page, other["id"])).to_have_count(1)
    page.fill("[data-testid=terminal-phone]", f"+7701{secrets.randbelow(10**7):07d}")
    page.select_option("[data-testid=terminal-payment]", "card_terminal")
    page.click("[data-testid=place-order]")

    receipt = page.locator("[data-testid=receipt]")
    expect(receipt).to_be_visible()
    expect(receipt.locator("[data-testid=order-number]")).to_have_text(ORDER_NUMBER)
    assert reserved_at(shop, sku, other["code"]) == 1

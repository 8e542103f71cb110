"""Web chat as people live it: a visitor writes in the widget on the shop's plain HTML page, an operator
in another browser sees it arrive live in the inbox and answers, the visitor sees the answer, and the
conversation is still there after the visitor reloads the page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_console_shell import log_in

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e

QUESTION = "Здравствуйте, есть гирлянда 10 м?"
ANSWER = "Да, есть: 4 990 ₸. Оформить доставку?"


def webchat_channel(demo_server: DemoServer) -> dict[str, Any]:
    channels = [c for c in demo_server.info.get("channels", []) if c["provider"] == "webchat"]
    assert channels, "demo.json lists no web chat channel"
    return channels[0]


@pytest.fixture
def shop_site(demo_server: DemoServer) -> Iterator[str]:
    """The shop's own site: a plain HTML page with the widget, served from another origin (another port)."""
    key = webchat_channel(demo_server)["key"]
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Shop</title></head>"
        "<body><h1>Гирлянды</h1>"
        f"<script src='{demo_server.url}webchat/widget.js' data-channel='{key}'></script>"
        "</body></html>"
    ).encode()

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_visitor_writes_in_the_widget_and_gets_the_operators_answer_live(
    page: Page, browser: Browser, demo_server: DemoServer, shop_site: str
) -> None:
    log_in(page, demo_server, "operator")
    page.click(".nav [data-section=inbox]")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")

    visitor = browser.new_context().new_page()  # another browser: no operator session there
    visitor.goto(shop_site)
    widget = visitor.locator("[data-testid=webchat]")
    expect(widget).to_have_attribute("data-state", "live")
    visitor.click("[data-testid=webchat-bubble]")
    visitor.fill("[data-testid=webchat-input]", QUESTION)
    visitor.click("[data-testid=webchat-send]")
    log = visitor.locator("[data-testid=webchat-log]")
    expect(log.locator(".omnia-wc-in", has_text=QUESTION)).not_to_have_class("omnia-wc-pending")

    # The operator sees it arrive without reloading, opens it and answers.
    row = page.locator("[data-testid=conversation]", has_text=QUESTION).first
    expect(row).to_be_visible(timeout=5000)
    row.locator("a").click()
    thread = page.locator("[data-testid=thread]")
    expect(thread.locator(".msg-in", has_text=QUESTION)).to_be_visible()
    page.fill("#composer-text", ANSWER)
    page.click("[data-testid=send]")
    expect(thread.locator(".msg-out", has_text=ANSWER)).to_be_visible()

    # The visitor sees the answer live in the widget…
    expect(log.locator(".omnia-wc-out", has_text=ANSWER)).to_be_visible(timeout=10000)

    # …and both are still there after a reload.
    visitor.reload()
    expect(widget).to_have_attribute("data-state", "live")
    expect(widget).to_have_class("omnia-wc open")  # it stays open across the reload
    expect(log.locator(".omnia-wc-msg")).to_contain_text([QUESTION, ANSWER])
    expect(log.locator(".omnia-wc-in", has_text=QUESTION)).to_have_count(1)
    visitor.context.close()

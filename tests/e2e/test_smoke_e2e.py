"""The browser-test plumbing: Debian's Chromium opens the login page of a real demo server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

if TYPE_CHECKING:
    from tests.conftest import DemoServer

pytestmark = pytest.mark.e2e


def test_login_page_of_the_demo_server_opens_in_chromium(page: Page, demo_server: DemoServer) -> None:
    response = page.goto("/login/")

    assert response is not None
    assert response.status == 200
    assert page.url == f"{demo_server.url}login/"
    assert "Omnia" in page.title()
    expect(page.locator("input[type=email]")).to_be_visible()

"""An owner or manager connects a Kaspi.kz account in the admin; the token is stored encrypted, never shown."""

from __future__ import annotations

import pytest
from django.test import Client

from omnia.core.permissions import Role
from omnia.orders.models import KaspiAccount
from tests.factories import make_user

pytestmark = pytest.mark.django_db

TOKEN = "kaspi-token-7f3a9c"


def logged_in(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def test_a_manager_connects_an_account_with_a_write_only_token() -> None:
    client = logged_in(Role.MANAGER)

    missing = client.post("/admin/orders/kaspiaccount/add/", {"name": "Kaspi", "is_active": "on", "api_token": ""})
    added = client.post("/admin/orders/kaspiaccount/add/", {"name": "Kaspi", "is_active": "on", "api_token": TOKEN})
    account = KaspiAccount.objects.get()
    page = client.get(f"/admin/orders/kaspiaccount/{account.pk}/change/").content.decode()
    kept = client.post(f"/admin/orders/kaspiaccount/{account.pk}/change/", {"name": "Kaspi KZ", "is_active": "on"})

    assert missing.status_code == 200  # the form again, with the error
    assert added.status_code == 302
    assert TOKEN not in page
    assert TOKEN not in account.token_encrypted
    assert kept.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.token) == ("Kaspi KZ", TOKEN)


def test_an_operator_cannot_see_kaspi_accounts() -> None:
    response = logged_in(Role.OPERATOR).get("/admin/orders/kaspiaccount/")

    assert response.status_code in (302, 403)  # the admin sends people without settings to its log-in
    assert response.status_code == 403 or "/admin/login/" in response["Location"]

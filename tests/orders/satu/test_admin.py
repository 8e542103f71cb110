"""An owner or manager connects a Satu.kz account in the admin (token stored encrypted, never shown) and
sees what became of each Satu order; an operator cannot."""

from __future__ import annotations

import pytest
from django.test import Client

from omnia.core import clock
from omnia.core.permissions import Role
from omnia.orders.models import SatuAccount, SatuOrder
from tests.factories import make_location, make_user

pytestmark = pytest.mark.django_db

TOKEN = "satu-token-5d1e8a"


def logged_in(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def test_a_manager_connects_an_account_with_a_write_only_token_and_a_pickup_store() -> None:
    store = make_location(code="almaty-1", offers_pickup=True)
    client = logged_in(Role.MANAGER)
    form = {"name": "Satu", "is_active": "on", "pickup_location": str(store.pk)}

    missing = client.post("/admin/orders/satuaccount/add/", {**form, "api_token": ""})
    added = client.post("/admin/orders/satuaccount/add/", {**form, "api_token": TOKEN})
    account = SatuAccount.objects.get()
    SatuOrder.objects.create(
        account=account,
        satu_id=2000001,
        status="pending",
        outcome="cancel_refused",
        error="Satu refused",
        updated_at=clock.now(),
    )
    page = client.get(f"/admin/orders/satuaccount/{account.pk}/change/").content.decode()
    kept = client.post(f"/admin/orders/satuaccount/{account.pk}/change/", {**form, "name": "Satu KZ"})
    orders = client.get("/admin/orders/satuorder/?outcome__exact=cancel_refused").content.decode()

    assert missing.status_code == 200  # the form again, with the error
    assert added.status_code == 302
    assert TOKEN not in page
    assert "Satu refused" in orders  # what became of each Satu order, filtered by outcome
    assert "2000001" in orders
    assert TOKEN not in account.token_encrypted
    assert kept.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.token, account.pickup_location) == ("Satu KZ", TOKEN, store)


@pytest.mark.parametrize("page", ["satuaccount", "satuorder"])
def test_an_operator_cannot_see_satu_accounts_or_orders(page: str) -> None:
    response = logged_in(Role.OPERATOR).get(f"/admin/orders/{page}/")

    assert response.status_code in (302, 403)
    assert response.status_code == 403 or "/admin/login/" in response["Location"]

"""The back office (Django admin) follows the same role table as the console."""

import pytest
from django.test import Client

from omnia.core.permissions import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def admin_client(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def test_owner_sees_users_and_the_audit_log() -> None:
    client = admin_client(Role.OWNER)

    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get("/admin/core/auditentry/").status_code == 200


def test_manager_sees_the_catalog_but_not_users() -> None:
    client = admin_client(Role.MANAGER)

    index = client.get("/admin/").content.decode()
    assert "/admin/catalog/product/" in index
    assert "/admin/accounts/user/" not in index
    assert client.get("/admin/accounts/user/").status_code == 403
    assert client.get("/admin/catalog/product/add/").status_code == 200


def test_stock_and_orders_are_read_only_in_the_back_office() -> None:
    client = admin_client(Role.OWNER)

    assert client.get("/admin/inventory/stocklevel/").status_code == 200
    assert client.get("/admin/inventory/stocklevel/add/").status_code == 403
    assert client.get("/admin/orders/order/add/").status_code == 403


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.CLERK])
def test_operators_and_clerks_have_no_back_office(role: str) -> None:
    response = admin_client(role).get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]

import pytest

from omnia.core import clock
from omnia.customers import queries
from omnia.customers.models import Customer, Identity

pytestmark = pytest.mark.django_db


@pytest.fixture
def aigerim() -> Customer:
    customer = Customer.objects.create(first_name="Айгерим", last_name="Сейткали", created_at=clock.now())
    now = clock.now()
    Identity.objects.create(customer=customer, kind="phone", value="+77011234567", first_seen_at=now, last_seen_at=now)
    Identity.objects.create(
        customer=customer, kind="email", value="aigerim@mail.kz", first_seen_at=now, last_seen_at=now
    )
    Customer.objects.create(first_name="Ольга", last_name="Иванова", created_at=clock.now())
    return customer


@pytest.mark.parametrize(
    "typed", ["8 701 123 45 67", "+7 (701) 123-45-67", "77011234567", "айгерим", "СЕЙТКАЛИ", "Aigerim@Mail.kz"]
)
def test_one_search_box_finds_the_customer_by_phone_name_or_email(aigerim: Customer, typed: str) -> None:
    assert list(queries.search_customers(typed)) == [aigerim]

import datetime as dt
from decimal import Decimal

import pytest

from omnia.core.errors import ValidationFailed
from omnia.customers import actions, queries
from omnia.customers.models import Customer
from omnia.orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def aigerim() -> Customer:
    customer = actions.check_create_customer(
        actor=None,
        first_name="Айгерим",
        last_name="Сейткали",
        city="Алматы",
        loyalty_card="OM7001",
        identities=[("phone", "+77011234567"), ("email", "aigerim@mail.kz")],
        tags=["VIP"],
    )
    actions.check_create_customer(
        actor=None, first_name="Ольга", last_name="Иванова", identities=[("phone", "+77017654321")]
    )
    actions.check_create_customer(
        actor=None, first_name="Айдана", last_name="Сейтова", identities=[("phone", "+77017654322")]
    )
    return customer


@pytest.mark.parametrize(
    "typed",
    [
        "8 701 123 45 67",
        "+7 (701) 123-45-67",
        "77011234567",
        "айгерим",
        "СЕЙТКАЛИ",
        "Aigerim@Mail.kz",
        "aigerim",
        "seitkali",
        "сейт айг",
        "айг сейтк",
        "OM7001",
    ],
)
def test_one_search_box_finds_the_customer(aigerim: Customer, typed: str) -> None:
    assert list(queries.search_customers(typed)) == [aigerim]


def test_a_prefix_matches_every_name_that_starts_with_it(aigerim: Customer) -> None:
    found = {c.last_name for c in queries.search_customers("сейт")}

    assert found == {"Сейткали", "Сейтова"}


def test_search_finds_the_customer_of_an_order_number(aigerim: Customer) -> None:
    Order.objects.create(
        number="A-260042",
        customer=aigerim,
        source="web",
        total=Decimal(1),
        currency="KZT",
        placed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )

    assert list(queries.search_customers("a-260042")) == [aigerim]


def test_nothing_matches_an_unknown_phone(aigerim: Customer) -> None:
    assert list(queries.search_customers("8 777 000 00 00")) == []


def test_filters(aigerim: Customer) -> None:
    assert list(queries.list_customers(filters=queries.CustomerFilters(tag="vip"))) == [aigerim]
    assert list(queries.list_customers(filters=queries.CustomerFilters(city="Алматы"))) == [aigerim]
    assert queries.list_customers(filters=queries.CustomerFilters(channel="email")).count() == 1
    assert queries.list_customers(filters=queries.CustomerFilters(has_orders=True)).count() == 0


def test_consent_defaults_history_and_withdrawal(aigerim: Customer) -> None:
    assert queries.may_contact(aigerim, channel="whatsapp", purpose="transactional")
    assert not queries.may_contact(aigerim, channel="whatsapp", purpose="marketing")

    actions.check_record_consent(
        customer=aigerim, channel="any", purpose="marketing", granted=True, source="store:alm-dostyk", method="checkbox"
    )
    actions.check_record_consent(
        customer=aigerim, channel="sms", purpose="marketing", granted=False, source="sms", method="STOP reply"
    )

    assert queries.may_contact(aigerim, channel="whatsapp", purpose="marketing")
    assert not queries.may_contact(aigerim, channel="sms", purpose="marketing")
    in_force = {(c.channel, c.purpose): c.granted for c in queries.consents_in_force(aigerim)}
    assert in_force == {("any", "marketing"): True, ("sms", "marketing"): False}
    assert queries.timeline(aigerim, kind="consent").count() == 2


@pytest.mark.parametrize(
    ("channel", "purpose", "field"), [("pigeon", "marketing", "channel"), ("sms", "spam", "purpose")]
)
def test_bad_consent_is_refused(aigerim: Customer, channel: str, purpose: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.check_record_consent(
            customer=aigerim, channel=channel, purpose=purpose, granted=True, source="console", method="verbal"
        )
    assert caught.value.field == field
    assert not aigerim.consents.exists()


def test_timeline_is_newest_first_filterable_and_moves_last_contact(aigerim: Customer) -> None:
    t = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    actions.do_record_timeline(customer=aigerim, kind="call", channel="phone", summary="Звонок", at=t)
    actions.do_record_timeline(
        customer=aigerim, kind="message", channel="whatsapp", summary="Есть гирлянда?", at=t + dt.timedelta(hours=1)
    )
    actions.do_add_note(customer=aigerim, text="Постоянный клиент", actor=None, at=t + dt.timedelta(hours=2))

    assert [e.summary for e in queries.timeline(aigerim)] == ["Постоянный клиент", "Есть гирлянда?", "Звонок"]
    assert [e.kind for e in queries.timeline(aigerim, channel="whatsapp")] == ["message"]
    aigerim.refresh_from_db()
    assert aigerim.last_contact_at == t + dt.timedelta(hours=1)  # a note is not a contact


def test_editing_a_name_reindexes_and_bad_fields_change_nothing(aigerim: Customer) -> None:
    actions.check_update_customer(actor=None, customer=aigerim, last_name="Нурланова")

    assert list(queries.search_customers("нурлан")) == [aigerim]
    assert list(queries.search_customers("сейткали")) == []
    with pytest.raises(ValidationFailed) as caught:
        actions.check_update_customer(actor=None, customer=aigerim, language="de", city="Астана")
    assert caught.value.field == "language"
    aigerim.refresh_from_db()
    assert aigerim.city == "Алматы"

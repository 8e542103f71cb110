"""Merging two cards moves everything, deletes nothing, and can be undone exactly."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from omnia.core import clock
from omnia.core.models import AuditEntry
from omnia.customers import actions, queries
from omnia.customers.errors import MergeNotAllowed
from omnia.customers.models import Customer, Merge
from omnia.orders.models import Order
from tests.factories import make_user

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)


def card(kind: str, value: str, **fields: Any) -> Customer:
    customer = actions.do_resolve_identity(kind=kind, value=value, at=T0).customer
    if fields:
        actions.check_update_customer(actor=None, customer=customer, **fields)
    return customer


def place_order(customer: Customer, number: str, total: str) -> Order:
    order = Order.objects.create(
        number=number,
        customer=customer,
        source="whatsapp",
        total=Decimal(total),
        currency="KZT",
        placed_at=T0,
        status=Order.Status.COMPLETED,
    )
    actions.do_record_order(
        customer=customer, order=order, number=number, total=Decimal(total), currency="KZT", channel="whatsapp", at=T0
    )
    return order


def snapshot(customer: Customer) -> dict[str, Any]:
    customer.refresh_from_db()
    return {
        "fields": {f.name: getattr(customer, f.name) for f in Customer._meta.concrete_fields if f.name != "updated_at"},
        "identities": sorted(customer.identities.values_list("kind", "value")),
        "orders": sorted(Order.objects.filter(customer=customer).values_list("number", flat=True)),
        "timeline": sorted(customer.timeline.values_list("pk", flat=True)),
        "consents": sorted(customer.consents.values_list("pk", flat=True)),
        "addresses": sorted(customer.addresses.values_list("pk", flat=True)),
        "tags": sorted(customer.tags.values_list("name", flat=True)),
    }


@pytest.fixture
def two_cards_of_one_person() -> tuple[Customer, Customer]:
    """Aigerim, known at the store by phone, and as a WhatsApp chat with an e-mail and an order."""
    store = card("phone", "+77011234567", first_name="Айгерим", city="Алматы")
    actions.do_set_tags(customer=store, names=["vip"])
    actions.check_record_consent(
        customer=store, channel="any", purpose="marketing", granted=True, source="store", method="checkbox", at=T0
    )
    chat = card("email", "aigerim@mail.kz", last_name="Сейткали", loyalty_card="OM1001")
    actions.check_add_identity(customer=chat, kind="telegram", value="42")
    actions.check_add_address(customer=chat, city="Алматы", line="пр. Достык, 1")
    actions.do_set_tags(customer=chat, names=["online"])
    actions.check_record_consent(
        customer=chat,
        channel="any",
        purpose="marketing",
        granted=False,
        source="whatsapp",
        method="STOP reply",
        at=T0 - dt.timedelta(days=1),
    )
    place_order(store, "A-1", "5000")
    place_order(chat, "A-2", "7000")
    actions.do_add_note(customer=chat, text="Просила позвонить после 18:00", actor=None)
    return store, chat


def test_merge_moves_everything_to_the_survivor_and_deletes_nothing(
    two_cards_of_one_person: tuple[Customer, Customer],
) -> None:
    store, chat = two_cards_of_one_person
    operator = make_user("operator")

    merge = actions.check_merge(actor=operator, survivor=store, absorbed=chat)

    store.refresh_from_db()
    chat.refresh_from_db()
    assert chat.merged_into == store
    assert Customer.objects.count() == 2
    assert set(store.identities.values_list("kind", flat=True)) == {"phone", "email", "telegram"}
    assert set(Order.objects.filter(customer=store).values_list("number", flat=True)) == {"A-1", "A-2"}
    assert store.addresses.count() == 1
    assert set(store.tags.values_list("name", flat=True)) == {"vip", "online"}
    assert (store.first_name, store.last_name, store.loyalty_card) == ("Айгерим", "Сейткали", "OM1001")
    assert store.orders_count == 2
    assert store.lifetime_value == Decimal("12000")
    assert any("позвонить" in e.summary for e in queries.timeline(store))
    assert queries.timeline(store).first().kind == "merge"  # type: ignore[union-attr]
    assert AuditEntry.objects.filter(action="customer.merged", actor=operator).exists()
    assert merge.moved


def test_the_stricter_consent_wins(two_cards_of_one_person: tuple[Customer, Customer]) -> None:
    store, chat = two_cards_of_one_person
    assert queries.may_contact(store, channel="whatsapp", purpose="marketing")

    actions.check_merge(actor=None, survivor=store, absorbed=chat)

    assert not queries.may_contact(store, channel="whatsapp", purpose="marketing")
    assert queries.may_contact(store, channel="whatsapp", purpose="transactional")


def test_search_finds_the_survivor_by_the_absorbed_cards_handles(
    two_cards_of_one_person: tuple[Customer, Customer],
) -> None:
    store, chat = two_cards_of_one_person

    actions.check_merge(actor=None, survivor=store, absorbed=chat)

    assert list(queries.search_customers("aigerim@mail.kz")) == [store]
    assert list(queries.search_customers("сейткали")) == [store]
    assert list(queries.search_customers("A-2")) == [store]


def test_undo_restores_both_cards_exactly(two_cards_of_one_person: tuple[Customer, Customer]) -> None:
    store, chat = two_cards_of_one_person
    before = snapshot(store), snapshot(chat)
    merge = actions.check_merge(actor=None, survivor=store, absorbed=chat)

    actions.check_undo_merge(actor=None, merge=merge)

    assert (snapshot(store), snapshot(chat)) == before
    assert list(queries.search_customers("aigerim@mail.kz")) == [chat]
    assert Merge.objects.get().undone_at is not None


def test_merge_refusals_change_nothing(two_cards_of_one_person: tuple[Customer, Customer]) -> None:
    store, chat = two_cards_of_one_person
    third = card("phone", "+77770000001")

    with pytest.raises(MergeNotAllowed):
        actions.check_merge(actor=None, survivor=store, absorbed=store)

    merge = actions.check_merge(actor=None, survivor=store, absorbed=chat)
    with pytest.raises(MergeNotAllowed):
        actions.check_merge(actor=None, survivor=third, absorbed=chat)
    with pytest.raises(MergeNotAllowed):
        actions.check_merge(actor=None, survivor=chat, absorbed=third)

    actions.check_undo_merge(actor=None, merge=merge)
    with pytest.raises(MergeNotAllowed) as caught:
        actions.check_undo_merge(actor=None, merge=merge)
    assert caught.value.code == "MERGE_ALREADY_UNDONE"


def test_a_merge_cannot_be_undone_under_a_later_one(two_cards_of_one_person: tuple[Customer, Customer]) -> None:
    store, chat = two_cards_of_one_person
    third = card("phone", "+77770000001")
    first = actions.check_merge(actor=None, survivor=store, absorbed=chat)
    later = actions.check_merge(actor=None, survivor=third, absorbed=store)

    with pytest.raises(MergeNotAllowed) as caught:
        actions.check_undo_merge(actor=None, merge=first)
    assert caught.value.code == "MERGE_UNDO_ORDER"

    actions.check_undo_merge(actor=None, merge=later)
    actions.check_undo_merge(actor=None, merge=first)
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_suggested_duplicates_pair_a_whatsapp_card_with_the_phone_card() -> None:
    phone_card = card("phone", "+77011234567", first_name="Айгерим")
    whatsapp_only = card("email", "x@mail.kz")
    from omnia.customers.models import Identity

    Identity.objects.create(
        customer=whatsapp_only,
        kind="whatsapp",
        value="+77011234567",
        first_seen_at=clock.now(),
        last_seen_at=clock.now(),
    )
    same_name_a = card("phone", "+77770000001", first_name="Ольга", last_name="Иванова", city="Астана")
    same_name_b = card("phone", "+77770000002", first_name="Ольга", last_name="Иванова", city="Астана")

    pairs = {(s.first.pk, s.second.pk): s.reason for s in queries.suggested_duplicates()}

    assert tuple(sorted((phone_card.pk, whatsapp_only.pk))) in pairs
    assert (same_name_a.pk, same_name_b.pk) in pairs

    actions.do_dismiss_suggestion(actor=None, first=same_name_b, second=same_name_a)
    pairs = {(s.first.pk, s.second.pk) for s in queries.suggested_duplicates()}
    assert (same_name_a.pk, same_name_b.pk) not in pairs


def test_cancelled_and_returned_orders_stop_counting_towards_lifetime_value() -> None:
    customer = card("phone", "+77011234567")
    place_order(customer, "A-1", "5000")
    place_order(customer, "A-2", "7000")

    actions.do_record_order_reversal(customer=customer, total=Decimal("5000"), cancelled=True)
    actions.do_record_order_reversal(customer=customer, total=Decimal("7000"), cancelled=False)

    customer.refresh_from_db()
    assert (customer.orders_count, customer.lifetime_value) == (1, Decimal(0))
    assert customer.last_order_at == T0

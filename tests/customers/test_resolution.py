"""do_resolve_identity: the one way a handle becomes a customer."""

import datetime as dt
import threading
from typing import Any

import pytest

from omnia.core.errors import ValidationFailed
from omnia.customers import actions
from omnia.customers.errors import IdentityTaken
from omnia.customers.models import Customer, Identity

pytestmark = pytest.mark.django_db


def test_a_new_handle_makes_a_new_card_named_from_the_channel() -> None:
    result = actions.do_resolve_identity(
        kind="telegram", value="123456789", channel="telegram", display_name="Айгерим Сейткали"
    )

    assert result.created_customer
    assert result.created_identity
    assert (result.customer.first_name, result.customer.last_name) == ("Айгерим", "Сейткали")
    assert result.customer.created_source == "telegram"


def test_the_same_handle_finds_the_same_card_and_refreshes_last_seen() -> None:
    first = actions.do_resolve_identity(kind="email", value="Aigerim@Mail.KZ ", channel="email")
    again = actions.do_resolve_identity(kind="email", value="aigerim@mail.kz", channel="email")

    assert again.customer == first.customer
    assert not again.created_customer
    assert not again.created_identity
    assert Customer.objects.count() == 1
    assert Identity.objects.get().value == "aigerim@mail.kz"


@pytest.mark.parametrize("typed", ["8 701 123 45 67", "+7 (701) 123-45-67", "77011234567", "7011234567"])
def test_a_phone_in_any_format_is_one_identity(typed: str) -> None:
    known = actions.do_resolve_identity(kind="phone", value="+77011234567", channel="phone")

    result = actions.do_resolve_identity(kind="phone", value=typed, channel="phone")

    assert result.customer == known.customer
    assert Identity.objects.get(kind="phone").value == "+77011234567"


def test_whatsapp_links_to_the_card_of_its_phone_number() -> None:
    clerk_made = actions.do_resolve_identity(kind="phone", value="8 701 123 45 67", channel="store")

    result = actions.do_resolve_identity(
        kind="whatsapp", value="77011234567", channel="whatsapp", display_name="Aigerim"
    )

    assert result.customer == clerk_made.customer
    assert result.created_identity
    assert not result.created_customer
    assert Identity.objects.get(kind="whatsapp").value == "+77011234567"


def test_a_handle_carrying_a_phone_links_by_it_and_adds_the_phone_to_a_new_card() -> None:
    viber = actions.do_resolve_identity(
        kind="viber", value="01234567890A==", phone="+7 702 555 66 77", channel="viber", display_name="Ержан"
    )
    shared_contact = actions.do_resolve_identity(kind="telegram", value="555", phone="87025556677", channel="telegram")

    assert shared_contact.customer == viber.customer
    assert set(viber.customer.identities.values_list("kind", flat=True)) == {"viber", "phone", "telegram"}


def test_never_merges_on_a_name() -> None:
    one = actions.do_resolve_identity(kind="telegram", value="1", display_name="Ольга Иванова")
    two = actions.do_resolve_identity(kind="telegram", value="2", display_name="Ольга Иванова")

    assert one.customer != two.customer


@pytest.mark.parametrize(
    ("kind", "value", "phone", "field"),
    [
        ("phone", "12345", None, "value"),
        ("email", "not-an-email", None, "value"),
        ("telegram", "@nick", None, "value"),
        ("pigeon", "x", None, "kind"),
        ("viber", "abc==", "not a phone", "phone"),
    ],
)
def test_a_malformed_handle_is_refused_naming_the_field_and_nothing_is_stored(
    kind: str, value: str, phone: str | None, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.do_resolve_identity(kind=kind, value=value, phone=phone)

    assert caught.value.field == field
    assert not Customer.objects.exists()
    assert not Identity.objects.exists()


def test_adding_a_handle_that_belongs_to_another_card_is_refused() -> None:
    owner = actions.do_resolve_identity(kind="phone", value="+77011234567").customer
    other = actions.do_resolve_identity(kind="email", value="o@mail.kz").customer

    with pytest.raises(IdentityTaken) as caught:
        actions.check_add_identity(customer=other, kind="phone", value="8 701 123 45 67")

    assert caught.value.customer_id == owner.pk
    assert Identity.objects.filter(customer=other).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_new_handle_at_once_make_one_card() -> None:
    barrier = threading.Barrier(2)
    results = []

    def deliver() -> None:
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            results.append(actions.do_resolve_identity(kind="whatsapp", value="77019998877", channel="whatsapp"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert len(results) == 2
    assert results[0].customer.pk == results[1].customer.pk
    assert Customer.objects.count() == 1
    assert Identity.objects.filter(kind="whatsapp").count() == 1


def test_a_returning_handle_is_resolved_with_one_read_and_no_write(django_assert_num_queries: Any) -> None:
    first = actions.do_resolve_identity(kind="telegram", value="777", channel="telegram")

    with django_assert_num_queries(1):
        again = actions.do_resolve_identity(kind="telegram", value="777", channel="telegram")

    assert again.customer == first.customer


def test_a_returning_whatsapp_sender_as_ingest_passes_it_is_one_read(django_assert_num_queries: Any) -> None:
    first = actions.do_resolve_identity(kind="whatsapp", value="77011234567", phone="77011234567", channel="whatsapp")

    with django_assert_num_queries(1):
        again = actions.do_resolve_identity(
            kind="whatsapp", value="77011234567", phone="77011234567", channel="whatsapp", display_name="Aigerim"
        )

    assert again.customer == first.customer
    assert set(first.customer.identities.values_list("kind", flat=True)) == {"whatsapp", "phone"}


def test_a_handle_back_after_an_hour_writes_last_seen_once_without_a_transaction(
    django_assert_num_queries: Any,
) -> None:
    t = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    first = actions.do_resolve_identity(kind="telegram", value="777", channel="telegram", at=t)
    later = t + dt.timedelta(hours=2)

    with django_assert_num_queries(2) as captured:
        again = actions.do_resolve_identity(kind="telegram", value="777", channel="telegram", at=later)

    assert again.customer == first.customer
    assert Identity.objects.get().last_seen_at == later
    assert not any(q["sql"].startswith(("BEGIN", "SAVEPOINT")) for q in captured.captured_queries)


def test_a_known_handle_that_now_carries_a_phone_adds_it_to_its_card() -> None:
    known = actions.do_resolve_identity(kind="telegram", value="555", channel="telegram")

    shared = actions.do_resolve_identity(kind="telegram", value="555", phone="8 702 555 66 77", channel="telegram")

    assert shared.customer == known.customer
    assert Identity.objects.get(kind="phone").customer == known.customer


def test_a_known_handle_with_a_malformed_phone_is_refused_naming_the_phone() -> None:
    actions.do_resolve_identity(kind="viber", value="01234567890A==", channel="viber")

    with pytest.raises(ValidationFailed) as caught:
        actions.do_resolve_identity(kind="viber", value="01234567890A==", phone="12", channel="viber")

    assert caught.value.field == "phone"


def test_the_handle_of_a_merged_card_resolves_to_the_survivor() -> None:
    store = actions.do_resolve_identity(kind="phone", value="+77011234567").customer
    chat = actions.do_resolve_identity(kind="telegram", value="42", channel="telegram").customer
    actions.check_merge(actor=None, survivor=store, absorbed=chat)

    assert actions.do_resolve_identity(kind="telegram", value="42", channel="telegram").customer == store

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps

from omnia.core.errors import ValidationFailed
from omnia.core.text import name_search_keys
from omnia.customers import actions, queries
from omnia.customers.models import Customer, SearchToken
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


# --- name search at scale: pair keys, ranking by last contact, keys kept current -------------------


def keys_of(customer: Customer) -> set[tuple[str, int]]:
    return set(SearchToken.objects.filter(customer=customer).values_list("token", "contact_day"))


def current_keys(customer: Customer) -> set[tuple[str, int]]:
    """What the search keys of the card must be: its name's keys on its last contact day; none if merged."""
    customer.refresh_from_db()
    if customer.merged_into_id is not None:
        return set()
    day = customer.last_contact_at.date().toordinal() if customer.last_contact_at else 0
    return {(key, day) for key in name_search_keys(customer.first_name, customer.last_name)}


@pytest.mark.parametrize(
    "typed",
    [
        "seit aig",
        "aigerim seitkali",
        "айгерим с",
        "с айгерим",
        "ай сейткали",
        "айгер сейт",
        "seitkali айг",
        "айг seitk",
        "seitk сейт",  # both words can match the one name word
        "СЕЙТКАЛИ  Айгерим ",
    ],
)
def test_two_words_find_the_card_in_any_order_and_script(aigerim: Customer, typed: str) -> None:
    assert list(queries.search_customers(typed)) == [aigerim]


@pytest.mark.parametrize("typed", ["айд сейтк", "айг сейтова", "aidana seitk", "сейткали айгуль", "seit ольга"])
def test_two_words_of_two_different_cards_find_neither(aigerim: Customer, typed: str) -> None:
    assert list(queries.search_customers(typed)) == []


@pytest.mark.parametrize(("typed", "found"), [("мар ан ёлк", True), ("elk mari anna", True), ("мар ан ив", False)])
def test_three_words_must_all_match(typed: str, found: bool) -> None:
    anna = actions.check_create_customer(actor=None, first_name="Анна-Мария", last_name="Ёлкина")
    actions.check_create_customer(actor=None, first_name="Мария", last_name="Иванова")

    assert list(queries.search_customers(typed)) == ([anna] if found else [])


def test_a_common_name_yields_the_most_recently_contacted_cards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "NAME_MATCH_CAP", 2)
    t = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    cards = [actions.check_create_customer(actor=None, first_name="Ерлан", last_name="Сейткали") for _ in range(4)]
    for days, card in zip([3, 1, 2], cards[1:], strict=True):
        actions.do_record_timeline(customer=card, kind="call", summary="Звонок", at=t + dt.timedelta(days=days))

    assert list(queries.search_customers("seitkali")) == [cards[1], cards[3]]
    assert queries.search_customers("ерл сейт").count() == 2


def test_a_prefix_of_several_names_yields_the_most_recently_contacted_of_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "NAME_MATCH_CAP", 3)
    t = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    cards = [
        actions.check_create_customer(actor=None, first_name="Ерлан", last_name=last_name)
        for last_name in ["Сейтказиев", "Сейткали", "Сейтказиев", "Сейткали", "Сейтов"]
    ]
    for days, card in enumerate(cards):
        actions.do_record_timeline(customer=card, kind="call", summary="Звонок", at=t + dt.timedelta(days=days))

    assert list(queries.search_customers("сейт")) == [cards[4], cards[3], cards[2]]


def test_a_vague_prefix_reads_a_bounded_part_of_the_index(aigerim: Customer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "MAX_PREFIX_KEYS", 1)  # 'с' starts more names than that: scan instead
    monkeypatch.setattr(queries, "NAME_SCAN_CAP", 1)

    assert len(queries.search_customers("с")) == 1  # one of Сейткали and Сейтова
    monkeypatch.setattr(queries, "NAME_SCAN_CAP", 100)
    assert {c.last_name for c in queries.search_customers("с")} == {"Сейткали", "Сейтова"}


def test_search_keys_follow_names_contacts_merges_and_undo(aigerim: Customer) -> None:
    other = actions.check_create_customer(actor=None, first_name="Айгерим", last_name="Нурланова")
    assert keys_of(aigerim) == current_keys(aigerim)

    actions.do_record_timeline(
        customer=aigerim, kind="message", summary="Есть гирлянда?", at=dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    )
    assert keys_of(aigerim) == current_keys(aigerim)
    actions.check_update_customer(actor=None, customer=aigerim, first_name="Айгерім")
    assert keys_of(aigerim) == current_keys(aigerim)

    merge = actions.check_merge(actor=None, survivor=other, absorbed=aigerim)
    assert (keys_of(aigerim), keys_of(other)) == (set(), current_keys(other))
    assert list(queries.search_customers("айгерім сейт")) == []

    actions.check_undo_merge(actor=None, merge=merge)
    assert (keys_of(aigerim), keys_of(other)) == (current_keys(aigerim), current_keys(other))
    assert list(queries.search_customers("айгерім сейт")) == [aigerim]


def test_the_backfill_migration_rebuilds_every_cards_keys(aigerim: Customer) -> None:
    backfill = importlib.import_module("omnia.customers.migrations.0006_search_pairs_backfill")
    merged = actions.check_create_customer(actor=None, first_name="Ольга", last_name="Иванова")
    actions.check_merge(actor=None, survivor=aigerim, absorbed=merged)
    aigerim.refresh_from_db()
    SearchToken.objects.filter(token__startswith="\x1f").delete()  # as written before pair keys
    SearchToken.objects.create(customer=merged, token="ольга")
    SearchToken.objects.update(contact_day=0)

    backfill.rebuild(django_apps, None)

    for customer in Customer.objects.all():
        assert keys_of(customer) == current_keys(customer)

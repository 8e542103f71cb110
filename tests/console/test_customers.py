"""Customer 360 in the console: find the one card, read it, edit it, merge two cards and undo it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.core import clock
from omnia.core.money import format_money
from omnia.core.permissions import Role
from omnia.customers import actions
from omnia.customers.models import Customer, Identity, Merge, TimelineEntry
from omnia.orders.models import Order
from tests.factories import make_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PHONE = "+77011234567"


def logged_in(role: str = Role.OPERATOR) -> Client:
    """A console user reading English (the messages asserted here are the English source texts)."""
    client = Client()
    client.force_login(make_user(role))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def card(*identities: tuple[str, str], **fields: Any) -> Customer:
    return actions.check_create_customer(actor=None, identities=identities, **fields)


def place_order(customer: Customer, number: str, total: str, *, at: dt.datetime | None = None) -> Order:
    at = at or clock.now()
    order = Order.objects.create(
        number=number, customer=customer, source="web", total=Decimal(total), currency="KZT", placed_at=at
    )
    actions.do_record_order(
        customer=customer, order=order, number=number, total=Decimal(total), currency="KZT", channel="web", at=at
    )
    return order


def card_url(customer: Customer) -> str:
    return reverse("console:customer", args=[customer.pk])


def html(response: Any) -> str:
    return response.content.decode()


@pytest.fixture
def aigerim() -> Customer:
    customer = card(("phone", PHONE), ("email", "aigerim@mail.kz"), first_name="Айгерим", last_name="Сейткали",
                    city="Алматы", tags=["vip"])  # fmt: skip
    card(("phone", "+77051112233"), first_name="Ольга", last_name="Иванова", city="Астана")
    return customer


# --- the list ------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["8 701 123 45 67", "+7 (701) 123-45-67", "77011234567"])
def test_search_finds_the_card_by_a_phone_typed_in_any_format(aigerim: Customer, typed: str) -> None:
    client = logged_in()

    live = client.get(reverse("console:customers"), {"q": typed}, **HTMX)

    assert live.context["page"].paginator.count == 1
    assert card_url(aigerim) in html(live)
    assert "Иванова" not in html(live)


def test_submitting_a_phone_that_matches_one_card_opens_the_card(aigerim: Customer) -> None:
    client = logged_in()

    response = client.get(reverse("console:customers"), {"q": "8 701 123 45 67", "go": "1"})

    assert response.status_code == 302
    assert response["Location"] == card_url(aigerim)


def test_submitting_a_name_lists_the_matches_instead(aigerim: Customer) -> None:
    response = logged_in().get(reverse("console:customers"), {"q": "айгерим", "go": "1"})

    assert response.status_code == 200
    assert list(response.context["page"]) == [aigerim]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tag": "vip"}, {"Айгерим"}),
        ({"channel": "email"}, {"Айгерим"}),
        ({"city": "Астана"}, {"Ольга"}),
        ({"orders": "yes"}, {"Айгерим"}),
        ({"orders": "no"}, {"Ольга", "Пётр"}),
        ({"contact": "7"}, {"Айгерим"}),
        ({"contact": "not90"}, {"Ольга", "Пётр"}),
        ({}, {"Айгерим", "Ольга", "Пётр"}),
    ],
)
def test_list_filters(aigerim: Customer, params: dict[str, str], expected: set[str]) -> None:
    place_order(aigerim, "W-1", "15000")
    old = card(("phone", "+77019998877"), first_name="Пётр")
    actions.do_record_timeline(customer=old, kind=TimelineEntry.Kind.CALL, summary="call",
                               at=clock.now() - dt.timedelta(days=200))  # fmt: skip

    response = logged_in().get(reverse("console:customers"), params, **HTMX)

    assert {c.first_name for c in response.context["page"]} == expected


def test_list_shows_contacts_orders_and_lifetime_value(aigerim: Customer) -> None:
    place_order(aigerim, "W-1", "15000")

    page = html(logged_in().get(reverse("console:customers")))

    assert f'<span class="chip chip-phone" title="Phone">{PHONE}</span>' in page
    assert "aigerim@mail.kz" in page
    assert format_money(Decimal(15000), "KZT", locale="en") in page
    assert reverse("console:customer_new") in page
    assert reverse("console:customer_duplicates") in page


@pytest.mark.parametrize(("role", "shown"), [(Role.MANAGER, True), (Role.OPERATOR, False)])
def test_the_import_link_is_shown_to_those_who_may_import(role: str, shown: bool) -> None:
    page = html(logged_in(role).get(reverse("console:customers")))

    assert ('href="/customers/import/"' in page) == shown


# --- creating and editing ------------------------------------------------------------------------


def test_create_a_card_with_phones_email_and_tags() -> None:
    response = logged_in().post(
        reverse("console:customer_new"),
        {
            "first_name": "Дана",
            "phones": "8 701 555 44 33, +7 705 111 2233",
            "email": "Dana@Mail.kz",
            "tags": "vip, опт",
            "language": "kk",
        },
    )

    customer = Customer.objects.get(first_name="Дана")
    assert response["Location"] == card_url(customer)
    assert set(customer.identities.values_list("value", flat=True)) == {"+77015554433", "+77051112233", "dana@mail.kz"}
    assert set(customer.tags.values_list("name", flat=True)) == {"vip", "опт"}
    assert customer.language == "kk"


def test_create_with_a_phone_of_another_card_shows_identity_taken_and_links_to_it(aigerim: Customer) -> None:
    count = Customer.objects.count()

    response = logged_in().post(reverse("console:customer_new"), {"first_name": "Дубль", "phones": "8 (701) 123-45-67"})

    assert response.status_code == 200
    assert response.context["form"].errors["phones"] == ["This contact already belongs to another card."]
    assert card_url(aigerim) in html(response)
    assert Customer.objects.count() == count


def test_edit_saves_fields_and_tags(aigerim: Customer) -> None:
    response = logged_in().post(
        reverse("console:customer_edit", args=[aigerim.pk]),
        {
            "first_name": "Айгерим",
            "last_name": "Сейткали",
            "city": "Шымкент",
            "tags": "опт",
            "do_not_call": "on",
            "preferred_channel": "whatsapp",
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "09:00",
        },
    )

    assert response.status_code == 302
    aigerim.refresh_from_db()
    assert aigerim.city == "Шымкент"
    assert aigerim.do_not_call
    assert aigerim.preferred_channel == "whatsapp"
    assert [t.name for t in aigerim.tags.all()] == ["опт"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("add_phone", "12345", "This is not a valid phone number."),
        ("add_email", "not-an-email", "Enter a valid email address."),
        ("add_phone", "+77051112233", "This contact already belongs to another card."),
    ],
)
def test_edit_with_a_bad_contact_shows_the_error_and_changes_nothing(
    aigerim: Customer, field: str, value: str, message: str
) -> None:
    identities = set(aigerim.identities.values_list("value", flat=True))

    response = logged_in().post(
        reverse("console:customer_edit", args=[aigerim.pk]),
        {"first_name": "Другое", "last_name": "Имя", "city": "Шымкент", "tags": "новый", field: value},
    )

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    aigerim.refresh_from_db()
    assert (aigerim.first_name, aigerim.city) == ("Айгерим", "Алматы")
    assert [t.name for t in aigerim.tags.all()] == ["vip"]
    assert set(aigerim.identities.values_list("value", flat=True)) == identities


def test_edit_with_half_the_quiet_hours_is_refused(aigerim: Customer) -> None:
    response = logged_in().post(
        reverse("console:customer_edit", args=[aigerim.pk]), {"first_name": "Айгерим", "quiet_hours_start": "22:00"}
    )

    assert response.context["form"].errors["quiet_hours_end"]
    aigerim.refresh_from_db()
    assert aigerim.quiet_hours_start is None


# --- the card ------------------------------------------------------------------------------------


def test_card_shows_contacts_consents_orders_and_the_timeline_newest_first(aigerim: Customer) -> None:
    now = clock.now()
    actions.do_resolve_identity(kind="whatsapp", value="77011234567", display_name="Aika")
    actions.check_record_consent(customer=aigerim, channel="whatsapp", purpose="marketing", granted=True,
                                 source="Store", method="signed form", at=now - dt.timedelta(days=3))  # fmt: skip
    actions.check_record_consent(customer=aigerim, channel="whatsapp", purpose="marketing", granted=False,
                                 source="WhatsApp", method="STOP reply", at=now - dt.timedelta(days=1))  # fmt: skip
    place_order(aigerim, "W-100", "9990", at=now - dt.timedelta(days=2))
    actions.do_record_timeline(customer=aigerim, kind="message", channel="telegram", summary="Где мой заказ?",
                               at=now - dt.timedelta(hours=1))  # fmt: skip

    response = logged_in().get(card_url(aigerim))

    page = html(response)
    assert response.status_code == 200
    for value in (PHONE, "aigerim@mail.kz", "77011234567"):
        assert value in page
    consents = response.context["consents"]
    assert [(row["consent"].purpose, row["consent"].granted) for row in consents] == [("marketing", False)]
    assert "STOP reply" in page
    assert "W-100" in page
    summaries = [row["entry"].summary for row in response.context["timeline_rows"]]
    assert summaries[0] == "Где мой заказ?"
    assert summaries.index("Где мой заказ?") < summaries.index("W-100: 9990 KZT")
    times = [row["entry"].at for row in response.context["timeline_rows"]]
    assert times == sorted(times, reverse=True)


def test_timeline_filters_by_kind_and_channel(aigerim: Customer) -> None:
    actions.do_record_timeline(customer=aigerim, kind="message", channel="telegram", summary="hello in telegram")
    actions.do_record_timeline(customer=aigerim, kind="call", channel="phone", summary="called back")
    actions.do_add_note(customer=aigerim, text="prefers evening delivery", actor=None)
    client = logged_in()
    url = reverse("console:customer_timeline", args=[aigerim.pk])

    calls = client.get(url, {"kind": "call"}, **HTMX)
    telegram = client.get(url, {"channel": "telegram"}, **HTMX)

    assert [r["entry"].summary for r in calls.context["timeline_rows"]] == ["called back"]
    assert "prefers evening delivery" not in html(calls)
    assert [r["entry"].summary for r in telegram.context["timeline_rows"]] == ["hello in telegram"]


def test_timeline_shows_more_on_request(aigerim: Customer) -> None:
    start = clock.now() - dt.timedelta(days=30)
    for n in range(25):
        actions.do_record_timeline(customer=aigerim, kind="message", channel="sms", summary=f"message {n:02d}",
                                   at=start + dt.timedelta(hours=n))  # fmt: skip
    client = logged_in()

    first = client.get(card_url(aigerim))
    more = client.get(reverse("console:customer_timeline", args=[aigerim.pk]), {"page": 2, "more": 1}, **HTMX)

    assert len(first.context["timeline_rows"]) == 20
    assert "Show more" in html(first)
    assert [r["entry"].summary for r in more.context["timeline_rows"]][-1] == "message 00"
    assert "<ol" not in html(more)  # just entries, appended to the list


def test_panels_add_a_contact_note_address_consent_and_preferences(aigerim: Customer) -> None:
    client = logged_in()

    client.post(reverse("console:customer_add_identity", args=[aigerim.pk]), {"kind": "telegram", "value": "123456"})
    client.post(reverse("console:customer_add_note", args=[aigerim.pk]), {"text": "Звонить после 18:00"})
    client.post(reverse("console:customer_add_address", args=[aigerim.pk]), {"city": "Алматы", "line": "Абая 1"})
    client.post(
        reverse("console:customer_record_consent", args=[aigerim.pk]),
        {"channel": "any", "purpose": "marketing", "granted": "yes", "source": "Console", "method": "verbal"},
    )
    client.post(reverse("console:customer_preferences", args=[aigerim.pk]),
                {"preferred_channel": "whatsapp", "do_not_call": "on", "language": "ru"})  # fmt: skip

    aigerim.refresh_from_db()
    assert aigerim.identities.filter(kind="telegram", value="123456").exists()
    assert aigerim.timeline.filter(kind="note", summary="Звонить после 18:00").exists()
    assert aigerim.addresses.get().is_default
    assert aigerim.consents.get().granted
    assert (aigerim.preferred_channel, aigerim.do_not_call, aigerim.language) == ("whatsapp", True, "ru")


def test_adding_a_contact_of_another_card_offers_to_merge(aigerim: Customer) -> None:
    other = card(("email", "twin@mail.kz"))

    response = logged_in().post(
        reverse("console:customer_add_identity", args=[aigerim.pk]), {"kind": "email", "value": "TWIN@mail.kz"}
    )

    assert response.status_code == 200
    assert response.context["identity_form"].errors["value"] == ["This contact already belongs to another card."]
    assert f"{reverse('console:customer_merge', args=[aigerim.pk])}?other={other.pk}" in html(response)
    assert not aigerim.identities.filter(value="twin@mail.kz").exists()


def test_removing_a_contact(aigerim: Customer) -> None:
    email = aigerim.identities.get(kind="email")

    logged_in().post(reverse("console:customer_remove_identity", args=[aigerim.pk, email.pk]))

    assert not Identity.objects.filter(pk=email.pk).exists()


def test_an_unknown_card_is_not_found() -> None:
    assert logged_in().get(reverse("console:customer", args=[999999])).status_code == 404


# --- merge, undo, duplicates ---------------------------------------------------------------------


@pytest.fixture
def twins() -> tuple[Customer, Customer]:
    """One person twice: a phone card from a store, and a WhatsApp-only card (an old chat, an import)."""
    whatsapp = actions.check_create_customer(actor=None, identities=[("whatsapp", "77011234567")], first_name="Aika",
                                             source="whatsapp")  # fmt: skip
    store = card(("phone", PHONE), ("email", "aigerim@mail.kz"), first_name="Айгерим", city="Алматы")
    return store, whatsapp


def test_merge_page_finds_candidates_but_not_the_card_itself(twins: tuple[Customer, Customer]) -> None:
    store, whatsapp = twins

    response = logged_in().get(reverse("console:customer_merge", args=[store.pk]), {"q": "77011234567"}, **HTMX)

    assert list(response.context["candidates"]) == [whatsapp]
    assert [c.pk for c in response.context["suggested"]] == [whatsapp.pk]


def test_merge_preview_shows_both_cards_side_by_side(twins: tuple[Customer, Customer]) -> None:
    store, whatsapp = twins
    place_order(whatsapp, "WA-1", "5000")

    response = logged_in().get(reverse("console:customer_merge", args=[store.pk]), {"other": whatsapp.pk})

    page = html(response)
    assert [side["customer"] for side in response.context["sides"]] == [store, whatsapp]
    for value in (PHONE, "77011234567", "aigerim@mail.kz"):
        assert value in page
    assert response.context["keep_this"]["orders"] == 1
    assert response.context["keep_other"]["identities"] == 2
    assert 'name="survivor" value="this"' in page
    assert 'name="survivor" value="other"' in page


def test_merge_moves_contacts_and_orders_and_undo_restores_both_cards(twins: tuple[Customer, Customer]) -> None:
    store, whatsapp = twins
    order = place_order(whatsapp, "WA-1", "5000")
    client = logged_in()

    merged = client.post(reverse("console:customer_merge", args=[store.pk]),
                         {"other": whatsapp.pk, "survivor": "this"}, follow=True)  # fmt: skip

    merge = Merge.objects.get()
    assert (merge.survivor, merge.absorbed) == (store, whatsapp)
    assert merged.redirect_chain[-1][0] == card_url(store)
    page = html(merged)
    assert "77011234567" in page  # the WhatsApp handle is on the survivor now
    assert reverse("console:customer_undo_merge", args=[merge.pk]) in page  # the Undo button in the message
    order.refresh_from_db()
    assert order.customer == store
    store.refresh_from_db()
    assert store.orders_count == 1

    undone = client.post(reverse("console:customer_undo_merge", args=[merge.pk]), follow=True)

    assert undone.redirect_chain[-1][0] == card_url(store)
    order.refresh_from_db()
    whatsapp.refresh_from_db()
    store.refresh_from_db()
    assert order.customer == whatsapp
    assert whatsapp.merged_into is None
    assert set(whatsapp.identities.values_list("kind", flat=True)) == {"whatsapp"}
    assert store.orders_count == 0
    assert "77011234567" not in [i.value for i in store.identities.all()]


def test_merge_keeping_the_other_card_absorbs_this_one(twins: tuple[Customer, Customer]) -> None:
    store, whatsapp = twins

    response = logged_in().post(reverse("console:customer_merge", args=[store.pk]),
                                {"other": whatsapp.pk, "survivor": "other"})  # fmt: skip

    assert response["Location"] == card_url(whatsapp)
    store.refresh_from_db()
    assert store.merged_into == whatsapp


def test_merging_with_a_merged_card_is_refused_and_changes_nothing(twins: tuple[Customer, Customer]) -> None:
    store, whatsapp = twins
    third = card(("email", "third@mail.kz"))
    actions.check_merge(actor=None, survivor=third, absorbed=whatsapp)
    client = logged_in()

    response = client.post(reverse("console:customer_merge", args=[store.pk]), {"other": whatsapp.pk}, follow=True)

    assert "Choose another active card to merge with." in html(response)
    assert Merge.objects.count() == 1


def test_undoing_twice_shows_an_error(twins: tuple[Customer, Customer]) -> None:
    store, whatsapp = twins
    merge = actions.check_merge(actor=None, survivor=store, absorbed=whatsapp)
    actions.check_undo_merge(actor=None, merge=merge)

    response = logged_in().post(reverse("console:customer_undo_merge", args=[merge.pk]), follow=True)

    assert "This merge was already undone." in html(response)


def test_a_merged_card_redirects_to_its_survivor(twins: tuple[Customer, Customer]) -> None:
    store, whatsapp = twins
    actions.check_merge(actor=None, survivor=store, absorbed=whatsapp)

    response = logged_in().get(card_url(whatsapp), follow=True)

    assert response.redirect_chain == [(card_url(store), 302)]
    assert f"Card #{whatsapp.pk} was merged into this one" in html(response)


def test_duplicates_page_pairs_a_whatsapp_card_with_the_phone_card(twins: tuple[Customer, Customer]) -> None:
    store, whatsapp = twins

    response = logged_in().get(reverse("console:customer_duplicates"))

    page = html(response)
    pairs = [{p["first"], p["second"]} for p in response.context["pairs"]]
    assert {store, whatsapp} in pairs
    assert f"Same phone {PHONE}" in page
    low, high = sorted([store.pk, whatsapp.pk])
    assert f"{reverse('console:customer_merge', args=[low])}?other={high}" in page


def test_not_the_same_person_removes_the_pair(twins: tuple[Customer, Customer]) -> None:
    store, whatsapp = twins
    client = logged_in()

    client.post(reverse("console:customer_dismiss_duplicate"), {"first": store.pk, "second": whatsapp.pk})

    assert client.get(reverse("console:customer_duplicates")).context["pairs"] == []


# --- access --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.OPERATOR, Role.CLERK])
def test_every_role_opens_the_customer_pages(twins: tuple[Customer, Customer], role: str) -> None:
    store, whatsapp = twins
    client = logged_in(role)

    for url in (
        reverse("console:customers"),
        card_url(store),
        reverse("console:customer_edit", args=[store.pk]),
        reverse("console:customer_new"),
        reverse("console:customer_merge", args=[store.pk]) + f"?other={whatsapp.pk}",
        reverse("console:customer_duplicates"),
    ):
        assert client.get(url).status_code == 200, url


def test_anonymous_visitors_cannot_open_a_card(aigerim: Customer) -> None:
    response = Client().get(card_url(aigerim))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"), [("en", "Marketing via WhatsApp: withdrawn (STOP reply)"), ("ru", "Маркетинг")]
)
def test_timeline_entries_are_described_in_the_operators_language(language: str, expected: str) -> None:
    from django.utils import translation

    from omnia.console.customer_views import describe
    from omnia.customers import actions as customers_actions
    from omnia.customers import queries as customers_queries

    customer = customers_actions.do_resolve_identity(kind="phone", value="+77011234567").customer
    customers_actions.check_record_consent(
        customer=customer,
        channel="whatsapp",
        purpose="marketing",
        granted=False,
        source="whatsapp",
        method="STOP reply",
    )

    with translation.override(language):
        text = describe(customers_queries.timeline(customer).first())

    assert expected in text

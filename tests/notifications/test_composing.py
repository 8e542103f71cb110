"""Notification texts: the variables read from real orders and parcels, the built-in texts in ru/kk/en, the
shop's templates (checked at save, chosen per channel then for every channel), and the preview."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from omnia.channels.models import Channel, MessageTemplate
from omnia.core import clock
from omnia.core.errors import PermissionDenied, ValidationFailed
from omnia.core.permissions import Role
from omnia.customers.models import Customer
from omnia.fulfillment.models import Carrier, DeliveryChoice, Parcel
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location
from omnia.notifications import actions_templates, composing, queries_templates
from omnia.notifications.models import Event, Template
from omnia.orders import actions as orders_actions
from omnia.orders.actions import CustomerIn, FulfillmentIn, LineIn
from omnia.orders.models import Order, Payment, Shipment
from tests.channels.meta.support import make_channel
from tests.factories import make_location, make_user, make_variant

pytestmark = pytest.mark.django_db

GREETINGS = {"ru": "Здравствуйте, Айгерим!", "kk": "Сәлеметсіз бе, Айгерим!", "en": "Hello, Aigerim!"}


def customer(first_name: str = "Айгерим", language: str = "ru") -> Customer:
    return Customer.objects.create(
        first_name=first_name, last_name="Сейткали", language=language, created_at=clock.now()
    )


@pytest.fixture
def store() -> Location:
    return make_location(
        code="mega",
        name="ТРЦ Мега",
        city="Алматы",
        address="ул. Розыбакиева, 247",
        opening_hours="10:00–22:00",
        offers_pickup=True,
        ships=True,
    )


def place(store: Location, who: Customer, fulfillment: str = "pickup", **address: Any) -> Order:
    jacket = make_variant(sku="JKT-M", price="24990", name="Пуховик Arctic")
    jacket.name = "M"
    jacket.save()
    hat = make_variant(sku="HAT-1", price="4990", name="Шапка")
    inventory_actions.do_receive(actor=None, location=store, lines=[Line(jacket, 10), Line(hat, 10)])
    return orders_actions.check_place_order(
        actor=None,
        customer=CustomerIn(id=who.pk),
        source="web",
        lines=[LineIn(variant=jacket, quantity=2), LineIn(variant=hat, quantity=1)],
        fulfillment=FulfillmentIn(type=fulfillment, location=store if fulfillment == "pickup" else None, **address),
    ).order


def whatsapp_template(language: str = "ru", body: str = "Здравствуйте, {{1}}! Заказ {{2}} готов.") -> MessageTemplate:
    channel = Channel.objects.filter(provider="whatsapp").first() or make_channel(
        "whatsapp", credentials={"access_token": "t", "app_secret": "s", "verify_token": "v"}, config={}
    )
    return MessageTemplate.objects.create(
        channel=channel, name=f"order_ready_{language}", language=language, body=body, created_at=clock.now()
    )


# --- built-in texts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
@pytest.mark.parametrize("event", Event.values)
def test_every_built_in_text_reads_well_in_every_language(event: str, language: str) -> None:
    context = composing.sample_context(event, language)
    composed = composing.compose(event=event, channel_kind="telegram", language=language, context=context)
    assert composed.text.startswith(GREETINGS[language])
    assert "{{" not in composed.text
    assert "{{" not in composed.subject
    assert composed.subject
    assert "\n" not in composed.subject
    assert composed.whatsapp_template is None
    english = composing.compose(event=event, channel_kind="telegram", language="en", context=context)
    if language != "en":  # really translated, line by line
        assert not set(composed.text.splitlines()[1:]) & set(english.text.splitlines()[1:])
        assert composed.subject != english.subject


def test_the_ready_for_pickup_text_names_the_store_its_address_and_hours(store: Location) -> None:
    who = customer()
    order = place(store, who)
    context = composing.build_context(Event.READY_FOR_PICKUP, customer=who, order=order)
    composed = composing.compose(event=Event.READY_FOR_PICKUP, channel_kind="sms", language="ru", context=context)
    assert composed.text == (
        "Здравствуйте, Айгерим!\n"
        f"Ваш заказ {order.number} собран и ждёт вас в магазине ТРЦ Мега.\n"
        "Адрес: Алматы, ул. Розыбакиева, 247.\n"
        "Часы работы: 10:00–22:00.\n"
        "При получении назовите номер заказа."
    )
    assert composed.subject == f"Заказ {order.number} готов к выдаче"


def test_the_snapshot_is_plain_data_and_formatted_in_the_language_it_is_written_in(store: Location) -> None:
    who = customer()
    order = place(store, who)
    Payment.objects.create(
        order=order, method="kaspi_pay", amount=Decimal("54970.00"), status="paid", created_at=clock.now()
    )
    context = composing.build_context(Event.PAYMENT_RECEIVED, customer=who, order=order)
    assert context["order"]["total"] == "54970.00"
    assert context["payment"] == {"amount": "54970.00", "currency": "KZT"}
    assert context["order"]["items"][0] == {
        "quantity": 2,
        "name": {"ru": "Пуховик Arctic M", "kk": "Пуховик Arctic M", "en": "Пуховик Arctic M"},
    }
    Template.objects.create(
        event=Event.PAYMENT_RECEIVED,
        language="en",
        body="{{payment.amount}} for {{order.items}} ({{order.status}})",
        updated_at=clock.now(),
    )
    ru = composing.compose(event=Event.PAYMENT_RECEIVED, channel_kind="sms", language="ru", context=context)
    en = composing.compose(event=Event.PAYMENT_RECEIVED, channel_kind="sms", language="en", context=context)
    assert "54 970,00 ₸" in ru.text
    assert en.text == "KZT54,970.00 for 2 × Пуховик Arctic M, 1 × Шапка (New)"


def test_a_parcel_gives_its_carrier_tracking_page_and_expected_date(store: Location) -> None:
    who = customer()
    order = place(store, who, fulfillment="delivery", address={"city": "Астана", "line1": "Кабанбай батыра, 1"})
    now = clock.now()
    DeliveryChoice.objects.create(
        order=order,
        kind=DeliveryChoice.Kind.COURIER,
        city="Астана",
        price=Decimal("1500"),
        currency="KZT",
        ready_on=dt.date(2026, 11, 26),
        estimated_from=dt.date(2026, 11, 27),
        estimated_to=dt.date(2026, 11, 29),
        chosen_at=now,
    )
    carrier = Carrier.objects.create(
        code="cdek",
        name="СДЭК",
        webhook_key="cdek-hook",
        tracking_url="https://www.cdek.kz/ru/tracking?order_id={tracking_number}",
        created_at=now,
        updated_at=now,
    )
    shipment = Shipment.objects.get(order=order, location=store)
    parcel = Parcel.objects.create(
        shipment=shipment, carrier=carrier, tracking_number="1520348766", created_at=now, updated_at=now, status_at=now
    )
    context = composing.build_context(Event.SHIPPED, customer=who, parcel=parcel)
    ru = composing.compose(event=Event.SHIPPED, channel_kind="telegram", language="ru", context=context)
    assert ru.text == (
        "Здравствуйте, Айгерим!\n"
        f"Ваш заказ {order.number} передан в службу доставки СДЭК.\n"
        "Трек-номер: 1520348766.\n"
        "Отследить: https://www.cdek.kz/ru/tracking?order_id=1520348766\n"
        "Ожидаемая дата доставки: 29 ноября."
    )
    Template.objects.create(event=Event.SHIPPED, language="kk", body="{{order.delivery_date}}", updated_at=now)
    kk = composing.compose(event=Event.SHIPPED, channel_kind="telegram", language="kk", context=context)
    assert kk.text == "27–29 қараша"


def test_back_in_stock_names_the_product_in_the_customers_language() -> None:
    variant = make_variant(sku="ARC-M", name="Пуховик Arctic")
    variant.product.translations = {"kk": {"name": "Arctic пуховигі"}, "en": {"name": "Arctic down jacket"}}
    variant.product.save()
    variant.name = "M"
    variant.save()
    location = make_location(name="Dostyk Plaza", city="Алматы", address="пр. Достык, 111")
    context = composing.build_context(
        Event.BACK_IN_STOCK, customer=customer(language="kk"), variant=variant, location=location
    )
    kk = composing.compose(event=Event.BACK_IN_STOCK, channel_kind="sms", language="kk", context=context)
    assert "Arctic пуховигі (M) Dostyk Plaza дүкенінде қайта сатылымда." in kk.text
    assert "Мекенжайы: Алматы, пр. Достык, 111." in kk.text


def test_without_a_first_name_the_greeting_stays_polite() -> None:
    nameless = customer(first_name="")
    context = composing.build_context(Event.REPLY_WAITING, customer=nameless)
    built_in = composing.compose(event=Event.REPLY_WAITING, channel_kind="sms", language="ru", context=context)
    assert built_in.text.splitlines()[0] == "Здравствуйте!"
    assert "Мы ответили на ваше сообщение." in built_in.text  # no reply to quote: the line without it
    Template.objects.create(
        event=Event.REPLY_WAITING,
        language="ru",
        body="Здравствуйте, {{customer.first_name}}! Вам ответили ({{reply.preview}}).",
        updated_at=clock.now(),
    )
    custom = composing.compose(event=Event.REPLY_WAITING, channel_kind="sms", language="ru", context=context)
    assert custom.text == "Здравствуйте! Вам ответили."


# --- the shop's templates ------------------------------------------------------------------------------


def save(**fields: Any) -> Template:
    defaults: dict[str, Any] = {"actor": None, "event": Event.READY_FOR_PICKUP, "channel": "", "language": "ru"}
    return actions_templates.check_save_template(**(defaults | fields))


def test_the_channels_own_text_comes_first_then_every_channels_then_the_built_in() -> None:
    context = composing.sample_context(Event.READY_FOR_PICKUP, "ru")

    def text(channel: str, language: str = "ru") -> str:
        return composing.compose(
            event=Event.READY_FOR_PICKUP, channel_kind=channel, language=language, context=context
        ).text

    assert text("sms").startswith("Здравствуйте, Айгерим!\nВаш заказ 1042 собран")
    save(body="Все каналы: {{order.number}}")
    save(channel="sms", body="SMS: {{order.number}}", subject="ignored by SMS")
    assert (text("sms"), text("telegram"), text("sms", "kk")) == ("SMS: 1042", "Все каналы: 1042", text("sms", "kk"))
    assert text("sms", "kk").startswith("Сәлеметсіз бе, Айгерим!")
    save(channel="sms", body="SMS: {{order.number}}", is_active=False)
    assert text("sms") == "Все каналы: 1042"
    actions_templates.do_delete_template(
        actor=None, template=queries_templates.get_template(Event.READY_FOR_PICKUP, "", "ru")
    )
    assert text("telegram").startswith("Здравствуйте, Айгерим!\nВаш заказ 1042 собран")


def test_the_subject_falls_back_to_the_built_in_one() -> None:
    save(body="{{order.number}}")
    context = composing.sample_context(Event.READY_FOR_PICKUP, "ru")
    composed = composing.compose(event=Event.READY_FOR_PICKUP, channel_kind="email", language="ru", context=context)
    assert composed.subject == "Заказ 1042 готов к выдаче"
    save(body="{{order.number}}", subject="Готово: {{order.pickup_location}}")
    composed = composing.compose(event=Event.READY_FOR_PICKUP, channel_kind="email", language="ru", context=context)
    assert composed.subject == "Готово: Dostyk Plaza"


@pytest.mark.parametrize(
    ("field", "fields", "named"),
    [
        ("body", {"body": "Заказ {{order.number}} в {{parcel.tracking_number}}"}, "{{parcel.tracking_number}}"),
        ("body", {"body": "Привет, {{ customer.nickname }}"}, "{{customer.nickname}}"),
        ("body", {"body": "{{order.number | upper}}"}, "{{order.number | upper}}"),
        ("subject", {"body": "Ok", "subject": "{{shop.phone}}"}, "{{shop.phone}}"),
    ],
)
def test_an_unknown_variable_is_refused_by_name(field: str, fields: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        save(**fields)
    assert (refused.value.code, refused.value.field) == ("UNKNOWN_VARIABLE", field)
    assert named in refused.value.message
    assert "{{order.pickup_location}}" in refused.value.message
    assert not Template.objects.exists()


def test_an_sms_over_ten_parts_is_refused_but_the_same_text_for_e_mail_is_kept() -> None:
    long = "Ваш заказ {{order.number}} готов. " + "Ждём вас в магазине. " * 33  # ~ 730 characters: 11 parts
    with pytest.raises(ValidationFailed) as refused:
        save(channel="sms", body=long)
    assert (refused.value.code, refused.value.field) == ("TOO_LONG", "body")
    assert "11" in refused.value.message
    assert save(channel="email", body=long).pk
    assert save(channel="sms", body="Ваш заказ {{order.number}} готов. " + "Ждём вас. " * 20).pk


def test_a_text_is_required_and_at_most_4096_characters() -> None:
    for body, code in (("  ", "REQUIRED"), ("x" * 4097, "TOO_LONG")):
        with pytest.raises(ValidationFailed) as refused:
            save(body=body)
        assert (refused.value.code, refused.value.field) == (code, "body")


def test_key_values_are_checked() -> None:
    for fields, field in (
        ({"event": "birthday"}, "event"),
        ({"channel": "pigeon"}, "channel"),
        ({"language": "de"}, "language"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            save(body="Ok", **fields)
        assert refused.value.field == field


def test_saving_again_replaces_the_text_and_only_owners_and_managers_may() -> None:
    first = save(actor=make_user(Role.MANAGER), body="Один {{order.number}}")
    again = save(actor=make_user(Role.OWNER), body="Два {{order.number}}")
    assert first.pk == again.pk
    assert Template.objects.get().body == "Два {{order.number}}"
    with pytest.raises(PermissionDenied):
        save(actor=make_user(Role.OPERATOR), body="Три")
    assert Template.objects.get().body == "Два {{order.number}}"


def test_the_approved_whatsapp_template_takes_one_checked_value_per_placeholder() -> None:
    approved = whatsapp_template()
    for values, code, field in (
        (["{{customer.first_name}}"], "TEMPLATE_VALUES", "whatsapp_values"),
        (["{{customer.first_name}}", "{{parcel.carrier}}"], "UNKNOWN_VARIABLE", "whatsapp_values[1]"),
        (["{{customer.first_name}}", " "], "REQUIRED", "whatsapp_values[1]"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            save(channel="whatsapp", body="Ok", whatsapp_template=approved, whatsapp_values=values)
        assert (refused.value.code, refused.value.field) == (code, field)
    with pytest.raises(ValidationFailed) as refused:
        save(language="kk", body="Ok", whatsapp_template=approved, whatsapp_values=["a", "b"])
    assert refused.value.code == "WHATSAPP_TEMPLATE_LANGUAGE"
    with pytest.raises(ValidationFailed) as refused:
        save(channel="sms", body="Ok", whatsapp_template=approved, whatsapp_values=["a", "b"])
    assert refused.value.code == "WHATSAPP_TEMPLATE_INVALID"
    save(
        channel="whatsapp",
        body="Заказ {{order.number}} готов",
        whatsapp_template=approved,
        whatsapp_values=["{{customer.first_name}}", "{{order.number}}"],
    )
    context = composing.sample_context(Event.READY_FOR_PICKUP, "ru")
    composed = composing.compose(event=Event.READY_FOR_PICKUP, channel_kind="whatsapp", language="ru", context=context)
    assert (composed.text, composed.whatsapp_template, composed.whatsapp_values) == (
        "Заказ 1042 готов",
        approved,
        ["Айгерим", "1042"],
    )
    nameless = dict(context, customer={"first_name": "", "last_name": ""})
    composed = composing.compose(event=Event.READY_FOR_PICKUP, channel_kind="whatsapp", language="ru", context=nameless)
    assert composed.whatsapp_values == ["-", "1042"]  # never an empty parameter
    telegram = composing.compose(event=Event.READY_FOR_PICKUP, channel_kind="telegram", language="ru", context=context)
    assert telegram.whatsapp_template is None
    approved.is_active = False
    approved.save()
    composed = composing.compose(event=Event.READY_FOR_PICKUP, channel_kind="whatsapp", language="ru", context=context)
    assert composed.whatsapp_template is None


def test_an_every_channel_text_can_carry_the_whatsapp_template() -> None:
    approved = whatsapp_template()
    save(
        body="Все: {{order.number}}",
        whatsapp_template=approved,
        whatsapp_values=["{{customer.greeting}}", "{{order.number}}"],
    )
    save(channel="whatsapp", body="WhatsApp: {{order.number}}")
    context = composing.sample_context(Event.READY_FOR_PICKUP, "ru")
    composed = composing.compose(event=Event.READY_FOR_PICKUP, channel_kind="whatsapp", language="ru", context=context)
    assert (composed.text, composed.whatsapp_template, composed.whatsapp_values) == (
        "WhatsApp: 1042",
        approved,
        ["Здравствуйте, Айгерим!", "1042"],
    )


# --- preview -------------------------------------------------------------------------------------------


def test_the_preview_fills_the_sample_counts_sms_parts_and_lists_unknown_variables() -> None:
    shown = composing.preview(
        Event.SHIPPED,
        "sms",
        "ru",
        body="{{customer.greeting}} Трек {{parcel.tracking_number}} {{order.pickup_location}}",
    )
    assert shown.text == "Здравствуйте, Айгерим! Трек 1520348766 {{order.pickup_location}}"
    assert shown.unknown == ["order.pickup_location"]
    assert (shown.sms_encoding, shown.sms_segments) == ("UCS-2", 1)
    latin = composing.preview(Event.SHIPPED, "sms", "en", body="Hi {{customer.first_name}}, " + "x" * 150)
    assert (latin.sms_encoding, latin.sms_segments, latin.unknown) == ("GSM-7", 2, [])
    assert composing.preview(Event.SHIPPED, "telegram", "ru", body="x").sms_segments == 0


def test_the_preview_without_a_body_shows_what_is_in_effect() -> None:
    built_in = composing.preview(Event.DELIVERED, "", "kk")
    assert built_in.is_built_in
    assert built_in.text.startswith("Сәлеметсіз бе, Айгерим!")
    save(event=Event.DELIVERED, language="kk", body="Тапсырыс {{order.number}} жеткізілді")
    custom = composing.preview(Event.DELIVERED, "", "kk")
    assert not custom.is_built_in
    assert custom.text == "Тапсырыс 1042 жеткізілді"


def test_an_order_picked_up_in_the_store_is_thanked_for_being_picked_up(store: Location) -> None:
    who = customer()
    order = place(store, who)
    order.status = Order.Status.PICKED_UP
    context = composing.build_context(Event.DELIVERED, customer=who, order=order)
    ru = composing.compose(event=Event.DELIVERED, channel_kind="sms", language="ru", context=context)
    assert ru.subject == f"Заказ {order.number} получен"
    assert ru.text.splitlines()[1] == f"Вы получили заказ {order.number}."


def test_a_shop_line_left_with_only_its_label_is_dropped() -> None:
    Template.objects.create(
        event=Event.SHIPPED,
        language="ru",
        body=(
            "{{customer.greeting}}\nТрек-номер: {{parcel.tracking_number}}.\nСсылка: {{parcel.tracking_url}}\n"
            "Ждите, {{customer.first_name}}!"
        ),
        updated_at=clock.now(),
    )
    context = {"customer": {"first_name": "", "last_name": ""}, "order": {"number": "7"}, "parcel": {}}
    composed = composing.compose(event=Event.SHIPPED, channel_kind="sms", language="ru", context=context)
    assert composed.text == "Здравствуйте!\nЖдите!"

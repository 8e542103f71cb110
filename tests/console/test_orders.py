"""The console's order book: the list (filters, saved views, a clerk's store), the order page (lines, payments,
history, the moves its status allows, the duplicate flag) and the returns form — every change through the
orders actions, refusals shown on the form with nothing changed."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.accounts.models import User
from omnia.catalog.models import Variant
from omnia.core import clock
from omnia.core.permissions import Role
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, StockLevel
from omnia.orders import actions
from omnia.orders.actions_payments import check_add_payment
from omnia.orders.models import Order, Payment, SavedOrderView
from tests.factories import make_location, make_user, make_variant

pytestmark = pytest.mark.django_db

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "order-book"}


class Shop:
    def __init__(self) -> None:
        self.mega = make_location(code="mega", name="MEGA Alma-Ata", offers_pickup=True)
        self.dostyk = make_location(code="dostyk", name="Dostyk Plaza", offers_pickup=True)
        self.outlet = make_location(code="outlet", name="Outlet", accepts_returns=False)
        self.garland = make_variant(sku="GIR-10", price="4990", name="Гирлянда «Нить» 10 м")
        self.lamp = make_variant(sku="LAMP-1", price="1500", name="Лампа")
        for variant in (self.garland, self.lamp):
            for place in (self.mega, self.dostyk):
                inventory_actions.do_receive(actor=None, location=place, lines=[Line(variant, 10)])

    def place(
        self, *, source: str = "web", phone: str = "+7 701 555 12 34", name: str = "Айгерим",
        at: Location | None = None, lines: list[tuple[Variant, int]] | None = None, fulfillment: str = "pickup",
    ) -> Order:  # fmt: skip
        placed = actions.check_place_order(
            actor=None,
            customer=actions.CustomerIn(phone=phone, name=name),
            source=source,
            lines=[actions.LineIn(v, q) for v, q in (lines or [(self.garland, 2)])],
            fulfillment=actions.FulfillmentIn(type=fulfillment, location=at or self.mega),
        )
        return placed.order

    def level(self, variant: Variant, location: Location) -> tuple[int, int]:
        row = StockLevel.objects.get(variant=variant, location=location)
        return row.on_hand, row.reserved


@pytest.fixture
def shop() -> Shop:
    return Shop()


def login(role: str = Role.OPERATOR, **kwargs: Any) -> tuple[Client, User]:
    user = make_user(role, **kwargs)
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the assertions read the English texts
    return client, user


def numbers(html: str) -> list[str]:
    return re.findall(r'data-order="(O-\d+)"', html)


# --- the list ---------------------------------------------------------------------------------------------


def test_the_list_filters_by_status_channel_location_payment_and_text(shop: Shop) -> None:
    web = shop.place(source="web")
    phone = shop.place(source="phone", phone="+7 702 000 00 01", name="Бауыржан", at=shop.dostyk)
    kaspi = shop.place(source="kaspi", phone="+7 702 000 00 02", name="Дана", lines=[(shop.lamp, 1)])
    actions.check_transition(actor=None, order=phone, to="confirmed")
    check_add_payment(actor=None, order=kaspi, method="kaspi_pay", amount=Decimal("1500"), status="paid")
    check_add_payment(actor=None, order=web, method="card_online", amount=Decimal("100"), status="paid")
    client, _user = login()
    url = reverse("console:orders")

    everything = client.get(url)
    assert everything.status_code == 200
    assert numbers(everything.content.decode()) == [kaspi.number, phone.number, web.number]  # newest first

    def shown(**query: str) -> list[str]:
        response = client.get(url, query, **HTMX)
        assert response.status_code == 200
        return numbers(response.content.decode())

    assert shown(status="confirmed") == [phone.number]
    assert shown(source="kaspi") == [kaspi.number]
    assert shown(location=str(shop.dostyk.pk)) == [phone.number]
    assert shown(payment="paid") == [kaspi.number]
    assert shown(payment="partly") == [web.number]
    assert shown(payment="unpaid") == [phone.number]
    assert shown(q=web.number) == [web.number]
    assert shown(q=web.number.removeprefix("O-").lstrip("0")) == [web.number]  # the digits alone
    assert shown(status="confirmed", placed_from="someday") == [phone.number]  # a bad date drops only itself
    assert shown(q="Бауыржан") == [phone.number]
    assert shown(q="+7 702 000 00 02") == [kaspi.number]
    today = clock.local_now().date()
    assert shown(placed_from=str(today - dt.timedelta(days=1)), placed_to=str(today)) == numbers(
        everything.content.decode()
    )
    assert shown(placed_from=str(today + dt.timedelta(days=1))) == []


def test_a_row_shows_what_an_operator_needs(shop: Shop) -> None:
    order = shop.place(source="whatsapp")
    client, _user = login()

    html = client.get(reverse("console:orders")).content.decode()

    assert reverse("console:order_detail", args=[order.pk]) in html
    assert "Айгерим" in html
    assert "WhatsApp" in html
    assert "status-new" in html
    assert "pay-unpaid" in html


def test_possible_duplicates_only(shop: Shop) -> None:
    first = shop.place(source="web")
    second = shop.place(source="instagram")
    assert second.possible_duplicate_of_id == first.pk
    client, _user = login()

    html = client.get(reverse("console:orders"), {"duplicates": "on"}, **HTMX).content.decode()

    assert numbers(html) == [second.number]
    assert "chip-duplicate" in html


def test_a_clerk_sees_their_store_by_default_and_may_see_all(shop: Shop) -> None:
    at_mega = shop.place(at=shop.mega)
    at_dostyk = shop.place(at=shop.dostyk, phone="+7 702 000 00 03")
    client, _user = login(Role.CLERK, store=shop.dostyk)

    mine = client.get(reverse("console:orders")).content.decode()
    everything = client.get(reverse("console:orders"), {"mine": "0"}).content.decode()

    assert numbers(mine) == [at_dostyk.number]
    assert set(numbers(everything)) == {at_mega.number, at_dostyk.number}


def test_saved_views_are_per_user_shared_by_an_owner_and_deleted_by_their_owner(shop: Shop) -> None:
    shop.place()
    operator, me = login()
    owner, boss = login(Role.OWNER)
    other, _someone = login()

    saved = operator.post(
        reverse("console:order_view_save"), {"name": "Kaspi new", "query": "source=kaspi&status=new&page=3"}
    )
    shared = owner.post(
        reverse("console:order_view_save"), {"name": "Unpaid", "query": "payment=unpaid", "shared": "on"}
    )
    refused = operator.post(reverse("console:order_view_save"), {"name": "Mine shared", "query": "q=1", "shared": "on"})

    assert saved.status_code == 302
    assert saved["Location"].endswith("?source=kaspi&status=new")
    assert shared.status_code == 302
    assert refused.status_code == 302
    assert set(SavedOrderView.objects.values_list("name", "user_id", "shared")) == {
        ("Kaspi new", me.pk, False), ("Unpaid", boss.pk, True),
    }  # fmt: skip
    tabs_mine = operator.get(reverse("console:orders")).content.decode()
    tabs_other = other.get(reverse("console:orders")).content.decode()
    assert 'data-view="Kaspi new"' in tabs_mine
    assert 'data-view="Unpaid"' in tabs_mine
    assert 'data-view="Kaspi new"' not in tabs_other
    assert 'data-view="Unpaid"' in tabs_other

    own = SavedOrderView.objects.get(name="Kaspi new")
    theirs = SavedOrderView.objects.get(name="Unpaid")
    assert other.post(reverse("console:order_view_delete", args=[theirs.pk])).status_code == 302
    assert SavedOrderView.objects.filter(pk=theirs.pk).exists()  # not theirs to delete
    assert operator.post(reverse("console:order_view_delete", args=[own.pk])).status_code == 302
    assert not SavedOrderView.objects.filter(pk=own.pk).exists()
    assert other.post(reverse("console:order_view_delete", args=[own.pk])).status_code == 404


# --- the order page -------------------------------------------------------------------------------------


def test_the_order_page_shows_lines_fulfilment_payments_history_and_only_allowed_moves(shop: Shop) -> None:
    order = shop.place(source="phone", lines=[(shop.garland, 2), (shop.lamp, 1)])
    client, _user = login()

    response = client.get(reverse("console:order_detail", args=[order.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert order.number in html
    assert 'data-sku="GIR-10"' in html
    assert 'data-sku="LAMP-1"' in html
    assert "MEGA Alma-Ata" in html  # sourced from / pick-up
    assert reverse("console:customer", args=[order.customer_id]) in html
    assert 'data-move="confirmed"' in html
    assert 'data-move="picking"' not in html  # not from new
    assert 'data-testid="cancel-order"' in html
    assert "placed via phone" in html


def test_a_move_goes_through_the_status_machine(shop: Shop) -> None:
    order = shop.place()
    client, user = login()
    url = reverse("console:order_transition", args=[order.pk])

    moved = client.post(url, {"to": "confirmed", "reason": "позвонили"})
    refused = client.post(url, {"to": "completed"})
    no_reason = client.post(url, {"to": "cancelled", "reason": " "})

    assert moved.status_code == 302
    order.refresh_from_db()
    assert order.status == "confirmed"
    last = order.history.last()
    assert last is not None
    assert (last.new, last.reason, last.actor) == ("confirmed", "позвонили", user)
    assert refused.status_code == 422
    assert "cannot move there" in refused.content.decode()
    assert no_reason.status_code == 422
    assert "Say why" in no_reason.content.decode()
    order.refresh_from_db()
    assert order.status == "confirmed"
    assert shop.level(shop.garland, shop.mega) == (10, 2)


def test_recording_payments_makes_the_order_paid_and_refuses_more_than_due(shop: Shop) -> None:
    order = shop.place()  # 9980
    actions.check_transition(actor=None, order=order, to="confirmed")
    client, _user = login()
    url = reverse("console:order_payment_add", args=[order.pk])

    part = client.post(url, {"method": "cash_in_store", "amount": "5000", "paid": "on"})
    too_much = client.post(url, {"method": "card_terminal", "amount": "4981", "paid": "on"})
    pending = client.post(url, {"method": "card_terminal", "amount": "4980", "reference": "T-77"})

    assert part.status_code == 302
    assert too_much.status_code == 422
    assert "more than is still due" in too_much.content.decode()
    assert pending.status_code == 302
    order.refresh_from_db()
    assert order.status == "confirmed"
    card = Payment.objects.get(order=order, reference="T-77")

    marked = client.post(
        reverse("console:order_payment_status", args=[order.pk, card.pk]), {"status": "paid"}, follow=True
    )

    order.refresh_from_db()
    assert order.status == "paid"
    assert [c.reason for c in order.history.all()][-1] == "paid in full"
    html = marked.content.decode()
    assert "Mark refunded" in html
    assert 'data-move="picking"' in html


def test_not_a_duplicate_clears_the_flag_and_cancel_as_duplicate_releases(shop: Shop) -> None:
    first = shop.place(source="web")
    second = shop.place(source="instagram")
    third = shop.place(source="phone")
    client, _user = login()
    page = client.get(reverse("console:order_detail", args=[second.pk])).content.decode()
    assert 'data-testid="duplicate-banner"' in page
    assert first.number in page

    client.post(reverse("console:order_not_duplicate", args=[second.pk]))
    client.post(
        reverse("console:order_transition", args=[third.pk]),
        {"to": "cancelled", "reason": f"duplicate of {first.number}"},
    )

    second.refresh_from_db()
    third.refresh_from_db()
    assert second.possible_duplicate_of_id is None
    assert third.status == "cancelled"
    assert [c.reason for c in third.history.all()][-1] == f"duplicate of {first.number}"
    assert shop.level(shop.garland, shop.mega) == (10, 4)


# --- returns ----------------------------------------------------------------------------------------------


def handed_over(shop: Shop, **kwargs: Any) -> Order:
    order = shop.place(**kwargs)
    for to in ("confirmed", "picking", "ready", "picked_up"):
        actions.check_transition(actor=None, order=order, to=to)
    return order


def test_a_return_restocks_at_the_chosen_store_and_refunds_the_value(shop: Shop) -> None:
    order = handed_over(shop, lines=[(shop.garland, 2), (shop.lamp, 1)])
    check_add_payment(actor=None, order=order, method="kaspi_pay", amount=order.total, status="paid")
    line = order.lines.get(variant=shop.garland)
    client, _user = login(Role.CLERK, store=shop.dostyk)
    page = client.get(reverse("console:order_detail", args=[order.pk])).content.decode()
    assert 'data-testid="return-form"' in page
    assert 'data-move="completed"' in page
    assert 'data-move="returned"' not in page  # only through the returns form, which restocks
    assert "Outlet" not in page.split('data-testid="return-form"')[1].split("</form>")[0]  # takes no returns

    response = client.post(
        reverse("console:order_return", args=[order.pk]),
        {f"qty_{line.pk}": "1", "location": shop.dostyk.pk, "reason": "брак", "outcome": "refund",
         "refund_method": "kaspi_pay"},
    )  # fmt: skip

    assert response.status_code == 302
    assert shop.level(shop.garland, shop.dostyk) == (11, 0)
    refund = Payment.objects.get(order=order, status="refunded")
    assert (refund.method, refund.amount) == ("kaspi_pay", Decimal("4990.00"))
    order.refresh_from_db()
    assert order.status == "picked_up"  # not everything came back
    html = client.get(reverse("console:order_detail", args=[order.pk])).content.decode()
    assert "Return at Dostyk Plaza" in html


def test_a_return_of_more_than_left_is_refused_and_changes_nothing(shop: Shop) -> None:
    order = handed_over(shop)
    line = order.lines.get()
    client, _user = login()

    response = client.post(
        reverse("console:order_return", args=[order.pk]),
        {f"qty_{line.pk}": "3", "location": shop.mega.pk, "reason": "не подошло", "outcome": "none"},
    )
    nothing = client.post(
        reverse("console:order_return", args=[order.pk]),
        {f"qty_{line.pk}": "0", "location": shop.mega.pk, "reason": "не подошло", "outcome": "none"},
    )

    assert response.status_code == 422
    assert "field-error" in response.content.decode()
    assert nothing.status_code == 422
    assert "Choose what comes back" in nothing.content.decode()
    assert not order.returns.exists()
    assert shop.level(shop.garland, shop.mega) == (8, 0)


def test_an_exchange_places_a_linked_order(shop: Shop) -> None:
    order = handed_over(shop)
    line = order.lines.get()
    client, _user = login()

    bad = client.post(
        reverse("console:order_return", args=[order.pk]),
        {f"qty_{line.pk}": "1", "location": shop.mega.pk, "reason": "x", "outcome": "exchange",
         "exchange_lines": "NOPE 1"},
    )  # fmt: skip

    response = client.post(
        reverse("console:order_return", args=[order.pk]),
        {f"qty_{line.pk}": "2", "location": shop.mega.pk, "reason": "другой размер", "outcome": "exchange",
         "exchange_lines": "LAMP-1 2"},
    )  # fmt: skip
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "returned"
    new = order.returns.get().replacement
    assert new is not None
    assert [(line.variant.sku, line.quantity) for line in new.lines.all()] == [("LAMP-1", 2)]
    html = client.get(reverse("console:order_detail", args=[order.pk])).content.decode()
    assert new.number in html
    assert bad.status_code == 422
    assert "no such SKU" in bad.content.decode()


def test_roles_without_orders_are_refused(shop: Shop) -> None:
    order = shop.place()
    client = Client()

    assert client.get(reverse("console:order_detail", args=[order.pk])).status_code == 302  # to the log-in
    assert client.post(reverse("console:order_transition", args=[order.pk]), {"to": "confirmed"}).status_code == 302
    order.refresh_from_db()
    assert order.status == "new"

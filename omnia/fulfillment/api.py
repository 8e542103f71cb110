"""Delivery over REST: carriers with their zones and tariffs, the shop-wide settings, the quote for a cart,
an order's options and its choice.

Setting delivery up is the Settings section (owners and managers; tokens with `settings:read` /
`settings:write`); quotes and an order's delivery are the Orders section (`orders:read` / `orders:write`;
choosing is for owners, managers and operators). Zones are created under their carrier
(`POST /delivery/carriers/{id}/zones`) and tariffs under their zone, then addressed by their own id.

Bad input answers 422 naming the field with a stable code (CODE_INVALID, WORKING_DAYS_INVALID,
HOLIDAY_INVALID, ZONE_AREA_REQUIRED, ORIGIN_WITHOUT_COORDINATES, DAYS_INVALID, PRICE_INVALID,
CURRENCY_INVALID…); a taken code or bracket 409 CODE_TAKEN / TARIFF_EXISTS; an unknown id 404
CARRIER_NOT_FOUND / ZONE_NOT_FOUND / TARIFF_NOT_FOUND; nothing is changed.

A quote with no option is not an error: 200 with `options: []` and `reason: {code: NO_DELIVERY_OPTION,
reason, message, field}`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from omnia.catalog import queries as catalog_queries
from omnia.core.errors import ValidationFailed
from omnia.core.permissions import Section, actor_of, authorize
from omnia.fulfillment import actions, queries, quotes
from omnia.fulfillment.schemas import (
    CarrierCreatedOut,
    CarrierIn,
    CarrierOut,
    CarrierPatch,
    ChoiceOut,
    ChooseIn,
    OrderDeliveryOut,
    QuoteIn,
    QuoteOut,
    SecretOut,
    SettingsIn,
    SettingsOut,
    TariffIn,
    TariffOut,
    TariffPatch,
    ZoneIn,
    ZoneOut,
    ZonePatch,
)
from omnia.inventory import queries as inventory_queries
from omnia.orders import queries as orders_queries

router = Router(tags=["delivery"])
MAX_QUOTE_LINES = 200


# --- carriers --------------------------------------------------------------------------------------------------


@router.get("/delivery/carriers", response=list[CarrierOut], summary="Carriers with their zones and tariffs")
def list_carriers(request: HttpRequest) -> list[CarrierOut]:
    authorize(actor_of(request), Section.SETTINGS)
    return [CarrierOut.of(c) for c in queries.list_carriers()]


@router.post(
    "/delivery/carriers",
    response={201: CarrierCreatedOut},
    summary="Add a carrier (its tracking webhook's signing secret is answered only now)",
)
def create_carrier(request: HttpRequest, payload: CarrierIn) -> Status[CarrierCreatedOut]:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    values = payload.dict()
    created = actions.check_create_carrier(actor=actor_of(request), **values)
    carrier = queries.get_carrier(created.carrier.pk)
    return Status(201, CarrierCreatedOut(**CarrierOut.fields_of(carrier), secret=created.secret))


@router.get("/delivery/carriers/{carrier_id}", response=CarrierOut, summary="A carrier with its zones and tariffs")
def get_carrier(request: HttpRequest, carrier_id: int) -> CarrierOut:
    authorize(actor_of(request), Section.SETTINGS)
    return CarrierOut.of(queries.get_carrier(carrier_id))


@router.patch("/delivery/carriers/{carrier_id}", response=CarrierOut, summary="Change a carrier (given fields only)")
def update_carrier(request: HttpRequest, carrier_id: int, payload: CarrierPatch) -> CarrierOut:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    carrier = queries.get_carrier(carrier_id)
    actions.check_update_carrier(actor=actor_of(request), carrier=carrier, **payload.dict(exclude_unset=True))
    return CarrierOut.of(queries.get_carrier(carrier_id))


@router.delete(
    "/delivery/carriers/{carrier_id}",
    response={204: None},
    summary="Delete a carrier with its zones (409 CARRIER_IN_USE once orders use it: switch it off instead)",
)
def delete_carrier(request: HttpRequest, carrier_id: int) -> Status[None]:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    actions.do_delete_carrier(actor=actor_of(request), carrier=queries.get_carrier(carrier_id))
    return Status(204, None)


@router.post(
    "/delivery/carriers/{carrier_id}/secret",
    response=SecretOut,
    summary="A new signing secret for the carrier's tracking webhook (answered once; the old one stops working)",
)
def rotate_carrier_secret(request: HttpRequest, carrier_id: int) -> SecretOut:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    secret = actions.do_rotate_carrier_secret(actor=actor_of(request), carrier=queries.get_carrier(carrier_id))
    return SecretOut(secret=secret)


# --- zones ---------------------------------------------------------------------------------------------------------


def _zone_values(payload: ZoneIn | ZonePatch, *, partial: bool) -> dict[str, Any]:
    values = payload.dict(exclude_unset=partial)
    if "origin" in values:
        code = values["origin"]
        values["origin"] = (
            inventory_queries.get_location(code, field="origin") if code is not None and str(code).strip() else None
        )
    if values.get("pickup_points") is not None:
        values["pickup_points"] = [dict(point) for point in values["pickup_points"]]
    return values


@router.post("/delivery/carriers/{carrier_id}/zones", response={201: ZoneOut}, summary="Add a zone to a carrier")
def create_zone(request: HttpRequest, carrier_id: int, payload: ZoneIn) -> Status[ZoneOut]:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    carrier = queries.get_carrier(carrier_id)
    zone = actions.check_create_zone(actor=actor_of(request), carrier=carrier, **_zone_values(payload, partial=False))
    return Status(201, ZoneOut.of(queries.get_zone(zone.pk)))


@router.get("/delivery/zones/{zone_id}", response=ZoneOut, summary="A zone with its tariffs")
def get_zone(request: HttpRequest, zone_id: int) -> ZoneOut:
    authorize(actor_of(request), Section.SETTINGS)
    return ZoneOut.of(queries.get_zone(zone_id))


@router.patch("/delivery/zones/{zone_id}", response=ZoneOut, summary="Change a zone (given fields only)")
def update_zone(request: HttpRequest, zone_id: int, payload: ZonePatch) -> ZoneOut:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    zone = queries.get_zone(zone_id)
    actions.check_update_zone(actor=actor_of(request), zone=zone, **_zone_values(payload, partial=True))
    return ZoneOut.of(queries.get_zone(zone_id))


@router.delete("/delivery/zones/{zone_id}", response={204: None}, summary="Delete a zone with its tariffs")
def delete_zone(request: HttpRequest, zone_id: int) -> Status[None]:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    actions.do_delete_zone(actor=actor_of(request), zone=queries.get_zone(zone_id))
    return Status(204, None)


# --- tariffs -------------------------------------------------------------------------------------------------------


@router.post(
    "/delivery/zones/{zone_id}/tariffs",
    response={201: TariffOut},
    summary="Add a price to a zone: for parcels up to a weight and orders from a value",
)
def create_tariff(request: HttpRequest, zone_id: int, payload: TariffIn) -> Status[TariffOut]:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    zone = queries.get_zone(zone_id)
    tariff = actions.check_create_tariff(actor=actor_of(request), zone=zone, **payload.dict())
    return Status(201, TariffOut.of(tariff))


@router.patch("/delivery/tariffs/{tariff_id}", response=TariffOut, summary="Change a tariff (given fields only)")
def update_tariff(request: HttpRequest, tariff_id: int, payload: TariffPatch) -> TariffOut:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    tariff = actions.check_update_tariff(
        actor=actor_of(request), tariff=queries.get_tariff(tariff_id), **payload.dict(exclude_unset=True)
    )
    return TariffOut.of(tariff)


@router.delete("/delivery/tariffs/{tariff_id}", response={204: None}, summary="Delete a tariff")
def delete_tariff(request: HttpRequest, tariff_id: int) -> Status[None]:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    actions.do_delete_tariff(actor=actor_of(request), tariff=queries.get_tariff(tariff_id))
    return Status(204, None)


# --- settings ----------------------------------------------------------------------------------------------------


@router.get("/delivery/settings", response=SettingsOut, summary="The shop-wide delivery settings")
def get_settings(request: HttpRequest) -> SettingsOut:
    authorize(actor_of(request), Section.SETTINGS)
    return SettingsOut.of(queries.delivery_settings())


@router.put(
    "/delivery/settings",
    response=SettingsOut,
    summary="Set the shop-wide delivery settings: a single door-delivery price (null: the carriers' tariffs), "
    "free from an order value, transfer days, default item weight",
)
def put_settings(request: HttpRequest, payload: SettingsIn) -> SettingsOut:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    saved = actions.check_update_settings(actor=actor_of(request), **payload.dict())
    return SettingsOut.of(saved)


# --- quotes and an order's delivery ---------------------------------------------------------------------------


@router.post(
    "/delivery/quote",
    response=QuoteOut,
    summary="The delivery options for a cart and a city, cheapest first",
    description=(
        "Lines by `sku` or `variant_id`. Each option has a `key`, its price (free from the zone's threshold, "
        "or the shop's single price), the day the goods leave (`ready_on`: today before the carrier's cut-off "
        "when everything is in stock at a location that ships; later when a line must be transferred or is "
        "awaited) and the estimated arrival, counted in the carrier's working days. The cheapest and the "
        "fastest are marked. No option: 200 with `options: []` and `reason`."
    ),
)
def quote(request: HttpRequest, payload: QuoteIn) -> QuoteOut:
    authorize(actor_of(request), Section.ORDERS)
    if len(payload.lines) > MAX_QUOTE_LINES:
        raise ValidationFailed(f"At most {MAX_QUOTE_LINES} lines.", field="lines")
    if not payload.city.strip():
        raise ValidationFailed("Give the city to deliver to.", field="city", code="CITY_REQUIRED")
    lines = []
    for index, line in enumerate(payload.lines):
        if line.quantity < 1 or line.quantity > 100000:
            raise ValidationFailed(
                "A quantity is 1 or more.", field=f"lines[{index}].quantity", code="QUANTITY_INVALID"
            )
        if line.variant_id is not None:
            variant = catalog_queries.get_variant(line.variant_id, field=f"lines[{index}].variant_id")
        elif line.sku and line.sku.strip():
            variant = catalog_queries.get_variant_by_sku(line.sku, field=f"lines[{index}].sku")
        else:
            raise ValidationFailed(
                "Give the line's sku or variant_id.", field=f"lines[{index}].sku", code="SKU_REQUIRED"
            )
        lines.append(quotes.QuoteLine(variant=variant, quantity=line.quantity))
    return QuoteOut.of(quotes.quote(lines, city=payload.city, latitude=payload.latitude, longitude=payload.longitude))


@router.get(
    "/orders/{order_id}/delivery-options",
    response=QuoteOut,
    summary="The delivery options for an order's lines to its address, cheapest first",
)
def order_options(request: HttpRequest, order_id: int) -> QuoteOut:
    authorize(actor_of(request), Section.ORDERS)
    return QuoteOut.of(quotes.quote_order(orders_queries.get_order(order_id)))


def _order_delivery(order_id: int) -> OrderDeliveryOut:
    order = orders_queries.get_order(order_id)
    choice = queries.get_choice(order.pk)
    return OrderDeliveryOut(
        order_id=order.pk,
        delivery_price=order.delivery_price,
        total=order.total,
        currency=order.currency,
        choice=ChoiceOut.of(choice) if choice is not None else None,
    )


@router.get("/orders/{order_id}/delivery", response=OrderDeliveryOut, summary="The order's chosen delivery")
def order_delivery(request: HttpRequest, order_id: int) -> OrderDeliveryOut:
    authorize(actor_of(request), Section.ORDERS)
    return _order_delivery(order_id)


@router.post(
    "/orders/{order_id}/delivery",
    response=OrderDeliveryOut,
    summary="Choose the order's delivery by an option's key; its price joins the order's total",
    description=(
        "The options are computed again now: 409 DELIVERY_OPTION_UNAVAILABLE when the key is no longer one "
        "of them, 409 DELIVERY_LOCKED once the order was shipped, handed over or closed, 409 "
        "PAID_MORE_THAN_TOTAL when more is paid than the new total. Choosing again replaces the choice."
    ),
)
def choose_delivery(request: HttpRequest, order_id: int, payload: ChooseIn) -> OrderDeliveryOut:
    authorize(actor_of(request), Section.ORDERS, write=True)
    order = orders_queries.get_order(order_id)
    actions.check_choose_delivery(actor=actor_of(request), order=order, option_key=payload.option)
    return _order_delivery(order_id)

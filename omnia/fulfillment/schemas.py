from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import Field

from omnia.fulfillment.models import Carrier, DeliveryChoice, DeliverySettings, Tariff, Zone
from omnia.fulfillment.quotes import Option, Quote


class TariffIn(Schema):
    price: Decimal = Field(description="Price of the delivery, in the shop currency; 0 or more")
    max_weight_grams: int | None = Field(None, description="Parcels up to this weight; empty: any weight")
    min_order_value: Decimal = Field(Decimal(0), description="Orders from this value")
    currency: str = Field("", description="The shop currency (KZT); empty means it")


class TariffPatch(Schema):
    price: Decimal | None = None
    max_weight_grams: int | None = None
    min_order_value: Decimal | None = None
    currency: str | None = None


class TariffOut(Schema):
    id: int
    zone_id: int
    max_weight_grams: int | None
    min_order_value: Decimal
    price: Decimal
    currency: str

    @classmethod
    def of(cls, t: Tariff) -> TariffOut:
        return cls(
            id=t.pk,
            zone_id=t.zone_id,
            max_weight_grams=t.max_weight_grams,
            min_order_value=t.min_order_value,
            price=t.price,
            currency=t.currency,
        )


class PickupPointSchema(Schema):
    code: str
    name: str = ""
    address: str
    city: str = ""


class ZoneIn(Schema):
    name: str
    cities: list[str] = Field(default_factory=list, description="City or region names (case does not matter)")
    origin: str | None = Field(None, description="Code of the location a distance zone counts from")
    max_distance_km: Decimal | None = Field(None, description="Within this distance of `origin`")
    days_min: int = Field(1, description="Delivery days (the carrier's working days), from")
    days_max: int = Field(2, description="… to")
    door_delivery: bool = True
    pickup_points: list[PickupPointSchema] = Field(default_factory=list)
    free_from: Decimal | None = Field(None, description="Free delivery from this order value")
    position: int = 0
    is_active: bool = True


class ZonePatch(Schema):
    name: str | None = None
    cities: list[str] | None = None
    origin: str | None = None
    max_distance_km: Decimal | None = None
    days_min: int | None = None
    days_max: int | None = None
    door_delivery: bool | None = None
    pickup_points: list[PickupPointSchema] | None = None
    free_from: Decimal | None = None
    position: int | None = None
    is_active: bool | None = None


class ZoneOut(Schema):
    id: int
    carrier_id: int
    name: str
    cities: list[str]
    origin: str | None
    max_distance_km: Decimal | None
    days_min: int
    days_max: int
    door_delivery: bool
    pickup_points: list[dict[str, Any]]
    free_from: Decimal | None
    position: int
    is_active: bool
    tariffs: list[TariffOut]

    @classmethod
    def of(cls, z: Zone) -> ZoneOut:
        return cls(
            id=z.pk,
            carrier_id=z.carrier_id,
            name=z.name,
            cities=list(z.cities or []),
            origin=z.origin.code if z.origin is not None else None,
            max_distance_km=z.max_distance_km,
            days_min=z.days_min,
            days_max=z.days_max,
            door_delivery=z.door_delivery,
            pickup_points=list(z.pickup_points or []),
            free_from=z.free_from,
            position=z.position,
            is_active=z.is_active,
            tariffs=[TariffOut.of(t) for t in z.tariffs.all()],
        )


class CarrierIn(Schema):
    code: str = Field(description="Unique: latin letters, digits, - and _")
    name: str
    kind: str = Field(Carrier.Kind.OTHER, description="own_courier, kazpost, cdek, same_day, other")
    tracking: str = Field(Carrier.Tracking.MANUAL, description="manual, generic (signed JSON webhook), cdek")
    tracking_url: str = Field("", description="The carrier's page for a parcel, with {tracking_number}")
    cutoff_time: dt.time | None = Field(None, description="Ready after this: leaves on the next working day")
    working_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], description="0 = Monday … 6 = Sunday")
    holidays: list[str] = Field(default_factory=list, description="Days off, YYYY-MM-DD")
    position: int = 0
    is_active: bool = True


class CarrierPatch(Schema):
    code: str | None = None
    name: str | None = None
    kind: str | None = None
    tracking: str | None = None
    tracking_url: str | None = None
    cutoff_time: dt.time | None = None
    working_days: list[int] | None = None
    holidays: list[str] | None = None
    position: int | None = None
    is_active: bool | None = None


class CarrierOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    tracking: str
    webhook_key: str = Field(description="The tracking webhook's address ends with it")
    tracking_url: str
    cutoff_time: dt.time | None
    working_days: list[int]
    holidays: list[str]
    position: int
    is_active: bool
    zones: list[ZoneOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def fields_of(c: Carrier) -> dict[str, Any]:
        return {
            "id": c.pk,
            "code": c.code,
            "name": c.name,
            "kind": c.kind,
            "tracking": c.tracking,
            "webhook_key": c.webhook_key,
            "tracking_url": c.tracking_url,
            "cutoff_time": c.cutoff_time,
            "working_days": list(c.working_days or []),
            "holidays": list(c.holidays or []),
            "position": c.position,
            "is_active": c.is_active,
            "zones": [ZoneOut.of(z) for z in c.zones.all()],
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }

    @classmethod
    def of(cls, c: Carrier) -> CarrierOut:
        return cls(**cls.fields_of(c))


class CarrierCreatedOut(CarrierOut):
    secret: str = Field(description="The tracking webhook's signing secret: answered only now")


class SecretOut(Schema):
    secret: str = Field(description="The tracking webhook's new signing secret: answered only now")


class SettingsIn(Schema):
    flat_price: Decimal | None = Field(None, description="One price for every delivery to the door; null: tariffs")
    flat_free_from: Decimal | None = Field(None, description="Free delivery from this order value; null: never")
    transfer_days: int = Field(2, description="Days a transfer between locations takes")
    default_weight_grams: int = Field(500, description="Weight of an item that has none, g")


class SettingsOut(Schema):
    flat_price: Decimal | None
    flat_free_from: Decimal | None
    currency: str
    transfer_days: int
    default_weight_grams: int
    updated_at: dt.datetime | None

    @classmethod
    def of(cls, s: DeliverySettings) -> SettingsOut:
        return cls(
            flat_price=s.flat_price,
            flat_free_from=s.flat_free_from,
            currency=s.currency,
            transfer_days=s.transfer_days,
            default_weight_grams=s.default_weight_grams,
            updated_at=s.updated_at,
        )


class QuoteLineIn(Schema):
    sku: str | None = Field(None, description="The variant's SKU, or give variant_id")
    variant_id: int | None = None
    quantity: int = Field(1, description="At least 1")


class QuoteIn(Schema):
    lines: list[QuoteLineIn]
    city: str
    latitude: float | None = Field(None, description="For zones by distance from a location")
    longitude: float | None = None


class OptionOut(Schema):
    key: str = Field(description="Pass it to POST /orders/{id}/delivery to choose this option")
    kind: str = Field(description="courier, pickup_point or store_pickup")
    name: str
    carrier: str | None = Field(description="The carrier's code")
    carrier_name: str | None
    zone_id: int | None
    location: str | None = Field(description="The store's code (store_pickup)")
    pickup_point: dict[str, Any]
    address: str = Field(description="Where to pick it up (a pick-up point or a store); empty for door delivery")
    price: Decimal
    currency: str
    free: bool = Field(description="Free because the order reached a free-delivery threshold")
    ready_on: dt.date = Field(description="The day the goods leave (or are ready in the store)")
    estimated_from: dt.date
    estimated_to: dt.date
    cheapest: bool
    fastest: bool

    @classmethod
    def of(cls, o: Option) -> OptionOut:
        address = o.pickup_point.get("address", "") if o.pickup_point else (o.location.address if o.location else "")
        return cls(
            key=o.key,
            kind=o.kind,
            name=o.name,
            carrier=o.carrier.code if o.carrier else None,
            carrier_name=o.carrier.name if o.carrier else None,
            zone_id=o.zone.pk if o.zone else None,
            location=o.location.code if o.location else None,
            pickup_point=dict(o.pickup_point),
            address=address,
            price=o.price,
            currency=o.currency,
            free=o.free,
            ready_on=o.ready_on,
            estimated_from=o.estimated_from,
            estimated_to=o.estimated_to,
            cheapest=o.cheapest,
            fastest=o.fastest,
        )


class ReasonOut(Schema):
    code: str = Field(description="NO_DELIVERY_OPTION")
    reason: str = Field(description="city_not_served, cart_empty, out_of_stock or city_required")
    message: str
    field: str | None


class QuoteOut(Schema):
    city: str
    weight_grams: int
    value: Decimal
    currency: str
    options: list[OptionOut] = Field(description="Cheapest first, then fastest")
    reason: ReasonOut | None = Field(description="Why there is no option (options empty)")

    @classmethod
    def of(cls, q: Quote) -> QuoteOut:
        return cls(
            city=q.city,
            weight_grams=q.weight_grams,
            value=q.value,
            currency=q.currency,
            options=[OptionOut.of(o) for o in q.options],
            reason=ReasonOut(**q.reason.as_dict()) if q.reason else None,  # type: ignore[arg-type]
        )


class ChooseIn(Schema):
    option: str = Field(description="An option's `key` from GET /orders/{id}/delivery-options")


class ChoiceOut(Schema):
    kind: str
    carrier: str | None
    carrier_name: str | None
    zone_id: int | None
    location: str | None
    pickup_point: dict[str, Any]
    city: str
    price: Decimal
    currency: str
    ready_on: dt.date
    estimated_from: dt.date
    estimated_to: dt.date
    chosen_at: dt.datetime
    chosen_by: str | None

    @classmethod
    def of(cls, c: DeliveryChoice) -> ChoiceOut:
        return cls(
            kind=c.kind,
            carrier=c.carrier.code if c.carrier else None,
            carrier_name=c.carrier.name if c.carrier else None,
            zone_id=c.zone_id,
            location=c.location.code if c.location else None,
            pickup_point=dict(c.pickup_point or {}),
            city=c.city,
            price=c.price,
            currency=c.currency,
            ready_on=c.ready_on,
            estimated_from=c.estimated_from,
            estimated_to=c.estimated_to,
            chosen_at=c.chosen_at,
            chosen_by=c.chosen_by.email if c.chosen_by else None,
        )


class OrderDeliveryOut(Schema):
    order_id: int
    delivery_price: Decimal
    total: Decimal = Field(description="The goods plus the delivery")
    currency: str
    choice: ChoiceOut | None

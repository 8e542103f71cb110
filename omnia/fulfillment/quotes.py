"""The delivery quote: for a cart or an order and the customer's city, every way the goods can get there,
with the price and the dates, cheapest first. The API, the console's order page and the order composer all
ask here.

Price: the zone's tariff for the parcel's weight (each item's `weight_grams`, or the shop's default weight)
and the order's value — the smallest weight bracket that holds the parcel, then the highest value step the
order reaches; free from the zone's `free_from`. A shop-wide single price (DeliverySettings.flat_price)
replaces the tariff of every delivery to the door, free from `flat_free_from`.

Dates: the goods are ready to leave today when every line is available at a location that ships (before the
carrier's cut-off time; after it, the next working day); a line only in a store that does not ship travels
to one first (+ `transfer_days`), and for the shop's own couriers or a same-day service, which carry within
the city, to a location in the customer's city; a line out of stock waits for its next arrival (a supply or a transfer
due), + `transfer_days` when it arrives somewhere else. The carrier's working days (and days off) count
the delivery days from there. A store that offers pick-up in the city is an option too: free, today when it
has everything, otherwise when the goods arrive there.

A few queries per quote whatever the number of zones: the locations, the stock levels, the arrivals
(inventory.availability), the zones with their carriers and tariffs, the settings.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from omnia.core import clock
from omnia.fulfillment import queries
from omnia.fulfillment.models import Carrier, DeliveryChoice, DeliverySettings, Tariff, Zone
from omnia.inventory import availability
from omnia.inventory.models import Location

NO_DELIVERY_OPTION = "NO_DELIVERY_OPTION"
Kind = DeliveryChoice.Kind
_KIND_ORDER: dict[str, int] = {Kind.STORE_PICKUP: 0, Kind.PICKUP_POINT: 1, Kind.COURIER: 2}
MAX_DAYS_AHEAD = 366  # a carrier with no working day at all still ends the count


@dataclass(frozen=True)
class QuoteLine:
    """A variant and how many. `location_id` is where an order's line is already reserved (its units wait
    there); `line_total` is what the line costs (an order's price after discount); without it, the variant's
    price now times the quantity."""

    variant: Any  # catalog.Variant
    quantity: int
    location_id: int | None = None
    line_total: Decimal | None = None


@dataclass(frozen=True)
class Option:
    key: str
    kind: str
    name: str
    price: Decimal
    currency: str
    ready_on: dt.date
    estimated_from: dt.date
    estimated_to: dt.date
    carrier: Carrier | None = None
    zone: Zone | None = None
    location: Location | None = None
    pickup_point: dict[str, Any] = field(default_factory=dict)
    free: bool = False  # free because of a threshold the order reached
    cheapest: bool = False
    fastest: bool = False

    @property
    def kind_label(self) -> str:
        return str(Kind(self.kind).label)


@dataclass(frozen=True)
class Reason:
    """Why there is no option: `reason` is city_not_served, cart_empty, out_of_stock or city_required."""

    reason: str
    message: str
    code: str = NO_DELIVERY_OPTION
    field: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "reason": self.reason, "message": self.message, "field": self.field}


@dataclass(frozen=True)
class Quote:
    city: str
    options: list[Option]
    reason: Reason | None
    weight_grams: int
    value: Decimal
    currency: str

    def find(self, key: str) -> Option | None:
        return next((option for option in self.options if option.key == key), None)


# --- calendar -----------------------------------------------------------------------------------------------


def _holidays(carrier: Carrier) -> set[dt.date]:
    days = set()
    for value in carrier.holidays or []:
        try:
            days.add(dt.date.fromisoformat(str(value)))
        except ValueError:
            continue
    return days


def _works(carrier: Carrier, day: dt.date, holidays: set[dt.date]) -> bool:
    return day.weekday() in set(carrier.working_days or []) and day not in holidays


def first_working_day(carrier: Carrier, day: dt.date, holidays: set[dt.date] | None = None) -> dt.date:
    """`day` if the carrier works that day, else its next working day."""
    off = _holidays(carrier) if holidays is None else holidays
    for _ in range(MAX_DAYS_AHEAD):
        if _works(carrier, day, off):
            return day
        day += dt.timedelta(days=1)
    return day


def add_working_days(carrier: Carrier, day: dt.date, days: int, holidays: set[dt.date] | None = None) -> dt.date:
    """The date `days` of the carrier's working days after `day` (0: `day` itself)."""
    off = _holidays(carrier) if holidays is None else holidays
    counted = 0
    for _ in range(MAX_DAYS_AHEAD):
        if counted >= days:
            return day
        day += dt.timedelta(days=1)
        if _works(carrier, day, off):
            counted += 1
    return day


def leaves_on(carrier: Carrier, ready: dt.date | None, now: dt.datetime) -> dt.date:
    """When the carrier takes the parcel: `ready` None means the goods are there now (today before the
    cut-off time on a working day, else the next working day); a date, the first working day from it."""
    off = _holidays(carrier)
    local = timezone.localtime(now)
    if ready is not None and ready > local.date():
        return first_working_day(carrier, ready, off)
    start = local.date()
    if carrier.cutoff_time is not None and local.time() >= carrier.cutoff_time:
        start += dt.timedelta(days=1)
    return first_working_day(carrier, start, off)


# --- price ------------------------------------------------------------------------------------------------------


def pick_tariff(tariffs: Sequence[Tariff], weight_grams: int, value: Decimal) -> Tariff | None:
    """The smallest weight bracket that holds `weight_grams` (no limit last), then the highest value step
    `value` reaches."""
    fitting = [
        t
        for t in tariffs
        if (t.max_weight_grams is None or t.max_weight_grams >= weight_grams) and t.min_order_value <= value
    ]
    if not fitting:
        return None
    return min(
        fitting,
        key=lambda t: (t.max_weight_grams is None, t.max_weight_grams or 0, -t.min_order_value, t.pk or 0),
    )


def _door_price(zone: Zone, tariff: Tariff | None, value: Decimal, config: DeliverySettings) -> tuple[Decimal, bool]:
    if config.flat_price is not None:
        if config.flat_free_from is not None and value >= config.flat_free_from:
            return Decimal(0), True
        return Decimal(config.flat_price), False
    return _zone_price(zone, tariff, value)


def _zone_price(zone: Zone, tariff: Tariff | None, value: Decimal) -> tuple[Decimal, bool]:
    if zone.free_from is not None and value >= zone.free_from:
        return Decimal(0), True
    assert tariff is not None  # noqa: S101 - callers skip a zone without a tariff for the parcel
    return Decimal(tariff.price), False


# --- where the goods are ---------------------------------------------------------------------------------


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0088 * 2 * math.asin(math.sqrt(a))


def _norm(city: str) -> str:
    return " ".join(str(city).split()).casefold()


@dataclass(frozen=True)
class _LineReady:
    """When one line's units can leave: None now (from a location that ships to the city), else a date."""

    ship: dt.date | None
    missing: bool = False  # out of stock everywhere with no arrival due


def _line_ready_to_ship(
    line: QuoteLine, rows: list[availability.LocationStock], today: dt.date, transfer: dt.timedelta
) -> _LineReady:
    if line.location_id is not None:  # an order's line: its units are reserved there
        there = next((row for row in rows if row.location.pk == line.location_id), None)
        if there is not None and there.ships:
            return _LineReady(None)
        return _LineReady(today + transfer)
    if any(row.ships and row.available >= line.quantity for row in rows):
        return _LineReady(None)
    if any(row.available >= line.quantity for row in rows) or sum(max(r.available, 0) for r in rows) >= line.quantity:
        return _LineReady(today + transfer)
    due = _arrival(line, rows, lambda row: row.ships, today, transfer)
    return _LineReady(due) if due is not None else _LineReady(None, missing=True)


def _arrival(
    line: QuoteLine, rows: list[availability.LocationStock], here: Any, today: dt.date, transfer: dt.timedelta
) -> dt.date | None:
    """The earliest date the line's units can be where `here(row)` says, by the next arrival at a location."""
    dates = []
    for row in rows:
        if row.next_arrival is None:
            continue
        when = max(row.next_arrival.date, today)
        dates.append(when if here(row) else when + transfer)
    return min(dates) if dates else None


def _line_ready_at_store(
    line: QuoteLine, rows: list[availability.LocationStock], store: Location, today: dt.date, transfer: dt.timedelta
) -> dt.date | None:
    """When the line's units can be handed out at `store` (None: out of stock everywhere, nothing due)."""
    if line.location_id is not None:
        return today if line.location_id == store.pk else today + transfer
    for row in rows:
        if row.location.pk == store.pk and row.available >= line.quantity:
            return today
    if sum(max(r.available, 0) for r in rows) >= line.quantity:
        return today + transfer
    return _arrival(line, rows, lambda row: row.location.pk == store.pk, today, transfer)


# The shop's own couriers and same-day services carry within the city: goods elsewhere travel there first.
LOCAL_KINDS = frozenset({Carrier.Kind.OWN_COURIER, Carrier.Kind.SAME_DAY})


def _line_ready_in_city(
    line: QuoteLine, rows: list[availability.LocationStock], city: str, today: dt.date, transfer: dt.timedelta
) -> dt.date | None:
    """When the line's units can leave from a location in `city` (None: now), for a carrier of the city."""

    def here(row: availability.LocationStock) -> bool:
        return _norm(row.location.city) == city and (row.location.ships or row.location.sells)

    if line.location_id is not None:
        there = next((row for row in rows if row.location.pk == line.location_id), None)
        return None if there is not None and here(there) else today + transfer
    if any(here(row) and row.available >= line.quantity for row in rows):
        return None
    if sum(max(r.available, 0) for r in rows) >= line.quantity:
        return today + transfer
    return _arrival(line, rows, here, today, transfer)


# --- the quote --------------------------------------------------------------------------------------------------


def _zone_serves(zone: queries.ZoneArea, city: str, point: tuple[float, float] | None) -> bool:
    if city and any(_norm(c) == city for c in zone.cities):
        return True
    if point is None or zone.origin is None or zone.max_distance_km is None:
        return False
    return distance_km(zone.origin[0], zone.origin[1], point[0], point[1]) <= zone.max_distance_km


def _coordinates(latitude: Any, longitude: Any) -> tuple[float, float] | None:
    try:
        if latitude is None or longitude is None or latitude == "" or longitude == "":
            return None
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def quote(
    lines: Sequence[QuoteLine],
    *,
    city: str,
    latitude: Any = None,
    longitude: Any = None,
    now: dt.datetime | None = None,
    config: DeliverySettings | None = None,
) -> Quote:
    """Every delivery option for `lines` to `city` (see the module docstring)."""
    now = now or clock.now()
    config = config or queries.delivery_settings()
    currency = config.currency
    shown_city = " ".join(str(city or "").split())
    wanted = _norm(shown_city)
    lines = [line for line in lines if line.quantity > 0]
    weight = sum((line.variant.weight_grams or config.default_weight_grams) * line.quantity for line in lines)
    value = sum(
        (
            line.line_total if line.line_total is not None else Decimal(line.variant.price_at(now)) * line.quantity
            for line in lines
        ),
        Decimal(0),
    )

    def empty(reason: str, message: str, field: str | None = None) -> Quote:
        return Quote(shown_city, [], Reason(reason, message, field=field), weight, value, currency)

    if not lines:
        return empty("cart_empty", gettext("The cart is empty."), "lines")
    if not wanted:
        return empty("city_required", gettext("Give the city to deliver to."), "city")

    today = timezone.localtime(now).date()
    transfer = dt.timedelta(days=config.transfer_days)
    # `ships`: the location ships orders to this city (its ships_to); pick-up: a store in this city.
    stock = availability.availability([line.variant.pk for line in lines], city=shown_city)
    ready_lines = [_line_ready_to_ship(line, stock.get(line.variant.pk, []), today, transfer) for line in lines]
    missing = next((line for line, ready in zip(lines, ready_lines, strict=True) if ready.missing), None)
    if missing is not None:
        return empty(
            "out_of_stock",
            gettext("%(item)s is out of stock everywhere with no arrival due.") % {"item": missing.variant.sku},
            "lines",
        )
    dated = [ready.ship for ready in ready_lines if ready.ship is not None]
    ship_ready: dt.date | None = max(dated) if dated else None
    in_city = [_line_ready_in_city(line, stock.get(line.variant.pk, []), wanted, today, transfer) for line in lines]
    city_dated = [date for date in in_city if date is not None]
    city_ready: dt.date | None = max(city_dated) if city_dated else None

    options: list[Option] = []
    point = _coordinates(latitude, longitude)
    seen_carriers: set[int] = set()
    serving = [area.pk for area in queries.zone_areas() if _zone_serves(area, wanted, point)]
    for zone in queries.zones_with_tariffs(serving):
        carrier = zone.carrier
        tariff = pick_tariff(list(zone.tariffs.all()), weight, value)
        priced = tariff is not None or (zone.free_from is not None and value >= zone.free_from)
        leave = leaves_on(carrier, city_ready if carrier.kind in LOCAL_KINDS else ship_ready, now)
        holidays = _holidays(carrier)
        earliest = add_working_days(carrier, leave, zone.days_min, holidays)
        latest = add_working_days(carrier, leave, zone.days_max, holidays)
        if zone.door_delivery and carrier.pk not in seen_carriers and (priced or config.flat_price is not None):
            seen_carriers.add(carrier.pk)  # one door delivery per carrier: its first zone that serves the city
            price, free = _door_price(zone, tariff, value, config)
            options.append(
                Option(
                    key=f"courier:{zone.pk}",
                    kind=Kind.COURIER,
                    name=carrier.name,
                    price=price,
                    currency=currency,
                    ready_on=leave,
                    estimated_from=earliest,
                    estimated_to=latest,
                    carrier=carrier,
                    zone=zone,
                    free=free,
                )
            )
        if not priced:
            continue  # too heavy (or too cheap) for this zone's tariffs: no pick-up point either
        for spot in zone.pickup_points or []:
            spot_city = _norm(spot.get("city", ""))
            if spot_city and spot_city != wanted:
                continue
            price, free = _zone_price(zone, tariff, value)
            options.append(
                Option(
                    key=f"pickup_point:{zone.pk}:{spot.get('code', '')}",
                    kind=Kind.PICKUP_POINT,
                    name=f"{carrier.name}: {spot.get('name') or spot.get('code', '')}",
                    price=price,
                    currency=currency,
                    ready_on=leave,
                    estimated_from=earliest,
                    estimated_to=latest,
                    carrier=carrier,
                    zone=zone,
                    pickup_point=dict(spot),
                    free=free,
                )
            )

    stores = {
        row.location.pk: row.location
        for rows in stock.values()
        for row in rows
        if row.location.offers_pickup and _norm(row.location.city) == wanted
    }
    for store in sorted(stores.values(), key=lambda s: (s.name, s.pk)):
        dates = [_line_ready_at_store(line, stock.get(line.variant.pk, []), store, today, transfer) for line in lines]
        if any(date is None for date in dates):
            continue
        ready = max(date for date in dates if date is not None)
        options.append(
            Option(
                key=f"store:{store.pk}",
                kind=Kind.STORE_PICKUP,
                name=store.name,
                price=Decimal(0),
                currency=currency,
                ready_on=ready,
                estimated_from=ready,
                estimated_to=ready,
                location=store,
            )
        )

    if not options:
        return empty(
            "city_not_served",
            gettext("No carrier delivers to %(city)s.") % {"city": shown_city},
            "city",
        )
    return Quote(shown_city, _ranked(options), None, weight, value, currency)


def _ranked(options: list[Option]) -> list[Option]:
    """Cheapest first, then fastest; the cheapest and the fastest marked."""
    options = sorted(
        options, key=lambda o: (o.price, o.estimated_to, o.estimated_from, _KIND_ORDER[o.kind], o.name, o.key)
    )
    if not options:
        return options
    fastest = min(options, key=lambda o: (o.estimated_to, o.estimated_from, o.price, _KIND_ORDER[o.kind], o.key))
    return [
        replace(option, cheapest=index == 0, fastest=option.key == fastest.key) for index, option in enumerate(options)
    ]


def order_lines(order: Any) -> list[QuoteLine]:
    """An order's lines as the quote takes them: where each is reserved, and its price after discount."""
    return [
        QuoteLine(
            variant=line.variant,
            quantity=line.quantity,
            location_id=line.location_id,
            line_total=line.unit_price * line.quantity - line.discount,
        )
        for line in order.lines.select_related("variant")
    ]


def order_city(order: Any) -> str:
    """Where the order goes: the delivery address's city, else the city of its store."""
    address = order.delivery_address or {}
    city = str(address.get("city", "") or "").strip()
    if not city and order.location_id is not None:
        city = order.location.city
    return city


def quote_order(order: Any, *, now: dt.datetime | None = None) -> Quote:
    """The options for an order's lines to its address (its coordinates, if the address has them), as
    its fulfilment allows: a delivery goes by a carrier (to the door or a carrier's pick-up point); a
    pick-up is at its own store (the option gives the date it is ready there); a take-away has none."""
    address = order.delivery_address or {}
    result = quote(
        order_lines(order),
        city=order_city(order),
        latitude=address.get("latitude"),
        longitude=address.get("longitude"),
        now=now,
    )
    return narrowed(result, fulfillment=getattr(order, "fulfillment", "delivery"), location_id=order.location_id)


def narrowed(result: Quote, *, fulfillment: str, location_id: int | None = None) -> Quote:
    """The options a fulfilment allows: a delivery goes by a carrier (to the door or a carrier's pick-up
    point); a pick-up is at its store (`location_id`); a take-away has nothing to deliver."""
    if fulfillment == "takeaway":
        reason = Reason("takeaway", gettext("Taken away in the store: there is nothing to deliver."))
        return replace(result, options=[], reason=reason)
    if fulfillment == "pickup":
        kept = [
            o
            for o in result.options
            if o.kind == Kind.STORE_PICKUP and o.location is not None and o.location.pk == location_id
        ]
        if not kept and result.reason is None:
            reason = Reason("pickup", gettext("Picked up in the store: there is nothing to deliver."))
            return replace(result, options=[], reason=reason)
        return replace(result, options=_ranked(kept))
    kept = [o for o in result.options if o.kind != Kind.STORE_PICKUP]
    if not kept and result.reason is None:
        reason = Reason(
            "city_not_served", gettext("No carrier delivers to %(city)s.") % {"city": result.city}, field="city"
        )
        return replace(result, options=[], reason=reason)
    return replace(result, options=_ranked(kept))

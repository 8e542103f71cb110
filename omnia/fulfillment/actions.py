"""Every change to carriers, zones, tariffs and the shop's delivery settings, and choosing an order's delivery.

Owners and managers set delivery up (ROLE_FORBIDDEN for anyone else); owners, managers and operators choose
an order's delivery. Bad input is refused naming the field with a stable code and changes nothing:
CODE_REQUIRED / CODE_INVALID / CODE_TAKEN, NAME_REQUIRED, KIND_INVALID, TRACKING_INVALID, TRACKING_URL_INVALID,
WORKING_DAYS_INVALID, HOLIDAY_INVALID, ZONE_AREA_REQUIRED, ORIGIN_WITHOUT_COORDINATES, DISTANCE_INVALID,
DAYS_INVALID, PICKUP_POINT_INVALID, ZONE_OFFERS_NOTHING, PRICE_INVALID, VALUE_INVALID, WEIGHT_INVALID,
CURRENCY_INVALID, TARIFF_EXISTS; deleting a carrier that orders or parcels name: CARRIER_IN_USE.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.core.errors import Conflict, PermissionDenied, ValidationFailed
from omnia.core.money import default_currency
from omnia.core.permissions import Role
from omnia.fulfillment import quotes
from omnia.fulfillment.errors import CarrierInUse, OptionUnavailable
from omnia.fulfillment.models import Carrier, DeliveryChoice, DeliverySettings, Parcel, Tariff, Zone
from omnia.inventory.models import Location
from omnia.orders import actions_delivery
from omnia.orders.models import Order

SETTING_UP = frozenset({Role.OWNER, Role.MANAGER})
# Whoever sells chooses how it gets there: the inbox's operators and the store terminal's clerks too.
CHOOSING = frozenset({Role.OWNER, Role.MANAGER, Role.OPERATOR, Role.CLERK})
MAX_DAYS = 60
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_UNSET: Any = object()


def _require(actor: Any, roles: frozenset[str]) -> None:
    """None is the system (the demo, imports); otherwise the actor's role must be one of `roles`."""
    if actor is not None and getattr(actor, "role", None) not in roles:
        raise PermissionDenied("Your role may not change delivery settings.", code="ROLE_FORBIDDEN")


def _user(actor: Any) -> Any:
    return getattr(actor, "audit_user", None)


# --- cleaning ------------------------------------------------------------------------------------------------


def _amount(value: Any, *, field: str, code: str, allow_none: bool = False) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if allow_none:
            return None
        raise ValidationFailed("Give an amount.", field=field, code=code)
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("This is not an amount.", field=field, code=code) from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount >= 10**12:
        raise ValidationFailed("An amount is zero or more, in at most two decimals.", field=field, code=code)
    return amount.quantize(Decimal("0.01"))


def clean_working_days(days: Any, *, field: str = "working_days") -> list[int]:
    if not isinstance(days, (list, tuple)) or not days:
        raise ValidationFailed(
            "Give at least one working day (0 = Monday … 6 = Sunday).", field=field, code="WORKING_DAYS_INVALID"
        )
    cleaned = set()
    for index, day in enumerate(days):
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise ValidationFailed(
                "A working day is 0 (Monday) to 6 (Sunday).", field=f"{field}[{index}]", code="WORKING_DAYS_INVALID"
            )
        cleaned.add(day)
    return sorted(cleaned)


def clean_holidays(days: Any, *, field: str = "holidays") -> list[str]:
    if days is None:
        return []
    if not isinstance(days, (list, tuple)):
        raise ValidationFailed("Days off are a list of dates, YYYY-MM-DD.", field=field, code="HOLIDAY_INVALID")
    cleaned = set()
    for index, day in enumerate(days):
        try:
            cleaned.add(day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day).strip()))
        except ValueError:
            raise ValidationFailed(
                f"{day!r} is not a date: YYYY-MM-DD.", field=f"{field}[{index}]", code="HOLIDAY_INVALID"
            ) from None
    return [day.isoformat() for day in sorted(cleaned)]


def _clean_carrier(values: dict[str, Any], carrier: Carrier | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "code" in values:
        code = str(values["code"] or "").strip().lower()
        if not code:
            raise ValidationFailed("Give the carrier a code.", field="code", code="CODE_REQUIRED")
        if not _CODE.match(code):
            raise ValidationFailed(
                "A code is up to 40 latin letters, digits, - and _.", field="code", code="CODE_INVALID"
            )
        taken = Carrier.objects.filter(code=code)
        if carrier is not None:
            taken = taken.exclude(pk=carrier.pk)
        if taken.exists():
            raise Conflict(f"Another carrier has the code {code}.", field="code", code="CODE_TAKEN")
        out["code"] = code
    if "name" in values:
        name = str(values["name"] or "").strip()
        if not name:
            raise ValidationFailed("Give the carrier a name.", field="name", code="NAME_REQUIRED")
        if len(name) > 100:
            raise ValidationFailed("A name has at most 100 characters.", field="name", code="NAME_TOO_LONG")
        out["name"] = name
    if "kind" in values:
        if values["kind"] not in Carrier.Kind.values:
            raise ValidationFailed(
                f"The kind is one of {', '.join(Carrier.Kind.values)}.", field="kind", code="KIND_INVALID"
            )
        out["kind"] = values["kind"]
    if "tracking" in values:
        if values["tracking"] not in Carrier.Tracking.values:
            raise ValidationFailed(
                f"Tracking is one of {', '.join(Carrier.Tracking.values)}.", field="tracking", code="TRACKING_INVALID"
            )
        out["tracking"] = values["tracking"]
    if "tracking_url" in values:
        url = str(values["tracking_url"] or "").strip()
        if url and (not url.startswith(("https://", "http://")) or "{tracking_number}" not in url or len(url) > 300):
            raise ValidationFailed(
                "The tracking page is an http(s):// address with {tracking_number} where the number goes.",
                field="tracking_url",
                code="TRACKING_URL_INVALID",
            )
        out["tracking_url"] = url
    if "cutoff_time" in values:
        cutoff = values["cutoff_time"]
        if isinstance(cutoff, str):
            try:
                cutoff = dt.time.fromisoformat(cutoff.strip()) if cutoff.strip() else None
            except ValueError:
                raise ValidationFailed("A time is HH:MM.", field="cutoff_time", code="CUTOFF_INVALID") from None
        if cutoff is not None and not isinstance(cutoff, dt.time):
            raise ValidationFailed("A time is HH:MM.", field="cutoff_time", code="CUTOFF_INVALID")
        out["cutoff_time"] = cutoff
    if "working_days" in values:
        out["working_days"] = clean_working_days(values["working_days"])
    if "holidays" in values:
        out["holidays"] = clean_holidays(values["holidays"])
    if "position" in values:
        out["position"] = _small(values["position"], field="position")
    if "is_active" in values:
        out["is_active"] = bool(values["is_active"])
    return out


def _small(value: Any, *, field: str, low: int = 0, high: int = 32767, code: str = "VALIDATION_FAILED") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(f"A whole number from {low} to {high}.", field=field, code=code)
    return int(value)


# --- carriers ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CarrierCreated:
    carrier: Carrier
    secret: str  # the tracking webhook's signing secret, shown once


CARRIER_FIELDS = (
    "code",
    "name",
    "kind",
    "tracking",
    "tracking_url",
    "cutoff_time",
    "working_days",
    "holidays",
    "position",
    "is_active",
)


@transaction.atomic
def check_create_carrier(*, actor: Any, code: str, name: str, **values: Any) -> CarrierCreated:
    """A new carrier with a webhook key and a signing secret of its own (the secret is answered once)."""
    _require(actor, SETTING_UP)
    unknown = set(values) - set(CARRIER_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]}.", field=sorted(unknown)[0])
    cleaned = _clean_carrier({"code": code, "name": name, **values}, None)
    now = clock.now()
    carrier = Carrier(created_at=now, updated_at=now, webhook_key=secrets.token_urlsafe(24), **cleaned)
    secret = secrets.token_urlsafe(32)
    carrier.secret = secret
    try:
        with transaction.atomic():
            carrier.save()
    except IntegrityError:
        raise Conflict(f"Another carrier has the code {cleaned['code']}.", field="code", code="CODE_TAKEN") from None
    do_record_audit(actor=actor, action="carrier.created", target=carrier, changes=_audit(cleaned))
    return CarrierCreated(carrier, secret)


def _audit(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, (str, int, bool, list, type(None))) else str(value)
        for key, value in values.items()
    }


@transaction.atomic
def check_update_carrier(*, actor: Any, carrier: Carrier, **values: Any) -> Carrier:
    """Change the given fields only."""
    _require(actor, SETTING_UP)
    unknown = set(values) - set(CARRIER_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]}.", field=sorted(unknown)[0])
    locked = Carrier.objects.select_for_update().get(pk=carrier.pk)
    cleaned = _clean_carrier(values, locked)
    changes = {key: value for key, value in cleaned.items() if getattr(locked, key) != value}
    if changes:
        for key, value in changes.items():
            setattr(locked, key, value)
        locked.updated_at = clock.now()
        locked.save()
        do_record_audit(actor=actor, action="carrier.updated", target=locked, changes=_audit(changes))
    return locked


@transaction.atomic
def do_delete_carrier(*, actor: Any, carrier: Carrier) -> None:
    """Delete a carrier with its zones and tariffs; one that an order's choice or a parcel names stays
    (CARRIER_IN_USE: switch it off instead)."""
    _require(actor, SETTING_UP)
    if (
        Parcel.objects.filter(carrier_id=carrier.pk).exists()
        or DeliveryChoice.objects.filter(carrier_id=carrier.pk).exists()
    ):
        raise CarrierInUse(
            "Orders were sent or are to be sent with this carrier: switch it off instead.", field="carrier"
        )
    do_record_audit(actor=actor, action="carrier.deleted", target=carrier, changes={"code": carrier.code})
    carrier.delete()


@transaction.atomic
def do_rotate_carrier_secret(*, actor: Any, carrier: Carrier) -> str:
    """A new signing secret for the carrier's tracking webhook (the old one stops working)."""
    _require(actor, SETTING_UP)
    locked = Carrier.objects.select_for_update().get(pk=carrier.pk)
    secret = secrets.token_urlsafe(32)
    locked.secret = secret
    locked.updated_at = clock.now()
    locked.save(update_fields=["secret_encrypted", "updated_at"])
    do_record_audit(actor=actor, action="carrier.secret_rotated", target=locked)
    return secret


# --- zones ----------------------------------------------------------------------------------------------------

ZONE_FIELDS = (
    "name",
    "cities",
    "origin",
    "max_distance_km",
    "days_min",
    "days_max",
    "door_delivery",
    "pickup_points",
    "free_from",
    "position",
    "is_active",
)


def clean_cities(cities: Any, *, field: str = "cities") -> list[str]:
    if cities is None:
        return []
    if isinstance(cities, str):
        cities = [part for line in cities.splitlines() for part in line.split(",")]
    if not isinstance(cities, (list, tuple)):
        raise ValidationFailed("Cities are a list of names.", field=field, code="CITIES_INVALID")
    out: list[str] = []
    seen: set[str] = set()
    for index, city in enumerate(cities):
        name = " ".join(str(city or "").split())
        if len(name) > 100:
            raise ValidationFailed(
                "A city name has at most 100 characters.", field=f"{field}[{index}]", code="CITIES_INVALID"
            )
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            out.append(name)
    return out


def clean_pickup_points(points: Any, *, field: str = "pickup_points") -> list[dict[str, str]]:
    if points is None:
        return []
    if not isinstance(points, (list, tuple)):
        raise ValidationFailed("Pick-up points are a list.", field=field, code="PICKUP_POINT_INVALID")
    out: list[dict[str, str]] = []
    codes: set[str] = set()
    for index, point in enumerate(points):
        if not isinstance(point, dict):
            raise ValidationFailed(
                "A pick-up point has a code, a name, an address and a city.",
                field=f"{field}[{index}]",
                code="PICKUP_POINT_INVALID",
            )
        cleaned = {
            key: " ".join(str(point.get(key, "") or "").split())[:200] for key in ("code", "name", "address", "city")
        }
        if not cleaned["code"]:
            raise ValidationFailed(
                "A pick-up point needs its code.", field=f"{field}[{index}].code", code="PICKUP_POINT_INVALID"
            )
        if cleaned["code"] in codes:
            raise ValidationFailed(
                f"Two pick-up points have the code {cleaned['code']}.",
                field=f"{field}[{index}].code",
                code="PICKUP_POINT_INVALID",
            )
        if not cleaned["address"]:
            raise ValidationFailed(
                "A pick-up point needs its address.", field=f"{field}[{index}].address", code="PICKUP_POINT_INVALID"
            )
        codes.add(cleaned["code"])
        out.append(cleaned)
    return out


def _clean_zone(values: dict[str, Any], zone: Zone | None) -> dict[str, Any]:
    """The cleaned fields; then the zone as a whole (area, days, something offered) is checked."""
    out: dict[str, Any] = {}
    if "name" in values:
        name = str(values["name"] or "").strip()
        if not name:
            raise ValidationFailed("Give the zone a name.", field="name", code="NAME_REQUIRED")
        if len(name) > 100:
            raise ValidationFailed("A name has at most 100 characters.", field="name", code="NAME_TOO_LONG")
        out["name"] = name
    if "cities" in values:
        out["cities"] = clean_cities(values["cities"])
    if "origin" in values:
        origin = values["origin"]
        if origin is not None and not isinstance(origin, Location):
            raise ValidationFailed("The origin is a location.", field="origin", code="ORIGIN_INVALID")
        out["origin"] = origin
    if "max_distance_km" in values:
        distance = _amount(values["max_distance_km"], field="max_distance_km", code="DISTANCE_INVALID", allow_none=True)
        if distance is not None and not 0 < distance < 100000:
            raise ValidationFailed("A distance is above zero.", field="max_distance_km", code="DISTANCE_INVALID")
        out["max_distance_km"] = distance
    for key in ("days_min", "days_max"):
        if key in values:
            out[key] = _small(values[key], field=key, high=MAX_DAYS, code="DAYS_INVALID")
    if "door_delivery" in values:
        out["door_delivery"] = bool(values["door_delivery"])
    if "pickup_points" in values:
        out["pickup_points"] = clean_pickup_points(values["pickup_points"])
    if "free_from" in values:
        out["free_from"] = _amount(values["free_from"], field="free_from", code="VALUE_INVALID", allow_none=True)
    if "position" in values:
        out["position"] = _small(values["position"], field="position")
    if "is_active" in values:
        out["is_active"] = bool(values["is_active"])

    def now(key: str, default: Any) -> Any:
        return out[key] if key in out else getattr(zone, key) if zone is not None else default

    origin, distance = now("origin", None), now("max_distance_km", None)
    if origin is not None and distance is None:
        raise ValidationFailed(
            "Say within how many km of the location.", field="max_distance_km", code="DISTANCE_INVALID"
        )
    if distance is not None and origin is None:
        raise ValidationFailed(
            "Say from which location the distance counts.", field="origin", code="ZONE_AREA_REQUIRED"
        )
    if origin is not None and (origin.latitude is None or origin.longitude is None):
        raise ValidationFailed(
            f"{origin.name} has no coordinates: set its latitude and longitude first.",
            field="origin",
            code="ORIGIN_WITHOUT_COORDINATES",
        )
    if not now("cities", []) and origin is None:
        raise ValidationFailed(
            "List the zone's cities, or a location and a distance around it.", field="cities", code="ZONE_AREA_REQUIRED"
        )
    if now("days_min", 1) > now("days_max", 2):
        raise ValidationFailed(
            "Delivery takes from fewer days to more: 'from' is at most 'to'.", field="days_max", code="DAYS_INVALID"
        )
    if not now("door_delivery", True) and not now("pickup_points", []):
        raise ValidationFailed(
            "A zone delivers to the door, or has pick-up points.", field="door_delivery", code="ZONE_OFFERS_NOTHING"
        )
    return out


@transaction.atomic
def check_create_zone(*, actor: Any, carrier: Carrier, **values: Any) -> Zone:
    _require(actor, SETTING_UP)
    unknown = set(values) - set(ZONE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]}.", field=sorted(unknown)[0])
    cleaned = _clean_zone({"name": values.pop("name", ""), **values}, None)
    zone = Zone.objects.create(carrier=carrier, **cleaned)
    do_record_audit(actor=actor, action="zone.created", target=zone, changes=_audit(_plain(cleaned)))
    return zone


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {key: (value.pk if isinstance(value, Location) else value) for key, value in values.items()}


@transaction.atomic
def check_update_zone(*, actor: Any, zone: Zone, **values: Any) -> Zone:
    _require(actor, SETTING_UP)
    unknown = set(values) - set(ZONE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]}.", field=sorted(unknown)[0])
    locked = Zone.objects.select_for_update(of=("self",)).select_related("origin").get(pk=zone.pk)
    cleaned = _clean_zone(values, locked)
    changes = {key: value for key, value in cleaned.items() if getattr(locked, key) != value}
    if changes:
        for key, value in changes.items():
            setattr(locked, key, value)
        locked.save()
        do_record_audit(actor=actor, action="zone.updated", target=locked, changes=_audit(_plain(changes)))
    return locked


@transaction.atomic
def do_delete_zone(*, actor: Any, zone: Zone) -> None:
    """Delete a zone with its tariffs (orders that chose it keep their snapshot)."""
    _require(actor, SETTING_UP)
    do_record_audit(actor=actor, action="zone.deleted", target=zone, changes={"name": zone.name})
    zone.delete()


# --- tariffs --------------------------------------------------------------------------------------------------


def _clean_tariff(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "max_weight_grams" in values:
        weight = values["max_weight_grams"]
        if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int) or not 0 < weight < 10**9):
            raise ValidationFailed(
                "A weight limit is a whole number of grams above zero (empty: any weight).",
                field="max_weight_grams",
                code="WEIGHT_INVALID",
            )
        out["max_weight_grams"] = weight
    if "min_order_value" in values:
        out["min_order_value"] = _amount(
            values["min_order_value"] if values["min_order_value"] is not None else 0,
            field="min_order_value",
            code="VALUE_INVALID",
        )
    if "price" in values:
        out["price"] = _amount(values["price"], field="price", code="PRICE_INVALID")
    if "currency" in values:
        currency = str(values["currency"] or "").strip().upper() or default_currency()
        if currency != default_currency():
            raise ValidationFailed(
                f"Prices are in the shop's currency, {default_currency()}.", field="currency", code="CURRENCY_INVALID"
            )
        out["currency"] = currency
    return out


def _tariff_clash(zone: Zone, values: dict[str, Any], tariff: Tariff | None) -> None:
    clash = Tariff.objects.filter(
        zone=zone,
        max_weight_grams=values["max_weight_grams"],
        min_order_value=values["min_order_value"],
    )
    if values["max_weight_grams"] is None:
        clash = Tariff.objects.filter(
            zone=zone, max_weight_grams__isnull=True, min_order_value=values["min_order_value"]
        )
    if tariff is not None:
        clash = clash.exclude(pk=tariff.pk)
    if clash.exists():
        raise Conflict(
            "The zone already has a price for this weight and order value.",
            field="max_weight_grams",
            code="TARIFF_EXISTS",
        )


@transaction.atomic
def check_create_tariff(
    *,
    actor: Any,
    zone: Zone,
    price: Any,
    max_weight_grams: int | None = None,
    min_order_value: Any = Decimal(0),
    currency: str = "",
) -> Tariff:
    _require(actor, SETTING_UP)
    cleaned = _clean_tariff(
        {
            "price": price,
            "max_weight_grams": max_weight_grams,
            "min_order_value": min_order_value,
            "currency": currency,
        }
    )
    _tariff_clash(zone, cleaned, None)
    tariff = Tariff.objects.create(zone=zone, **cleaned)
    do_record_audit(actor=actor, action="tariff.created", target=tariff, changes=_audit(cleaned))
    return tariff


@transaction.atomic
def check_update_tariff(*, actor: Any, tariff: Tariff, **values: Any) -> Tariff:
    _require(actor, SETTING_UP)
    unknown = set(values) - {"price", "max_weight_grams", "min_order_value", "currency"}
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]}.", field=sorted(unknown)[0])
    locked = Tariff.objects.select_for_update().get(pk=tariff.pk)
    cleaned = _clean_tariff(values)
    merged = {"max_weight_grams": locked.max_weight_grams, "min_order_value": locked.min_order_value} | cleaned
    _tariff_clash(locked.zone, merged, locked)
    changes = {key: value for key, value in cleaned.items() if getattr(locked, key) != value}
    if changes:
        for key, value in changes.items():
            setattr(locked, key, value)
        locked.save()
        do_record_audit(actor=actor, action="tariff.updated", target=locked, changes=_audit(changes))
    return locked


@transaction.atomic
def do_delete_tariff(*, actor: Any, tariff: Tariff) -> None:
    _require(actor, SETTING_UP)
    do_record_audit(actor=actor, action="tariff.deleted", target=tariff, changes={"price": str(tariff.price)})
    tariff.delete()


# --- the shop's settings ----------------------------------------------------------------------------------------


def do_get_settings() -> DeliverySettings:
    """The one settings row, made with the defaults in the shop currency the first time."""
    found = DeliverySettings.objects.order_by("pk").first()
    if found is not None:
        return found
    return DeliverySettings.objects.create(currency=default_currency(), updated_at=clock.now())


@transaction.atomic
def check_update_settings(
    *,
    actor: Any,
    flat_price: Any = _UNSET,
    flat_free_from: Any = _UNSET,
    transfer_days: Any = _UNSET,
    default_weight_grams: Any = _UNSET,
) -> DeliverySettings:
    """Change the shop-wide delivery rules: a single price for every delivery to the door (None: the
    carriers' tariffs), free from an order value, the days a transfer takes, the weight of an item without one."""
    _require(actor, SETTING_UP)
    current = do_get_settings()
    locked = DeliverySettings.objects.select_for_update().get(pk=current.pk)
    changes: dict[str, Any] = {}
    if flat_price is not _UNSET:
        changes["flat_price"] = _amount(flat_price, field="flat_price", code="PRICE_INVALID", allow_none=True)
    if flat_free_from is not _UNSET:
        changes["flat_free_from"] = _amount(
            flat_free_from, field="flat_free_from", code="VALUE_INVALID", allow_none=True
        )
    if transfer_days is not _UNSET:
        changes["transfer_days"] = _small(transfer_days, field="transfer_days", high=MAX_DAYS, code="DAYS_INVALID")
    if default_weight_grams is not _UNSET:
        changes["default_weight_grams"] = _small(
            default_weight_grams, field="default_weight_grams", low=1, high=1_000_000, code="WEIGHT_INVALID"
        )
    changes = {key: value for key, value in changes.items() if getattr(locked, key) != value}
    if changes:
        for key, value in changes.items():
            setattr(locked, key, value)
        locked.updated_at = clock.now()
        locked.updated_by = _user(actor)
        locked.save()
        do_record_audit(actor=actor, action="delivery_settings.updated", target=locked, changes=_audit(changes))
    return locked


# --- an order's delivery --------------------------------------------------------------------------------------


@transaction.atomic
def check_choose_delivery(
    *, actor: Any, order: Order, option_key: str, now: dt.datetime | None = None
) -> DeliveryChoice:
    """The order goes with this option of its quote (recomputed now for its lines and city): the choice is
    stored as quoted (replacing an earlier one) and the order's delivery price and total follow.

    DELIVERY_OPTION_UNAVAILABLE when the key is not among the options now; DELIVERY_LOCKED once the order
    left or was closed."""
    _require(actor, CHOOSING)
    locked = Order.objects.select_for_update().get(pk=order.pk)
    actions_delivery.ensure_delivery_open(locked)
    result = quotes.quote_order(locked, now=now)
    option = result.find(str(option_key or "").strip())
    if option is None:
        message = (
            result.reason.message
            if result.reason is not None
            else "This delivery option is not offered for the order: choose one of its options."
        )
        raise OptionUnavailable(message, field="option")
    values = {
        "kind": option.kind,
        "carrier": option.carrier,
        "zone": option.zone,
        "location": option.location,
        "pickup_point": dict(option.pickup_point),
        "city": result.city[:100],
        "price": option.price,
        "currency": option.currency,
        "ready_on": option.ready_on,
        "estimated_from": option.estimated_from,
        "estimated_to": option.estimated_to,
        "chosen_at": now or clock.now(),
        "chosen_by": _user(actor),
    }
    choice, _created = DeliveryChoice.objects.update_or_create(order=locked, defaults=values)
    actions_delivery.do_set_delivery_price(order=locked, price=option.price, actor=actor)
    return choice

"""Settings → Delivery forms: a carrier, a zone, a tariff and the shop-wide settings. The forms only parse;
the fulfillment actions validate, and their refusals come back here on the field at fault, in the user's
language when the code is a known one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from omnia.core.errors import DomainError
from omnia.fulfillment.models import Carrier
from omnia.inventory.models import Location

WEEKDAYS = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]

ERROR_MESSAGES: dict[str, Promise] = {
    "CODE_REQUIRED": _("Give the carrier a code."),
    "CODE_INVALID": _("A code is up to 40 latin letters, digits, - and _."),
    "CODE_TAKEN": _("Another carrier has this code."),
    "NAME_REQUIRED": _("Give it a name."),
    "WORKING_DAYS_INVALID": _("Choose at least one working day."),
    "HOLIDAY_INVALID": _("Days off are dates, YYYY-MM-DD, one a line."),
    "TRACKING_URL_INVALID": _(
        "The tracking page is an http(s):// address with {tracking_number} where the number goes."
    ),
    "ZONE_AREA_REQUIRED": _("List the zone's cities, or a location and a distance around it."),
    "ORIGIN_WITHOUT_COORDINATES": _("This location has no coordinates: set its latitude and longitude first."),
    "DISTANCE_INVALID": _("Say within how many km of the location (above zero)."),
    "DAYS_INVALID": _("Delivery takes from fewer days to more: 'from' is at most 'to' (at most 60)."),
    "PICKUP_POINT_INVALID": _("Each pick-up point is a line: code | name | address | city (code and address needed)."),
    "ZONE_OFFERS_NOTHING": _("A zone delivers to the door, or has pick-up points."),
    "PRICE_INVALID": _("A price is zero or more, in at most two decimals."),
    "VALUE_INVALID": _("An order value is zero or more, in at most two decimals."),
    "WEIGHT_INVALID": _("A weight is a whole number of grams above zero."),
    "TARIFF_EXISTS": _("The zone already has a price for this weight and order value."),
    "CARRIER_IN_USE": _("Orders were sent or are to be sent with this carrier: switch it off instead."),
    "DELIVERY_OPTION_UNAVAILABLE": _("This delivery option is no longer offered for the order: choose another."),
    "DELIVERY_LOCKED": _("The order left or is closed: its delivery can no longer change."),
    "PAID_MORE_THAN_TOTAL": _("More is paid than the new total: refund the difference first."),
    "ROLE_FORBIDDEN": _("Your role may not do this."),
}


def error_message(exc: DomainError) -> str:
    return str(ERROR_MESSAGES.get(exc.code, exc.message))


class DomainForm(forms.Form):
    def add_domain_error(self, exc: DomainError) -> None:
        field = (exc.field or "").partition("[")[0].partition(".")[0]
        self.add_error(field if field in self.fields else None, error_message(exc))


class CarrierForm(DomainForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    code = forms.CharField(
        label=_("Code"), max_length=40, help_text=_("Latin letters, digits, - and _: used in the API and webhooks.")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Carrier.Kind.choices)
    tracking = forms.ChoiceField(label=_("Tracking updates"), choices=Carrier.Tracking.choices)
    tracking_url = forms.CharField(
        label=_("Tracking page"),
        required=False,
        max_length=300,
        help_text=_("The carrier's page for a parcel, with {tracking_number} where the number goes."),
    )
    cutoff_time = forms.TimeField(
        label=_("Cut-off time"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Orders ready after this leave on the next working day."),
    )
    working_days = forms.TypedMultipleChoiceField(
        label=_("Working days"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    holidays = forms.CharField(
        label=_("Days off"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2026-12-16"}),
        help_text=_("Dates it does not work, YYYY-MM-DD, one a line."),
    )
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=32767, initial=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["holidays"] = [part.strip() for part in data["holidays"].replace(",", "\n").splitlines() if part.strip()]
        data["working_days"] = list(data["working_days"])
        return data

    @staticmethod
    def initial_of(carrier: Carrier) -> dict[str, Any]:
        return {
            "name": carrier.name,
            "code": carrier.code,
            "kind": carrier.kind,
            "tracking": carrier.tracking,
            "tracking_url": carrier.tracking_url,
            "cutoff_time": carrier.cutoff_time,
            "working_days": list(carrier.working_days or []),
            "holidays": "\n".join(carrier.holidays or []),
            "position": carrier.position,
            "is_active": carrier.is_active,
        }


class ZoneForm(DomainForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    cities = forms.CharField(
        label=_("Cities"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Алматы\nАстана"}),
        help_text=_("One a line (or separated by commas); case does not matter."),
    )
    origin = forms.ModelChoiceField(
        label=_("Or within a distance of"),
        queryset=Location.objects.filter(is_active=True),
        required=False,
        help_text=_("A location with coordinates: customers who give theirs are matched by distance."),
    )
    max_distance_km = forms.DecimalField(label=_("Within, km"), required=False, max_digits=7, decimal_places=2)
    days_min = forms.IntegerField(label=_("Delivery days, from"), min_value=0, initial=1)
    days_max = forms.IntegerField(label=_("Delivery days, to"), min_value=0, initial=2)
    door_delivery = forms.BooleanField(label=_("Delivers to the door"), required=False, initial=True)
    pickup_points = forms.CharField(
        label=_("Pick-up points"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ALA12 | На Абая | пр. Абая, 10 | Алматы"}),
        help_text=_("One a line: code | name | address | city."),
    )
    free_from = forms.DecimalField(
        label=_("Free from order value"), required=False, max_digits=14, decimal_places=2, min_value=0
    )
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=32767, initial=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        points = []
        for line in data["pickup_points"].splitlines():
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|")] + ["", "", "", ""]
            points.append({"code": parts[0], "name": parts[1], "address": parts[2], "city": parts[3]})
        data["pickup_points"] = points
        return data

    @staticmethod
    def initial_of(zone: Any) -> dict[str, Any]:
        return {
            "name": zone.name,
            "cities": "\n".join(zone.cities or []),
            "origin": zone.origin,
            "max_distance_km": zone.max_distance_km,
            "days_min": zone.days_min,
            "days_max": zone.days_max,
            "door_delivery": zone.door_delivery,
            "pickup_points": "\n".join(
                " | ".join(str(p.get(key, "")) for key in ("code", "name", "address", "city"))
                for p in zone.pickup_points or []
            ),
            "free_from": zone.free_from,
            "position": zone.position,
            "is_active": zone.is_active,
        }


class TariffForm(DomainForm):
    max_weight_grams = forms.IntegerField(label=_("Up to, g"), required=False, help_text=_("Empty: any weight."))
    min_order_value = forms.DecimalField(
        label=_("Order value from"), required=False, max_digits=14, decimal_places=2, initial=0
    )
    price = forms.DecimalField(label=_("Price"), max_digits=14, decimal_places=2)

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data["min_order_value"] is None:
            data["min_order_value"] = 0
        return data


class SettingsForm(DomainForm):
    flat_price = forms.DecimalField(
        label=_("One delivery price for everyone"),
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=_("When set, every delivery to the door costs this, whatever the carrier's tariff."),
    )
    flat_free_from = forms.DecimalField(
        label=_("Free delivery from order value"), required=False, max_digits=14, decimal_places=2
    )
    transfer_days = forms.IntegerField(
        label=_("Days a transfer between locations takes"),
        help_text=_("Added to the dates when goods must travel from another location first."),
    )
    default_weight_grams = forms.IntegerField(
        label=_("Weight of an item without one, g"), help_text=_("Tariffs by weight use it for such items.")
    )


class ChooseForm(forms.Form):
    option = forms.CharField(max_length=200)

"""Forms of the Shipments pages: the list's filters, creating a parcel, its tracking number and date, a move."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from omnia.core.errors import DomainError
from omnia.fulfillment import queries_parcels
from omnia.fulfillment.models import Carrier, Parcel
from omnia.inventory.models import Location

ERROR_MESSAGES = {
    "TRACKING_TAKEN": _("Another parcel of this carrier has this tracking number."),
    "PARCEL_EXISTS": _("This shipment has a parcel already."),
    "PARCEL_NOT_ALLOWED": _("Only a delivery order's shipment goes with a carrier."),
    "SHIPMENT_CANCELLED": _("This shipment is cancelled."),
    "CARRIER_INACTIVE": _("This carrier is switched off."),
    "TRANSITION_NOT_ALLOWED": _("The parcel cannot move there from its current status."),
}


def error_message(exc: DomainError) -> str:
    return str(ERROR_MESSAGES.get(exc.code, exc.message))


class DomainErrorsMixin:
    """Shows a DomainError on the field it names, else above the form."""

    def add_domain_error(self, exc: DomainError) -> None:
        form: forms.BaseForm = self  # type: ignore[assignment]
        name = exc.field if exc.field in form.fields else None
        form.add_error(name, error_message(exc))


class ShipmentFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Order or tracking number"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Order or tracking number"), "type": "search"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    carrier = forms.ChoiceField(label=_("Carrier"), required=False)
    location = forms.ChoiceField(label=_("Location"), required=False)
    late = forms.BooleanField(label=_("Late only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [  # type: ignore[attr-defined]
            ("", _("Any status")),
            ("none", _("No parcel yet")),
            *Parcel.Status.choices,
        ]
        self.fields["carrier"].choices = [  # type: ignore[attr-defined]
            ("", _("Any carrier")),
            *[(c.code, c.name) for c in Carrier.objects.all()],
        ]
        shipping = Location.objects.filter(is_active=True).order_by("name")
        self.fields["location"].choices = [  # type: ignore[attr-defined]
            ("", _("Any location")),
            *[(loc.code, loc.name) for loc in shipping],
        ]

    def filters(self) -> queries_parcels.ShipmentFilters:
        data = self.cleaned_data if self.is_valid() else {}
        text = (data.get("q") or "").strip()
        return queries_parcels.ShipmentFilters(
            status=data.get("status") or "",
            carrier=data.get("carrier") or "",
            location=data.get("location") or "",
            text=text,
            late=bool(data.get("late")),
        )


class ParcelForm(DomainErrorsMixin, forms.Form):
    carrier = forms.ModelChoiceField(label=_("Carrier"), queryset=Carrier.objects.none(), to_field_name="code")
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64, required=False)
    weight_grams = forms.IntegerField(
        label=_("Weight, g"),
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text=_("Leave empty to add up the items' weights."),
    )
    estimated_on = forms.DateField(
        label=_("Expected"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["carrier"].queryset = queries_parcels.active_carriers()  # type: ignore[attr-defined]


class TrackingForm(DomainErrorsMixin, forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64, required=False)
    estimated_on = forms.DateField(
        label=_("Expected"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    weight_grams = forms.IntegerField(label=_("Weight, g"), required=False, min_value=1, max_value=1_000_000)


class MoveForm(DomainErrorsMixin, forms.Form):
    to = forms.ChoiceField(label=_("Status"), choices=Parcel.Status.choices)
    description = forms.CharField(label=_("Note"), max_length=300, required=False)

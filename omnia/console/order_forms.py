"""Forms of the order pages: they parse and label input; the orders actions validate and change orders."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from omnia.catalog import queries as catalog_queries
from omnia.catalog.models import Variant
from omnia.core.errors import DomainError
from omnia.inventory import queries as inventory_queries
from omnia.inventory.models import Location
from omnia.orders.models import Order, OrderLine, Payment, Source
from omnia.orders.queries import OrderFilters, PaymentState

PAYMENT_STATES = [
    (PaymentState.UNPAID, _("Unpaid")),
    (PaymentState.PARTLY, _("Partly paid")),
    (PaymentState.PAID, _("Paid")),
    (PaymentState.REFUNDED, _("Refunded")),
]

# Messages the console shows in the user's language instead of the domain's English text.
ERROR_MESSAGES = {
    "PAYMENT_TOO_LARGE": _("This is more than is still due on the order. Nothing was recorded."),
    "AMOUNT_INVALID": _("An amount is above zero, in at most two decimals."),
    "METHOD_INVALID": _("Choose how it is paid."),
    "ORDER_CLOSED": _("The order is cancelled or returned: it takes no payments."),
    "PAYMENT_TRANSITION_NOT_ALLOWED": _("The payment cannot change like that from where it is now."),
    "TRANSITION_NOT_ALLOWED": _("The order cannot move there from its current status (someone may have moved it)."),
    "REASON_REQUIRED": _("Say why."),
    "RETURN_NOT_ALLOWED": _("Only an order that was handed over (delivered, picked up or completed) is returned."),
    "RETURN_TOO_MANY": _("More than can still be returned of this line."),
    "RETURNS_NOT_ACCEPTED": _("This location does not take returns."),
    "LOCATION_INACTIVE": _("This location is closed."),
    "REFUND_TOO_LARGE": _("The refund is more than the value of what comes back."),
    "LINES_REQUIRED": _("Choose what comes back: a quantity on at least one line."),
    "OUT_OF_STOCK": _("Not enough available for the exchange. Nothing was changed."),
    "NOT_ON_SALE": _("This item is not on sale."),
    "CUSTOMER_REQUIRED": _("The order has no customer to exchange for."),
    "NAME_REQUIRED": _("Name the view."),
    "TOO_MANY": _("Too many saved views: delete one first."),
}


def error_message(exc: DomainError) -> str:
    return str(ERROR_MESSAGES.get(exc.code, exc.message))


class DomainErrorsMixin:
    """Shows a DomainError on the field it names (`domain_fields` maps the action's names to the form's)."""

    domain_fields: dict[str, str] = {}

    def add_domain_error(self, exc: DomainError) -> None:
        form: forms.BaseForm = self  # type: ignore[assignment]
        name = exc.field or ""
        mapped = self.domain_fields.get(name)
        if mapped is None:
            mapped = next((v for k, v in self.domain_fields.items() if k.endswith("*") and name.startswith(k[:-1])), "")
        mapped = mapped or name
        form.add_error(mapped if mapped in form.fields else None, error_message(exc))


# --- the list -------------------------------------------------------------------------------------------


class LocationChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.city})" if obj.city else str(obj.name)


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OrderFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False)
    source = forms.ChoiceField(label=_("Channel"), required=False)
    location = LocationChoice(label=_("Location"), required=False, queryset=Location.objects.none())
    payment = forms.ChoiceField(label=_("Payment"), required=False)
    placed_from = forms.DateField(label=_("Placed from"), required=False, widget=DATE)
    placed_to = forms.DateField(label=_("to"), required=False, widget=DATE)
    duplicates = forms.BooleanField(label=_("Possible duplicates only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: dict[str, list[tuple[str, Any]]] = {
            "status": [("", _("Any status")), *Order.Status.choices],
            "source": [("", _("All channels")), *Source.choices],
            "payment": [("", _("Paid or not")), *PAYMENT_STATES],
        }
        for name, options in choices.items():
            field: forms.ChoiceField = self.fields[name]  # type: ignore[assignment]
            field.choices = options
        location: LocationChoice = self.fields["location"]  # type: ignore[assignment]
        location.queryset = inventory_queries.list_locations(active_only=False).order_by("kind", "city", "name")
        location.empty_label = str(_("Every location"))
        self.fields["q"].widget.attrs.update(
            {"placeholder": _("Number, Kaspi code, customer name or phone"), "type": "search", "autocomplete": "off"}
        )

    def filters(self, *, default_location: Location | None = None) -> OrderFilters:
        self.is_valid()  # a bad field (a stray date) is left out; the others still filter
        data = getattr(self, "cleaned_data", {})
        location = data.get("location") or default_location
        return OrderFilters(
            text=data.get("q", ""),
            status=data.get("status", ""),
            source=data.get("source", ""),
            location_id=location.pk if location is not None else None,
            placed_from=data.get("placed_from"),
            placed_to=data.get("placed_to"),
            payment=data.get("payment", ""),
            duplicates=bool(data.get("duplicates")),
        )


class SaveViewForm(DomainErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name of the view"), max_length=60)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)
    shared = forms.BooleanField(label=_("Share with everyone"), required=False)


# --- the order page ------------------------------------------------------------------------------------


class TransitionForm(DomainErrorsMixin, forms.Form):
    to = forms.ChoiceField(choices=Order.Status.choices)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)
    domain_fields = {"to": "to", "reason": "reason"}


class PaymentForm(DomainErrorsMixin, forms.Form):
    method = forms.ChoiceField(label=_("Method"), choices=Payment.Method.choices)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    reference = forms.CharField(label=_("Reference"), required=False, max_length=100)
    paid = forms.BooleanField(label=_("Already paid"), required=False, initial=True)
    domain_fields = {"order": "__all__", "status": "amount"}


class PaymentStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Payment.Status.choices)


class ReturnForm(DomainErrorsMixin, forms.Form):
    """One quantity field per order line (at most what is left to return), where, why, and a refund or an
    exchange."""

    location = LocationChoice(label=_("Returned at"), queryset=Location.objects.none())
    reason = forms.CharField(label=_("Reason"), max_length=300)
    outcome = forms.ChoiceField(
        label=_("What the customer gets"),
        choices=[("refund", _("Refund")), ("exchange", _("Exchange")), ("none", _("Nothing now"))],
        initial="refund",
        widget=forms.RadioSelect,
    )
    refund_method = forms.ChoiceField(label=_("Refund through"), choices=Payment.Method.choices, required=False)
    refund_amount = forms.DecimalField(
        label=_("Refund amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    exchange_lines = forms.CharField(
        label=_("Exchange for"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "lines-input"}),
        help_text=_('One SKU per line with its quantity, e.g. "GIR-10 2".'),
    )
    domain_fields = {
        "location": "location",
        "reason": "reason",
        "refund.amount": "refund_amount",
        "refund.method": "refund_method",
        "exchange*": "exchange_lines",
        "lines": "__all__",
        "order": "__all__",
    }

    def __init__(self, *args: Any, lines: list[tuple[OrderLine, int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_lines = lines
        for line, left in lines:
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                label=line.variant.sku, min_value=0, max_value=left, initial=0, required=False, disabled=left == 0
            )
        location: LocationChoice = self.fields["location"]  # type: ignore[assignment]
        location.queryset = Location.objects.filter(is_active=True, accepts_returns=True).order_by("city", "name")
        location.empty_label = str(_("Choose…"))

    def quantity_fields(self) -> list[tuple[OrderLine, int, Any]]:
        return [(line, left, self[f"qty_{line.pk}"]) for line, left in self.order_lines]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [(line, data.get(f"qty_{line.pk}") or 0) for line, _left in self.order_lines]
        self.returned = [(line, quantity) for line, quantity in chosen if quantity > 0]
        if not self.returned and not self.errors:
            raise forms.ValidationError(gettext("Choose what comes back: a quantity on at least one line."))
        outcome = data.get("outcome")
        if outcome == "refund" and not data.get("refund_method"):
            self.add_error("refund_method", gettext("Choose how the money goes back."))
        if outcome == "exchange":
            self.exchange = parse_lines(self, "exchange_lines", data.get("exchange_lines", ""))
            if not self.exchange and "exchange_lines" not in self.errors:
                self.add_error("exchange_lines", gettext("Give the SKUs the customer takes instead."))
        return data


_LINE = re.compile(r"^(?P<code>\S+)(?:\s*[x×*]?\s*(?P<quantity>\d+))?$", re.IGNORECASE)


def parse_lines(form: forms.Form, field: str, text: str) -> list[tuple[Variant, int]]:
    """ "SKU quantity" per line (a barcode works too; no quantity: one); errors on `field`."""
    found: list[tuple[Variant, int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        row = raw.strip()
        if not row:
            continue
        match = _LINE.match(row)
        variant = None
        if match:
            code = match.group("code")
            variant = catalog_queries.find_variant_by_sku(code) or catalog_queries.find_variant_by_barcode(code)
        if variant is None or match is None:
            form.add_error(field, gettext("Line %(n)s: no such SKU or barcode.") % {"n": number})
            continue
        quantity = int(match.group("quantity") or 1)
        if quantity <= 0:
            form.add_error(field, gettext("Line %(n)s: the quantity is above zero.") % {"n": number})
            continue
        found.append((variant, quantity))
    return found

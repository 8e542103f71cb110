"""Forms of the stock pages: they parse and label input; inventory actions validate and change stock.

A document's lines are typed (or scanned) one per line, "SKU-or-barcode quantity"; a line without a
quantity is one unit, so a barcode scanner that types a code and Enter fills a receipt by itself.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from omnia.catalog import queries as catalog_queries
from omnia.catalog.errors import VariantNotFound
from omnia.catalog.models import Variant
from omnia.core import clock
from omnia.core.errors import DomainError
from omnia.inventory import queries as inventory_queries
from omnia.inventory.actions import Line

HOLD_HOURS = 48
MAX_LINES = 200

# Messages the console shows in the user's language instead of the domain's English text.
ERROR_MESSAGES = {
    "OUT_OF_STOCK": _("Not enough available at this location. Nothing was changed."),
    "QUANTITY_INVALID": _("The quantity is a whole number of units above zero."),
    "EXPIRY_INVALID": _("A hold expires in the future."),
    "REASON_REQUIRED": _("Say why the stock is corrected (recount, damage, loss…)."),
    "CORRECTION_FORBIDDEN": _("Only a manager or the owner corrects stock."),
    "SAME_LOCATION": _("A transfer goes between two different locations."),
    "DATE_REQUIRED": _("When is it expected?"),
    "WRONG_STATE": _("This was already done or cancelled by someone else; the page shows where it stands now."),
    "PHONE_INVALID": _("This is not a valid phone number."),
    "PHONE_REQUIRED": _("A phone number is required."),
    "CUSTOMER_NOT_FOUND": _("No such customer card."),
}
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]")
_LINE = re.compile(r"^(?P<code>\S+)(?:\s*[x×*]?\s*(?P<quantity>\S+))?$", re.IGNORECASE)


def error_message(exc: DomainError) -> str:
    """The user-facing text of a domain error."""
    if exc.code == "QUANTITY_INVALID" and exc.field in ("counted", "delta"):
        return str(_("Give either the counted quantity or the change, as a whole number."))
    if exc.code == "OUT_OF_STOCK" and exc.field == "counted":
        return str(_("On hand cannot drop below what is reserved: release the holds first."))
    return str(ERROR_MESSAGES.get(exc.code, exc.message))


# --- finding a variant by what is typed or scanned ------------------------------------------------


def variant_by_code(code: str) -> Variant | None:
    """The variant a barcode (any of its barcodes) or SKU (any case) names exactly; None if none."""
    return catalog_queries.find_variant_by_barcode(code) or catalog_queries.find_variant_by_sku(code)


def variant_by_id(value: Any) -> Variant | None:
    try:
        return catalog_queries.get_variant(int(value))
    except (TypeError, ValueError, VariantNotFound):
        return None


# --- shared pieces --------------------------------------------------------------------------------


class DomainErrorsMixin:
    """Shows a DomainError on the field it names (a document line's error on the lines field)."""

    domain_fields: dict[str, str] = {}

    def add_domain_error(self, exc: DomainError) -> None:
        form: forms.BaseForm = self  # type: ignore[assignment]
        message = error_message(exc)
        name = exc.field or ""
        line = _LINE_FIELD.match(name)
        if line:
            name = "lines"
            message = gettext("Line %(n)s: %(error)s") % {"n": int(line.group(1)) + 1, "error": message}
        name = self.domain_fields.get(name, name)
        form.add_error(name if name in form.fields else None, message)


def _locations() -> Any:
    return inventory_queries.list_locations().order_by("kind", "city", "name")


class LocationField(forms.ModelChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", _locations())
        kwargs.setdefault("empty_label", _("Choose…"))
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.get_kind_display()})"


def parse_lines(text: str) -> tuple[list[Line], list[str]]:
    """'SKU 3' / 'barcode' / 'SKU x 2' per line → (lines, errors naming the line numbers)."""
    lines: list[Line] = []
    errors: list[str] = []
    rows = [row.strip() for row in (text or "").splitlines()]
    for number, row in enumerate(rows, start=1):
        if not row:
            continue
        match = _LINE.match(row)
        if match is None:
            errors.append(gettext("Line %(n)s: write the SKU or barcode, then the quantity.") % {"n": number})
            continue
        code, raw = match.group("code"), match.group("quantity")
        variant = variant_by_code(code)
        if variant is None:
            errors.append(gettext("Line %(n)s: no SKU or barcode “%(code)s”.") % {"n": number, "code": code})
            continue
        if raw is None:
            quantity = 1
        elif raw.isdigit() and int(raw) > 0:
            quantity = int(raw)
        else:
            errors.append(gettext("Line %(n)s: the quantity is a whole number above zero.") % {"n": number})
            continue
        lines.append(Line(variant=variant, quantity=quantity))
    if len(lines) > MAX_LINES:
        errors.append(gettext("At most %(n)s lines in one document.") % {"n": MAX_LINES})
    return lines, errors


class LinesField(forms.CharField):
    """Document lines, one per line: SKU or barcode, then the quantity (1 when left out)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Lines"))
        kwargs.setdefault(
            "help_text", _("One per line: SKU or barcode, then the quantity (1 if left out). A scanner fills it.")
        )
        kwargs.setdefault(
            "widget",
            forms.Textarea(attrs={"rows": 5, "autocomplete": "off", "spellcheck": "false", "class": "lines-input"}),
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[Line]:
        text = super().clean(value)
        lines, errors = parse_lines(text)
        if errors:
            raise forms.ValidationError(errors)
        if not lines:
            raise forms.ValidationError(_("Add at least one line."))
        return lines


def lines_text(lines: list[tuple[Variant, int]]) -> str:
    return "\n".join(f"{variant.sku} {quantity}" for variant, quantity in lines)


# --- the search box -------------------------------------------------------------------------------


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=_("Search the catalog"))
    city = forms.CharField(required=False, max_length=100, label=_("Customer's city"))

    def values(self) -> tuple[str, str]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return " ".join(str(data.get("q") or "").split()), str(data.get("city") or "").strip()


# --- a customer for a hold or a back-in-stock request -----------------------------------------------


class CustomerChoiceMixin(forms.Form):
    """An existing card (picked from the search) or a phone: the card it belongs to, or a new one."""

    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    phone = forms.CharField(
        label=_("Customer's phone"),
        required=False,
        max_length=40,
        help_text=_("In any format. A new card is made if nobody has this number."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    name = forms.CharField(label=_("Name (for a new card)"), required=False, max_length=120)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("customer") and not (data.get("phone") or "").strip():
            self.add_error("phone", _("Choose a customer card or give the customer's phone."))
        return data


# --- holds ------------------------------------------------------------------------------------------


def default_expiry() -> dt.datetime:
    """48 hours from now, to the minute, in the shop's time."""
    return (clock.local_now() + dt.timedelta(hours=HOLD_HOURS)).replace(second=0, microsecond=0)


class ReserveForm(DomainErrorsMixin, CustomerChoiceMixin):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    expires_at = forms.DateTimeField(
        label=_("Hold until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Released by itself at this time if nobody comes."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    field_order = ["quantity", "customer", "phone", "name", "expires_at", "note"]


class HoldFilterForm(forms.Form):
    STATUS_CHOICES = [("active", _("Active")), ("closed", _("Released, sold or expired")), ("all", _("All"))]

    location = forms.ModelChoiceField(
        queryset=_locations(), required=False, empty_label=_("All locations"), label=_("Location")
    )
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, label=_("Status"))

    def values(self) -> tuple[Any, str]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return data.get("location"), data.get("status") or "active"


# --- transfers --------------------------------------------------------------------------------------


class TransferForm(DomainErrorsMixin, forms.Form):
    source = LocationField(label=_("From"))
    destination = LocationField(label=_("To"))
    lines = LinesField()
    expected_on = forms.DateField(
        label=_("Expected on"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        source, destination = data.get("source"), data.get("destination")
        if source is not None and destination is not None and source.pk == destination.pk:
            self.add_error("destination", _("A transfer goes between two different locations."))
        return data


class TransferFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("open", _("Requested or on the way")),
        ("requested", _("Requested")),
        ("shipped", _("On the way")),
        ("received", _("Received")),
        ("cancelled", _("Cancelled")),
        ("all", _("All")),
    ]

    location = forms.ModelChoiceField(
        queryset=_locations(), required=False, empty_label=_("All locations"), label=_("Location")
    )
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, label=_("Status"))

    def values(self) -> tuple[Any, str]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return data.get("location"), data.get("status") or "open"


# --- receipts and supplies --------------------------------------------------------------------------


class ReceiptForm(DomainErrorsMixin, forms.Form):
    location = LocationField(label=_("Arrived at"))
    lines = LinesField()
    reference = forms.CharField(label=_("Document number"), required=False, max_length=100)
    reason = forms.CharField(
        label=_("Comment"), required=False, max_length=300, help_text=_("E.g. opening balance, a box found.")
    )


class SupplyForm(DomainErrorsMixin, forms.Form):
    location = LocationField(label=_("Arrives at"))
    expected_on = forms.DateField(
        label=_("Expected on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    supplier = forms.CharField(label=_("Supplier"), required=False, max_length=200)
    reference = forms.CharField(label=_("Document number"), required=False, max_length=100)
    lines = LinesField()


class SupplyFilterForm(forms.Form):
    STATUS_CHOICES = [("expected", _("Expected")), ("received", _("Received")), ("cancelled", _("Cancelled"))]

    location = forms.ModelChoiceField(
        queryset=_locations(), required=False, empty_label=_("All locations"), label=_("Location")
    )
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, label=_("Status"))

    def values(self) -> tuple[Any, str]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return data.get("location"), data.get("status") or "expected"


# --- corrections ------------------------------------------------------------------------------------


class CorrectionForm(DomainErrorsMixin, forms.Form):
    code = forms.CharField(
        label=_("SKU or barcode"), max_length=64, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    location = LocationField(label=_("Location"))
    counted = forms.IntegerField(
        label=_("Counted on hand"), required=False, min_value=0, help_text=_("What is on the shelf now.")
    )
    delta = forms.IntegerField(
        label=_("Or change by"), required=False, help_text=_("E.g. -1 for a damaged unit, 2 for two found.")
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def clean_code(self) -> Variant:
        variant = variant_by_code(self.cleaned_data["code"])
        if variant is None:
            raise forms.ValidationError(_("No variant has this SKU or barcode."))
        return variant

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("counted") is None) == (data.get("delta") is None) and not self.has_error("counted"):
            self.add_error("counted", _("Give either the counted quantity or the change."))
        return data


# --- location lists and back-in-stock requests ------------------------------------------------------


class LocationStockFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=_("SKU or name"))
    low = forms.BooleanField(required=False, label=_("Low stock only"))

    def values(self) -> tuple[str, bool]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return " ".join(str(data.get("q") or "").split()), bool(data.get("low"))


class NotifyForm(DomainErrorsMixin, CustomerChoiceMixin):
    variant = forms.TypedChoiceField(label=_("Variant"), coerce=int)
    location = forms.ModelChoiceField(
        queryset=_locations(), required=False, empty_label=_("Anywhere"), label=_("Where")
    )

    field_order = ["variant", "location", "customer", "phone", "name"]

    def __init__(self, *args: Any, variants: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["variant"].choices = variants  # type: ignore[attr-defined]

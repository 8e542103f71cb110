"""Forms of the customer pages: they parse and label input; the customers actions validate and change."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from omnia.core import clock
from omnia.core.config import SUPPORTED_LANGUAGES
from omnia.core.errors import DomainError
from omnia.customers import queries as customers_queries
from omnia.customers.errors import IdentityTaken
from omnia.customers.models import ChannelKind, Consent, Identity, Tag, TimelineEntry

LANGUAGE_LABELS = {"ru": _("Russian"), "kk": _("Kazakh"), "en": _("English")}
LANGUAGE_CHOICES = [("", _("Not set")), *((code, LANGUAGE_LABELS.get(code, code)) for code in SUPPORTED_LANGUAGES)]
CHANNEL_CHOICES = [("", _("Not set")), *ChannelKind.choices]
CONSENT_CHANNEL_CHOICES = [(Consent.ANY_CHANNEL, _("Every channel")), *ChannelKind.choices]

# Messages the console shows in the operator's language instead of the domain's English text.
ERROR_MESSAGES = {
    "IDENTITY_TAKEN": _("This contact already belongs to another card."),
    "PHONE_INVALID": _("This is not a valid phone number."),
    "PHONE_REQUIRED": _("A phone number is required."),
    "EMAIL_INVALID": _("This is not a valid e-mail address."),
    "MERGE_ALREADY_UNDONE": _("This merge was already undone."),
    "MERGE_NOT_ALLOWED": _("These two cards cannot be merged: one of them is already merged into another card."),
    "MERGE_UNDO_ORDER": _("The surviving card was merged again since: undo that merge first."),
    "QUIET_HOURS_INVALID": _("Give both ends of the quiet hours, or neither."),
    "BIRTHDAY_INVALID": _("The birthday is not a real date of birth."),
    "NOTE_EMPTY": _("The note is empty."),
    "CONSENT_ORIGIN_REQUIRED": _("Say where and how the customer said so."),
    "CITY_REQUIRED": _("Give the city."),
    "ADDRESS_REQUIRED": _("Give the street and building."),
    "IDENTITY_NOT_FOUND": _("This card has no such contact."),
    "ADDRESS_NOT_FOUND": _("This card has no such address."),
    "SAME_CARD": _("Two different cards are needed."),
}
_SEPARATORS = re.compile(r"[,;\n]+")


def error_message(exc: DomainError) -> str:
    """The operator-facing text of a domain error."""
    return str(ERROR_MESSAGES.get(exc.code, exc.message))


def split_list(text: str) -> list[str]:
    """'a, b; c' → ['a', 'b', 'c'] (commas, semicolons or new lines)."""
    return [part.strip() for part in _SEPARATORS.split(text or "") if part.strip()]


class DomainErrorsMixin:
    """Shows a DomainError on the field it names; remembers the other card of an IDENTITY_TAKEN."""

    # Domain field name → form field name, for fields named differently in the action.
    domain_fields: dict[str, str] = {}
    # Element ids stay unique when several forms share a page (the card has six).
    id_prefix = "id"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        self.taken: dict[str, int] = {}

    def add_domain_error(self, exc: DomainError) -> None:
        form: forms.BaseForm = self  # type: ignore[assignment]
        name = self.domain_fields.get(exc.field or "", exc.field)
        field = name if name in form.fields else None
        if isinstance(exc, IdentityTaken) and exc.customer_id:
            self.taken[field or "__all__"] = exc.customer_id
        form.add_error(field, error_message(exc))


def _input(**attrs: Any) -> forms.TextInput:
    return forms.TextInput(attrs=attrs)


# --- the list ------------------------------------------------------------------------------------


class CustomerFilterForm(forms.Form):
    """The search box and filters of the customer list (GET)."""

    HAS_ORDERS_CHOICES = [("", _("Orders: any")), ("yes", _("Has orders")), ("no", _("No orders"))]
    CONTACT_CHOICES = [
        ("", _("Last contact: any")),
        ("7", _("In touch within 7 days")),
        ("30", _("In touch within 30 days")),
        ("90", _("In touch within 90 days")),
        ("not90", _("Not in touch for 90 days")),
    ]

    q = forms.CharField(required=False, label=_("Search customers"))
    tag = forms.ChoiceField(required=False, label=_("Tag"))
    channel = forms.ChoiceField(required=False, label=_("Channel"))
    city = forms.ChoiceField(required=False, label=_("City"))
    orders = forms.ChoiceField(required=False, label=_("Orders"), choices=HAS_ORDERS_CHOICES)
    contact = forms.ChoiceField(required=False, label=_("Last contact"), choices=CONTACT_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tags = Tag.objects.order_by("name").values_list("name", flat=True)
        self.fields["tag"].choices = [("", _("All tags")), *((t, t) for t in tags)]  # type: ignore[attr-defined]
        self.fields["channel"].choices = [("", _("All channels")), *Identity.Kind.choices]  # type: ignore[attr-defined]
        cities = customers_queries.list_cities()
        self.fields["city"].choices = [("", _("All cities")), *((c, c) for c in cities)]  # type: ignore[attr-defined]

    def _valid_values(self) -> dict[str, Any]:
        """The fields that are valid: a stale city or tag in a bookmarked URL drops only that filter."""
        self.is_valid()
        return getattr(self, "cleaned_data", {})

    def text(self) -> str:
        return str(self._valid_values().get("q") or "").strip()

    def filters(self) -> customers_queries.CustomerFilters:
        data = self._valid_values()
        now = clock.now()
        contact = data.get("contact") or ""
        return customers_queries.CustomerFilters(
            tag=data.get("tag") or "",
            channel=data.get("channel") or "",
            city=data.get("city") or "",
            has_orders={"yes": True, "no": False}.get(data.get("orders") or ""),
            contacted_since=now - dt.timedelta(days=int(contact)) if contact.isdigit() else None,
            not_contacted_since=now - dt.timedelta(days=90) if contact == "not90" else None,
        )


# --- creating and editing a card -----------------------------------------------------------------


class CustomerCreateForm(DomainErrorsMixin, forms.Form):
    first_name = forms.CharField(label=_("First name"), required=False, max_length=120)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=120)
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    language = forms.ChoiceField(label=_("Language"), required=False, choices=LANGUAGE_CHOICES)
    phones = forms.CharField(
        label=_("Phones"),
        required=False,
        help_text=_("In any format; separate several with commas."),
        widget=_input(inputmode="tel", autocomplete="off"),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate with commas."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(name) for name in ("first_name", "last_name", "phones", "email")):
            raise forms.ValidationError(_("Give a name, a phone or an e-mail."))
        return data

    def identities(self) -> list[tuple[str, str]]:
        """[(kind, value)…] in the order the action numbers them (identities.0, identities.1, …)."""
        phones = split_list(self.cleaned_data["phones"])
        found = [(Identity.Kind.PHONE.value, phone) for phone in phones]
        self.domain_fields = {f"identities.{i}": "phones" for i in range(len(phones))}
        if self.cleaned_data["email"]:
            self.domain_fields[f"identities.{len(found)}"] = "email"
            found.append((Identity.Kind.EMAIL.value, self.cleaned_data["email"]))
        return found

    def fields_for_action(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ("first_name", "last_name", "city", "language")}


class CustomerEditForm(DomainErrorsMixin, forms.Form):
    """The card's editable fields (actions.profile.EDITABLE_FIELDS), its tags, and contacts to add."""

    PROFILE_FIELDS = (
        "first_name", "last_name", "language", "city", "birthday", "loyalty_card", "notes", "preferred_channel",
        "do_not_call", "quiet_hours_start", "quiet_hours_end",
    )  # fmt: skip

    first_name = forms.CharField(label=_("First name"), required=False, max_length=120)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=120)
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    language = forms.ChoiceField(label=_("Language"), required=False, choices=LANGUAGE_CHOICES)
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    loyalty_card = forms.CharField(label=_("Loyalty card"), required=False, max_length=40)
    preferred_channel = forms.ChoiceField(label=_("Preferred channel"), required=False, choices=CHANNEL_CHOICES)
    do_not_call = forms.BooleanField(label=_("Do not call"), required=False)
    quiet_hours_start = forms.TimeField(
        label=_("Quiet hours from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_hours_end = forms.TimeField(
        label=_("Quiet hours until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate with commas."))
    add_phone = forms.CharField(
        label=_("Add a phone"),
        required=False,
        help_text=_("In any format."),
        widget=_input(inputmode="tel", autocomplete="off"),
    )
    add_email = forms.EmailField(label=_("Add an e-mail"), required=False)

    @classmethod
    def initial_for(cls, customer: Any) -> dict[str, Any]:
        initial = {name: getattr(customer, name) for name in cls.PROFILE_FIELDS}
        initial["tags"] = ", ".join(t.name for t in customer.tags.all())
        return initial

    def profile(self) -> dict[str, Any]:
        values = {name: self.cleaned_data[name] for name in self.PROFILE_FIELDS}
        for name in ("first_name", "last_name", "city", "language", "loyalty_card", "notes", "preferred_channel"):
            values[name] = values[name] or ""
        values["do_not_call"] = bool(values["do_not_call"])
        return values

    def tag_names(self) -> list[str]:
        return split_list(self.cleaned_data["tags"])


class PreferencesForm(DomainErrorsMixin, forms.Form):
    """How the customer wants to be reached."""

    id_prefix = "prefs"
    FIELDS = ("preferred_channel", "do_not_call", "quiet_hours_start", "quiet_hours_end", "language")

    preferred_channel = forms.ChoiceField(label=_("Preferred channel"), required=False, choices=CHANNEL_CHOICES)
    do_not_call = forms.BooleanField(label=_("Do not call"), required=False)
    quiet_hours_start = forms.TimeField(
        label=_("Quiet hours from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_hours_end = forms.TimeField(
        label=_("Quiet hours until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    language = forms.ChoiceField(label=_("Language"), required=False, choices=LANGUAGE_CHOICES)

    @classmethod
    def initial_for(cls, customer: Any) -> dict[str, Any]:
        return {name: getattr(customer, name) for name in cls.FIELDS}

    def profile(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "preferred_channel": data["preferred_channel"] or "",
            "do_not_call": bool(data["do_not_call"]),
            "quiet_hours_start": data["quiet_hours_start"],
            "quiet_hours_end": data["quiet_hours_end"],
            "language": data["language"] or "",
        }


# --- the card's panels ---------------------------------------------------------------------------


class IdentityForm(DomainErrorsMixin, forms.Form):
    id_prefix = "contact"
    kind = forms.ChoiceField(label=_("Kind"), choices=Identity.Kind.choices, initial=Identity.Kind.PHONE)
    value = forms.CharField(label=_("Contact"), max_length=255)


class AddressForm(DomainErrorsMixin, forms.Form):
    id_prefix = "address"
    label = forms.CharField(
        label=_("Label"), required=False, max_length=60, widget=_input(placeholder=_("Home, work, dacha…"))
    )
    city = forms.CharField(label=_("City"), max_length=100)
    line = forms.CharField(label=_("Street and building"), max_length=300)
    apartment = forms.CharField(label=_("Apartment / office"), required=False, max_length=40)
    postal_code = forms.CharField(label=_("Postal code"), required=False, max_length=20)
    comment = forms.CharField(label=_("For the courier"), required=False, max_length=300)
    is_default = forms.BooleanField(label=_("Default address"), required=False)


class ConsentForm(DomainErrorsMixin, forms.Form):
    id_prefix = "consent"
    GRANTED_CHOICES = [("yes", _("Given")), ("no", _("Withdrawn"))]

    channel = forms.ChoiceField(label=_("Channel"), choices=CONSENT_CHANNEL_CHOICES)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Consent.Purpose.choices, initial=Consent.Purpose.MARKETING)
    granted = forms.ChoiceField(label=_("Consent"), choices=GRANTED_CHOICES, widget=forms.RadioSelect, initial="yes")
    source = forms.CharField(
        label=_("Where"), max_length=100, initial=_("Console"), help_text=_("Console, a store, a call…")
    )
    method = forms.CharField(label=_("How"), max_length=100, widget=_input(placeholder=_("Verbal, signed form…")))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def for_action(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "channel": data["channel"],
            "purpose": data["purpose"],
            "granted": data["granted"] == "yes",
            "source": data["source"],
            "method": data["method"],
            "note": data["note"],
        }


class NoteForm(DomainErrorsMixin, forms.Form):
    id_prefix = "note"
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500)


class TimelineFilterForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "timeline_%s")
        super().__init__(*args, **kwargs)

    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Everything")), *TimelineEntry.Kind.choices]
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All channels")), *ChannelKind.choices]
    )

    def values(self) -> tuple[str, str]:
        if not self.is_valid():
            return "", ""
        return self.cleaned_data["kind"] or "", self.cleaned_data["channel"] or ""


# --- merging -------------------------------------------------------------------------------------


class MergeForm(forms.Form):
    other = forms.IntegerField(widget=forms.HiddenInput)
    survivor = forms.ChoiceField(
        label=_("Which card stays"),
        choices=[("this", _("This card")), ("other", _("The other card"))],
        widget=forms.RadioSelect,
        initial="this",
    )


class DismissForm(forms.Form):
    first = forms.IntegerField(widget=forms.HiddenInput)
    second = forms.IntegerField(widget=forms.HiddenInput)
